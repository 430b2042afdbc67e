import type { Command } from 'commander'

/** infer, chat, models, quota, usage (issue: gateway). */
export function registerInferenceCommands (_program: Command): void {}
