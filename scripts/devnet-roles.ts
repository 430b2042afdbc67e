import { join } from 'node:path'
import type { NodeRole } from '../shared/mesh/topic.js'

export interface DevnetRole { role: NodeRole, args: string[] }

export const BUNDLED_MODEL_NAME = 'stories260K'

/**
 * The processes of the devnet, in start order, with their flags. The devnet approves its own
 * workers: it is bound to 127.0.0.1, so only workers on this machine can join it.
 */
export function devnetRoles (root: string): DevnetRole[] {
  const bundledModel = join(root, '..', 'shared', 'models', `${BUNDLED_MODEL_NAME}.gguf`)
  return [
    // The devnet's own nodes enrol in <home>/devnet-enroll and its auth node approves them (shared/accounts/devnet-enroll.ts).
    { role: 'auth', args: [] },
    { role: 'inference', args: ['--llama-model', bundledModel] },
    { role: 'gateway', args: [] },
    { role: 'metrics', args: [] },
    { role: 'web', args: [] }
  ]
}

export function printBanner ({ home, roles, bootstrap }: { home: string, roles: NodeRole[], bootstrap: string[] }): void {
  const metricsPort = process.env.METRICS_PORT ?? '9464'
  const webPort = process.env.WEB_SERVICE_PORT ?? '3000'
  const lines = [
    '',
    'hyperinfer devnet is ready',
    `  bootstrap  ${bootstrap.join(', ')}`,
    `  data       ${home}`,
    `  roles      ${roles.join(', ')}`,
    roles.includes('web') ? `  dashboard  http://127.0.0.1:${webPort}` : '',
    roles.includes('metrics') ? `  metrics    http://127.0.0.1:${metricsPort}/metrics` : '',
    '',
    'Try it from another terminal in this directory:',
    '  npx hyperinfer register --username alice --email alice@example.com --password-stdin <<< "correct horse battery"',
    '  npx hyperinfer login --username alice --password-stdin <<< "correct horse battery"',
    '  npx hyperinfer keys create --name laptop',
    `  npx hyperinfer infer -m ${BUNDLED_MODEL_NAME} "Once upon a time"`,
    '  npx hyperinfer quota',
    '  npx hyperinfer status',
    '',
    'Press Ctrl-C to stop.',
    ''
  ]
  console.log(lines.filter((line, i, all) => line !== '' || all[i - 1] !== '').join('\n'))
}
