import type { Command } from 'commander'

/** register, login, logout, whoami, keys … (issue: auth node). */
export function registerAuthCommands (_program: Command): void {}
