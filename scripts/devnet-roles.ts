import { join } from 'node:path'
import type { Role } from '../shared/mesh/topic.js'

export interface DevnetRole { role: Role, args: string[] }

/** The processes of the devnet, in start order, with their flags. */
export function devnetRoles (root: string, _home: string): DevnetRole[] {
  const bundledModel = join(root, '..', 'shared', 'models', 'stories260K.gguf')
  return [
    { role: 'auth', args: [] },
    { role: 'inference', args: ['--llama-model', bundledModel] },
    { role: 'gateway', args: [] },
    { role: 'metrics', args: [] },
    { role: 'web', args: [] }
  ]
}

export function printBanner ({ home, roles, bootstrap }: { home: string, roles: Role[], bootstrap: string[] }): void {
  const lines = [
    '',
    'hyperinfer devnet is ready',
    `  bootstrap: ${bootstrap.join(', ')}`,
    `  data:      ${home}`,
    `  roles:     ${roles.length > 0 ? roles.join(', ') : '(bootstrap only)'}`,
    '',
    'Press Ctrl-C to stop.',
    ''
  ]
  console.log(lines.join('\n'))
}
