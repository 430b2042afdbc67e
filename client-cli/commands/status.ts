import type { Command } from 'commander'

/** status: the mesh as a table (issue: metrics node). */
export function registerStatusCommands (_program: Command): void {}
