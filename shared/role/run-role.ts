import { join, resolve } from 'node:path'
import { Command } from 'commander'
import goodbye from 'graceful-goodbye'
import { enrollNode, waitForDevnetAuthKey } from '../accounts/devnet-enroll.js'
import { logNodeApproval } from '../accounts/node-access.js'
import { loadConfig, type Config } from '../config/load-config.js'
import { meshConfigFromFlags, resolveMesh, type MeshAddress } from '../config/network.js'
import { HyperinferError } from '../errors.js'
import { createLogger, type Logger } from '../log.js'
import { warnWhenAlone } from '../mesh/alone-warning.js'
import type { NodeRole } from '../mesh/topic.js'
import type { AnyRoleDefinition, StartedRole } from './define-role.js'
import { limitHeapGrowth } from './process-tuning.js'
import { settleMemoryAfterStart } from './settle-memory.js'
import { startRole } from './start-role.js'

const SHUTDOWN_LIMIT_MS = 15_000
const DEVNET_AUTH_WAIT_MS = 60_000

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

/** The role's flags, config files and env as one Config (flags win over env, env over files). */
export function configFromArgv (definition: AnyRoleDefinition, argv: string[]): { config: Config, flags: Record<string, unknown> } {
  const cmd = addMeshOptions(new Command(`hyperinfer node ${definition.role}`).description(definition.describe))
  definition.flags?.declare(cmd)
  cmd.exitOverride()
  cmd.parse(argv, { from: 'user' })
  const flags = cmd.opts()
  const config = loadConfig({ flags: { ...meshConfigFromFlags(flags), ...definition.flags?.toConfig(flags) } })
  return { config, flags }
}

/** `hyperinfer node <role>`: parses argv, starts the role and closes it cleanly on SIGINT/SIGTERM. */
export async function runRoleCommand (definition: AnyRoleDefinition, argv: string[]): Promise<StartedRole<object>> {
  limitHeapGrowth()
  const { config, flags } = configFromArgv(definition, argv)
  const role = definition.role as NodeRole
  const log = createLogger(role, config.logLevel)
  const mesh = resolveMesh(config)
  const dataDir = typeof flags.dataDir === 'string' ? resolve(flags.dataDir) : join(config.home, role)
  const authKey = await pinnedAuthKey(role, mesh, config, log)
  definition.commandLine?.prepare?.(config, mesh)
  const section = definition.configSection as keyof Config | undefined
  const started: StartedRole<object> = await startRole(definition, {
    dataDir, network: mesh.network, bootstrap: mesh.bootstrap, publicNetwork: mesh.publicNetwork, log, authKey,
    config: section === undefined ? undefined : config[section]
  })
  if (mesh.devnet) enrollNode(config.home, role, started.node.publicKey)
  definition.commandLine?.started?.(started, { config, mesh, log })
  // A role with its own notice says it always (a worker without a pinned auth key waits too).
  const notice = definition.approvalNotice ?? (authKey ? logNodeApproval : null)
  const stopNotice = notice ? notice(started.node) : null
  const alone = warnWhenAlone(started.node.discovery, mesh.network.name, log)
  goodbye(async () => {
    log.info('shutting down')
    const forced = setTimeout(() => {
      log.warn(`shutdown took over ${SHUTDOWN_LIMIT_MS} ms; exiting anyway`)
      process.exit(1)
    }, SHUTDOWN_LIMIT_MS)
    forced.unref()
    stopNotice?.close()
    alone.close()
    await started.close()
  })
  stopWithSupervisor()
  settleMemoryAfterStart()
  return started
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

/** For a program's entry: run the role, print a clear error and exit 1 on failure. */
export function runRoleMain (definition: AnyRoleDefinition, argv = process.argv.slice(2)): void {
  runRoleCommand(definition, argv).catch((err: unknown) => {
    const message = err instanceof HyperinferError ? `${err.code}: ${err.message}` : (err as Error)?.stack ?? String(err)
    process.stderr.write(`hyperinfer node ${definition.role}: ${message}\n`)
    process.exit(1)
  })
}

/**
 * Every role but auth pins the auth node: from --auth-key / HYPERINFER_AUTH_KEY / network.authKey,
 * or on the local devnet from devnet.json once its auth node has written it there.
 */
async function pinnedAuthKey (role: NodeRole, mesh: MeshAddress, config: Config, log: Logger): Promise<Buffer | undefined> {
  if (role === 'auth') return undefined
  if (mesh.authKey) return mesh.authKey
  if (mesh.devnet) return waitForDevnetAuthKey(config.home, DEVNET_AUTH_WAIT_MS)
  // Kept working for meshes set up before the registry existed, but said loudly: such a node is open.
  log.error('no pinned auth key: this node trusts the first auth node it finds and does not check who calls it. ' +
    'Pass --auth-key <hex> (the auth node prints it when it starts; `hyperinfer admin nodes` lists it), ' +
    'or set HYPERINFER_AUTH_KEY or network.authKey, or use a --join string that carries it')
  return undefined
}
