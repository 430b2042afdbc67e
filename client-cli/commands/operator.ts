import type { Command } from 'commander'
import { globalOptions } from '../command-context.js'

const DEFAULT_BOOTSTRAP_PORT = 49737
const PERSISTENT_NODES = 3

interface InitFlags { host: string, port: string, name?: string, admin: string }

/** `hyperinfer init`: a new mesh's name, secret and join string, and the command for each kind of host. */
export function registerOperatorCommands (program: Command): void {
  registerNetworkCommand(program)
  program.command('init')
    .description('create a mesh: generate a network name and secret and print the command for each host, with a join string')
    .requiredOption('--host <addr>', 'IPv4 address of the bootstrap host, reachable by every other host')
    .option('--port <port>', 'UDP port of the bootstrap', String(DEFAULT_BOOTSTRAP_PORT))
    .option('--name <network>', 'network name (default: mesh-<random>)')
    .option('--admin <username>', 'the first admin\'s username', 'admin')
    .action(async (flags: InitFlags, cmd: Command) => {
      const [{ randomBytes }, { encodeJoin }, { printJson }] = await Promise.all([
        import('node:crypto'), import('../../shared/config/network.js'), import('../output.js')
      ])
      const port = Number(flags.port)
      const network = flags.name ?? `mesh-${randomBytes(4).toString('hex')}`
      const secret = randomBytes(24).toString('base64url')
      const bootstrap = `${flags.host}:${port}`
      const join = encodeJoin({ network, secret, bootstrap: [bootstrap] })
      const hosts = initCommands({ host: flags.host, port, join, admin: flags.admin })
      if (globalOptions(cmd).json === true) return printJson({ network, secret, bootstrap, join, hosts })
      const lines = [
        `network   ${network}`,
        `secret    ${secret}`,
        `bootstrap ${bootstrap}`,
        `join      ${join}`,
        '',
        'The secret makes the mesh\'s topics unguessable; it is not access control: workers serve only',
        'after an admin approves them. Keep the join string to the people who run this mesh.',
        ''
      ]
      for (const host of hosts) lines.push(`# ${host.what}`, ...host.commands, '')
      process.stdout.write(lines.join('\n'))
    })
}

/** `hyperinfer network`: which mesh this command line points at, without connecting to it. */
function registerNetworkCommand (program: Command): void {
  program.command('network')
    .description('show the mesh the flags, env and config point at (network, whether a secret is set, bootstrap, pinned auth node) without connecting')
    .action(async (_flags: unknown, cmd: Command) => {
      const [{ loadConfig }, { describeMesh, meshConfigFromFlags, resolveMesh }, { printJson }] = await Promise.all([
        import('../../shared/config/load-config.js'), import('../../shared/config/network.js'), import('../output.js')
      ])
      const address = resolveMesh(loadConfig({ flags: meshConfigFromFlags(globalOptions(cmd)) }))
      const view = {
        network: address.network.name,
        secret: address.network.secret === undefined ? 'none' : 'set',
        bootstrap: (address.bootstrap ?? []).map(node => `${node.host}:${node.port}`),
        publicNetwork: address.publicNetwork,
        authKey: address.authKey?.toString('hex') ?? null
      }
      if (globalOptions(cmd).json === true) return printJson(view)
      process.stdout.write(`${describeMesh(address)}; secret ${view.secret}; auth node ${view.authKey ?? 'not pinned'}\n`)
    })
}

export function initCommands ({ host, port, join, admin }: { host: string, port: number, join: string, admin: string }): Array<{ what: string, commands: string[] }> {
  return [
    {
      what: `bootstrap host ${host}: UDP ${port}-${port + PERSISTENT_NODES} reachable from every host (a second one on another host adds redundancy: --peer ${host}:${port})`,
      commands: [`hyperinfer node bootstrap --host ${host} --port ${port}`]
    },
    {
      what: 'core host (reachable, not behind NAT): the auth node first; it prints "join string for every other host of this mesh: ..." (this one plus its key, which every other node and client pins)',
      commands: [`hyperinfer node auth --join ${join} --admin ${admin}`]
    },
    {
      what: 'then, with JOIN set to the join string the auth node printed: the rest of the core host',
      commands: [
        'hyperinfer node gateway --join "$JOIN"',
        'hyperinfer node metrics --join "$JOIN"',
        'hyperinfer node web --join "$JOIN"'
      ]
    },
    {
      what: 'each worker host (may be behind NAT); it logs its key and waits for approval',
      commands: ['hyperinfer node inference --join "$JOIN" --llama-model ./model.gguf']
    },
    {
      what: 'the admin approves the gateway and each worker (each logs its key)',
      commands: [
        `hyperinfer --join "$JOIN" register --username ${admin} --email ${admin}@example.com --password-stdin`,
        'hyperinfer --join "$JOIN" admin approve-node gateway <gateway key>',
        'hyperinfer --join "$JOIN" admin approve-worker <worker key>'
      ]
    },
    {
      what: 'users (may be behind NAT)',
      commands: [
        'hyperinfer --join "$JOIN" register --username alice --email alice@example.com --password-stdin',
        'hyperinfer --join "$JOIN" keys create --name laptop',
        'hyperinfer --join "$JOIN" infer -m <model> "Hello"'
      ]
    }
  ]
}
