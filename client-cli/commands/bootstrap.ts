import { isIPv4 } from 'node:net'
import { Command, Option } from 'commander'
import goodbye from 'graceful-goodbye'
import { HyperinferError } from '../../shared/errors.js'
import { DEFAULT_PERSISTENT_NODES, startBootstrapHost, type BootstrapHost } from '../../shared/mesh/bootstrap-host.js'
import { formatBootstrap, parseBootstrapNode } from '../../shared/mesh/dht.js'
import { createLogger } from '../../shared/log.js'

export const DEFAULT_BOOTSTRAP_PORT = 49737

interface BootstrapFlags { host?: string, port: number, nodes: number, peer: string[], json?: boolean }

const int = (name: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new HyperinferError('INVALID_ARGUMENT', `${name} must be a whole number, got "${value}"`)
  return n
}

/** `hyperinfer node bootstrap --host ADDR --port P`: the DHT the rest of the mesh joins. */
export async function runBootstrapCommand (argv: string[], opts: { json?: boolean } = {}): Promise<BootstrapHost> {
  const cmd = new Command('hyperinfer node bootstrap')
    .description('run a DHT bootstrapper plus persistent DHT nodes on a reachable address; prints the --bootstrap line for every other host')
    .option('--host <addr>', 'IPv4 address the other hosts reach this one at (required)')
    .option('--port <port>', 'UDP port of the bootstrapper; the persistent nodes use the next ports', int('--port'), DEFAULT_BOOTSTRAP_PORT)
    .option('--nodes <n>', 'persistent DHT nodes beside the bootstrapper (hosts behind NAT need at least 3)', int('--nodes'), DEFAULT_PERSISTENT_NODES)
    .option('--peer <host:port>', 'another bootstrap host of this mesh, for redundancy; repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print the addresses as JSON')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  // The mesh flags every node accepts mean nothing to a DHT node; accept them so one command line fits every host.
  for (const flag of ['--home <dir>', '--network <name>', '--network-secret <secret>', '--join <string>', '--public-network', '--bootstrap <list>', '--auth-key <hex>', '--data-dir <dir>']) {
    cmd.addOption(new Option(flag).hideHelp())
  }
  cmd.exitOverride()
  cmd.parse(argv, { from: 'user' })
  const flags = cmd.opts<BootstrapFlags & { logLevel?: string }>()
  if (!flags.host || !isIPv4(flags.host)) {
    throw new HyperinferError('INVALID_ARGUMENT', `pass --host with the IPv4 address other hosts reach this one at${flags.host ? ` ("${flags.host}" is not one)` : ''}`)
  }
  if (flags.port === 0 || flags.port + flags.nodes > 65535) throw new HyperinferError('INVALID_ARGUMENT', `--port must be 1-${65535 - flags.nodes}`)
  const peers = flags.peer.map(parseBootstrapNode)
  const log = createLogger('bootstrap', flags.logLevel)
  const started = await startBootstrapHost({ host: flags.host, port: flags.port, nodes: flags.nodes, peers })
  const line = formatBootstrap(started.bootstrap).join(',')
  const lastPort = flags.port + flags.nodes
  if (flags.json === true || opts.json === true) {
    process.stdout.write(JSON.stringify({ bootstrap: line, nodes: formatBootstrap(started.nodes) }) + '\n')
  } else {
    process.stdout.write(`--bootstrap ${line}\n`)
  }
  log.info({ nodes: formatBootstrap(started.nodes) },
    `DHT bootstrap on ${flags.host}:${flags.port} with ${flags.nodes} persistent nodes; open UDP ${flags.port}-${lastPort} on ${flags.host} to every host of the mesh`)
  goodbye(async () => {
    log.info('shutting down the DHT bootstrap')
    await started.close()
  })
  return started
}
