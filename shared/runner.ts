import { join, resolve } from 'node:path'
import { Command } from 'commander'
import goodbye from 'graceful-goodbye'
import { loadConfig, type Config } from './config/index.js'
import { meshConfigFromFlags, resolveMesh, type MeshAddress } from './config/network.js'
import { HyperinferError } from './errors.js'
import { createLogger, type Logger } from './log.js'
import type { Role } from './mesh/topic.js'
import { enrollDir, enrollNode, publishAuthKey, waitForDevnetAuthKey } from './accounts/devnet-enroll.js'
import { logApprovalState } from './accounts/node-access.js'
import type { MeshNode } from './mesh/mesh-node.js'
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
  /** The pinned auth node: the root of trust of every other role. */
  authKey?: Buffer
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
    .option('--auth-key <hex>', 'the auth node\'s public key, the root of trust (printed by the auth node); env HYPERINFER_AUTH_KEY')
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
  const authKey = await pinnedAuthKey(program.role, mesh, config, log)
  if (program.role === 'auth' && mesh.devnet) config.auth.enrollDir ??= enrollDir(config.home)
  const base: NodeBase = { dataDir, network: mesh.network, bootstrap: mesh.bootstrap, publicNetwork: mesh.publicNetwork, log, authKey }
  const node = await program.start({ config, mesh, dataDir, log, flags, node: base })
  if (mesh.devnet) joinDevnet(program.role, config.home, node)
  const meshNode = (node as { node?: MeshNode }).node
  // Workers say it their own way (services/inference/approval-notice.ts).
  if (authKey && meshNode && program.role !== 'inference') logApprovalState(meshNode)
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
  stopWithSupervisor()
  return node
}

/**
 * A node started by a supervisor (the devnet) with an IPC channel stops when that channel closes:
 * a supervisor killed with SIGKILL (or a test runner's timeout) leaves no orphaned nodes behind.
 */
function stopWithSupervisor (): void {
  if (!process.channel) return
  process.channel.unref()
  process.once('disconnect', () => { process.kill(process.pid, 'SIGTERM') })
}

/** For a role's main.ts: run when executed directly, print a clear error and exit 1 on failure. */
export function runRoleMain (program: RoleProgram, argv = process.argv.slice(2)): void {
  runRole(program, argv).catch((err: unknown) => {
    const message = err instanceof HyperinferError ? `${err.code}: ${err.message}` : (err as Error)?.stack ?? String(err)
    process.stderr.write(`hyperinfer node ${program.role}: ${message}\n`)
    process.exit(1)
  })
}

const DEVNET_AUTH_WAIT_MS = 60_000

/**
 * Every role but auth pins the auth node: from --auth-key / HYPERINFER_AUTH_KEY / network.authKey,
 * or on the local devnet from devnet.json once its auth node has written it there.
 */
async function pinnedAuthKey (role: Role, mesh: MeshAddress, config: Config, log: Logger): Promise<Buffer | undefined> {
  if (role === 'auth') return undefined
  if (mesh.authKey) return mesh.authKey
  if (mesh.devnet) return waitForDevnetAuthKey(config.home, DEVNET_AUTH_WAIT_MS)
  // Kept working for meshes set up before the registry existed, but said loudly: such a node is open.
  log.error('no pinned auth key: this node trusts the first auth node it finds and does not check who calls it. ' +
    'Pass --auth-key <hex> (the auth node prints it when it starts; `hyperinfer admin nodes` lists it), ' +
    'or set HYPERINFER_AUTH_KEY or network.authKey, or use a --join string that carries it')
  return undefined
}

/** On the local devnet: the auth node publishes its key; every node enrols for approval. */
function joinDevnet (role: Role, home: string, started: Closable): void {
  const node = (started as { node?: { publicKey: Buffer } }).node
  if (!node) return
  if (role === 'auth') {
    const accountsKey = (started as { accountsKey?: Buffer }).accountsKey
    if (accountsKey) publishAuthKey(home, node.publicKey, accountsKey)
  }
  enrollNode(home, role, node.publicKey)
}
