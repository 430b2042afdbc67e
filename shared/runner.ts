import { join, resolve } from 'node:path'
import { Command } from 'commander'
import goodbye from 'graceful-goodbye'
import { loadConfig, type Config } from './config/index.js'
import { meshConfigFromFlags, resolveMesh, type MeshAddress } from './config/network.js'
import { HyperinferError } from './errors.js'
import { createLogger, type Logger } from './log.js'
import type { Role } from './mesh/topic.js'
import { warnWhenAlone } from './mesh/alone-warning.js'
import type { Discovery } from './mesh/discovery.js'

const SHUTDOWN_LIMIT_MS = 15_000

/** What every create<Role>Node takes to join the mesh. */
export interface NodeBase {
  dataDir: string
  network: MeshAddress['network']
  bootstrap: MeshAddress['bootstrap']
  publicNetwork: boolean
  log: Logger
}

export interface RoleContext {
  config: Config
  mesh: MeshAddress
  dataDir: string
  log: Logger
  /** Spread into create<Role>Node options. */
  node: NodeBase
  /** The role's own parsed flags. */
  flags: Record<string, unknown>
}

export interface Closable { close (): Promise<void> }

export interface RoleProgram {
  role: Role
  describe: string
  /** Declare the role's own flags. */
  options?: (cmd: Command) => void
  /** Map the role's parsed flags to dotted config paths (they win over env and files). */
  configFlags?: (flags: Record<string, unknown>) => Record<string, unknown>
  start (ctx: RoleContext): Promise<Closable>
}

/** The flags every node takes. */
export function addMeshOptions (cmd: Command): Command {
  return cmd
    .option('--home <dir>', 'hyperinfer home (devnet file, default data dirs); env HYPERINFER_HOME')
    .option('--data-dir <dir>', 'this node\'s data dir (default: <home>/<role>)')
    .option('--network <name>', 'network name; env HYPERINFER_NETWORK')
    .option('--network-secret <secret>', 'network secret; env HYPERINFER_NETWORK_SECRET')
    .option('--bootstrap <host:port,...>', 'bootstrap nodes (default: the devnet in <home>); env HYPERINFER_BOOTSTRAP')
    .option('--public-network', 'join the public HyperDHT instead of a local bootstrap')
    .option('--join <string>', 'network, secret and bootstrap in one string (from `hyperinfer init`); env HYPERINFER_JOIN')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
}

export function meshConfigFlags (flags: Record<string, unknown>): Record<string, unknown> {
  return meshConfigFromFlags(flags)
}

/** Parses argv, loads config, starts the role's node and closes it cleanly on SIGINT/SIGTERM. */
export async function runRole (program: RoleProgram, argv: string[]): Promise<Closable> {
  const cmd = addMeshOptions(new Command(`hyperinfer node ${program.role}`).description(program.describe))
  program.options?.(cmd)
  cmd.exitOverride()
  cmd.parse(argv, { from: 'user' })
  const flags = cmd.opts()
  const config = loadConfig({ flags: { ...meshConfigFlags(flags), ...program.configFlags?.(flags) } })
  const log = createLogger(program.role, config.logLevel)
  const mesh = resolveMesh(config)
  const dataDir = typeof flags.dataDir === 'string' ? resolve(flags.dataDir) : join(config.home, program.role)
  const base: NodeBase = { dataDir, network: mesh.network, bootstrap: mesh.bootstrap, publicNetwork: mesh.publicNetwork, log }
  const node = await program.start({ config, mesh, dataDir, log, flags, node: base })
  const discovery = (node as { node?: { discovery?: Discovery } }).node?.discovery
  const alone = discovery ? warnWhenAlone(discovery, mesh.network.name, log) : null
  goodbye(async () => {
    log.info('shutting down')
    const forced = setTimeout(() => {
      log.warn(`shutdown took over ${SHUTDOWN_LIMIT_MS} ms; exiting anyway`)
      process.exit(1)
    }, SHUTDOWN_LIMIT_MS)
    forced.unref()
    alone?.close()
    await node.close()
  })
  return node
}

/** For a role's main.ts: run when executed directly, print a clear error and exit 1 on failure. */
export function runRoleMain (program: RoleProgram, argv = process.argv.slice(2)): void {
  runRole(program, argv).catch((err: unknown) => {
    const message = err instanceof HyperinferError ? `${err.code}: ${err.message}` : (err as Error)?.stack ?? String(err)
    process.stderr.write(`hyperinfer node ${program.role}: ${message}\n`)
    process.exit(1)
  })
}
