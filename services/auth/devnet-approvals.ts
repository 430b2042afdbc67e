import { readdirSync } from 'node:fs'
import { NodeRegistry } from '../../shared/accounts/node-registry.js'
import { NODE_ROLES, type NodeRole } from '../../shared/accounts/records.js'
import { authSection, type AuthConfig } from '../../shared/config/auth.js'
import { AccessControl } from '../../shared/mesh/access.js'
import type { Logger } from '../../shared/log.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import type { NetworkId } from '../../shared/mesh/topic.js'
import { openOwnBee } from '../../shared/store/bees.js'
import { authMethods } from './api.js'
import { loadJwtSecret, Sessions } from './sessions.js'
import { AccountStore, type CredentialRecord, type SessionRecord } from './store.js'
import { LoginThrottle } from './throttle.js'

export interface AuthNodeOptions {
  dataDir: string
  network: NetworkId
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  /** The `auth` config section (defaults filled in). */
  auth?: Partial<AuthConfig> | AuthConfig
  log?: Logger
  refreshIntervalMs?: number
}

export interface AuthNode {
  node: MeshNode
  store: AccountStore
  config: AuthConfig
  /** The `accounts` bee key replicas follow. */
  accountsKey: Buffer
  /** The approved nodes, as this node wrote them. */
  nodes: NodeRegistry
  close (): Promise<void>
}

export async function createAuthNode (options: AuthNodeOptions): Promise<AuthNode> {
  const config = authSection.parse(options.auth ?? {})
  const access = new AccessControl({ managed: true })
  const node = new MeshNode({
    access,
    role: 'auth',
    dataDir: options.dataDir,
    network: options.network,
    bootstrap: options.bootstrap,
    publicNetwork: options.publicNetwork,
    log: options.log,
    refreshIntervalMs: options.refreshIntervalMs,
    announce: false
  })
  await node.open()
  let credentials: Awaited<ReturnType<typeof openOwnBee<CredentialRecord | SessionRecord>>> | null = null
  let stopEnrolling = (): void => {}
  try {
    const accounts = await node.ownBee<never>('accounts')
    // Password hashes stay in a bee that is never announced or handed out.
    credentials = await openOwnBee<CredentialRecord | SessionRecord>(node.store, 'auth-credentials')
    const store = new AccountStore(accounts, credentials)
    await store.writePlans(config.plans)
    await promoteAdmins(store, config.admins)
    await store.setNode('auth', node.publicKey.toString('hex'), true, 'self')
    for (const publicKey of config.approvedWorkers) await store.setWorker(publicKey, true, 'config')
    for (const [role, keys] of Object.entries(config.approvedNodes) as [NodeRole, string[]][]) {
      for (const publicKey of keys) await store.setNode(role, publicKey, true, 'config')
    }
    // Indexed from the store's own writes: a live history stream on a bee this process writes stalls its batches.
    const nodes = new NodeRegistry()
    for (const record of await store.listNodes()) nodes.applyNode(`nodes/${record.role}/${record.publicKey}`, record)
    store.onNodeChange = record => { nodes.applyNode(`nodes/${record.role}/${record.publicKey}`, record) }
    access.attach(nodes)

    const sessions = new Sessions(loadJwtSecret(options.dataDir, config.jwtSecret), config.sessionTtlSeconds)
    const throttle = new LoginThrottle(config.loginThrottle)
    node.serve(authMethods({ store, sessions, throttle, config, nodes }))
    if (config.autoApproveWorkers) autoApproveWorkers(node, store)
    if (config.enrollDir) stopEnrolling = enrollFromDir(node, store, config.enrollDir)
    await node.discovery.announce('auth')
    node.log.info({ publicKey: node.publicKey.toString('hex'), accounts: accounts.key.toString('hex'), plans: Object.keys(config.plans) },
      `auth node ready: pin it on every other node and client with --auth-key ${node.publicKey.toString('hex')}`)

    const privateBee = credentials
    return {
      node,
      store,
      config,
      accountsKey: accounts.key,
      nodes,
      async close () {
        stopEnrolling()
        await privateBee.close()
        await node.close()
      }
    }
  } catch (err) {
    stopEnrolling()
    await credentials?.close()
    await node.close()
    throw err
  }
}

const ENROLL_POLL_MS = 250
const ENROLL_FILE = new RegExp(`^(${NODE_ROLES.join('|')})\\.([0-9a-f]{64})$`)

/**
 * Devnet only: approve the nodes that left `<role>.<publicKey>` in the enrolment dir. Only the
 * user who runs the devnet can write there, so a node on the topic cannot enrol itself.
 */
function enrollFromDir (node: MeshNode, store: AccountStore, dir: string): () => void {
  const done = new Set<string>()
  let running = false
  const scan = async (): Promise<void> => {
    if (running) return
    running = true
    try {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        const match = name.isFile() ? ENROLL_FILE.exec(name.name) : null
        if (!match || done.has(name.name)) continue
        await store.setNode(match[1] as NodeRole, match[2], true, 'devnet', 'enrolled by the local devnet')
        done.add(name.name)
        node.log.info({ role: match[1], publicKey: match[2] }, 'approved a node of the local devnet')
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') node.log.warn({ err }, 'could not read the enrolment dir')
    } finally {
      running = false
    }
  }
  void scan()
  const timer = setInterval(() => { void scan() }, ENROLL_POLL_MS)
  timer.unref()
  return () => { clearInterval(timer) }
}

async function promoteAdmins (store: AccountStore, admins: string[]): Promise<void> {
  for (const username of admins) {
    const user = await store.findUser(username)
    if (user && user.role !== 'admin') await store.updateUser(username, { role: 'admin' }, 'config')
  }
}

/** Devnet only: approve every inference worker that shows up on the network. */
function autoApproveWorkers (node: MeshNode, store: AccountStore): void {
  const approve = (peer: PeerInfo): void => {
    store.setWorker(peer.id, true, 'auto-approve', 'approved by autoApproveWorkers').catch(err => {
      node.log.warn({ err, worker: peer.id.slice(0, 12) }, 'could not approve worker')
    })
  }
  node.discovery.on('up', (peer: PeerInfo) => { if (peer.role === 'inference') approve(peer) })
  node.discovery.watch('inference')
}
