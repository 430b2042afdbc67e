import { authSection, type AuthConfig } from '../../shared/config/auth.js'
import type { Logger } from '../../shared/log.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import type { NetworkId } from '../../shared/mesh/topic.js'
import { openOwnBee } from '../../shared/store/bees.js'
import { authMethods } from './api.js'
import { loadJwtSecret, Sessions } from './sessions.js'
import { AccountStore, type CredentialRecord } from './store.js'
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
  close (): Promise<void>
}

export async function createAuthNode (options: AuthNodeOptions): Promise<AuthNode> {
  const config = authSection.parse(options.auth ?? {})
  const node = new MeshNode({
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
  let credentials: Awaited<ReturnType<typeof openOwnBee<CredentialRecord>>> | null = null
  try {
    const accounts = await node.ownBee<never>('accounts')
    // Password hashes stay in a bee that is never announced or handed out.
    credentials = await openOwnBee<CredentialRecord>(node.store, 'auth-credentials')
    const store = new AccountStore(accounts, credentials)
    await store.writePlans(config.plans)
    await promoteAdmins(store, config.admins)
    for (const publicKey of config.approvedWorkers) await store.setWorker(publicKey, true, 'config')

    const sessions = new Sessions(loadJwtSecret(options.dataDir, config.jwtSecret), config.sessionTtlSeconds)
    const throttle = new LoginThrottle(config.loginThrottle)
    node.serve(authMethods({ store, sessions, throttle, config }))
    if (config.autoApproveWorkers) autoApproveWorkers(node, store)
    await node.discovery.announce('auth')
    node.log.info({ accounts: accounts.key.toString('hex'), plans: Object.keys(config.plans) }, 'auth node ready')

    const privateBee = credentials
    return {
      node,
      store,
      config,
      accountsKey: accounts.key,
      async close () {
        await privateBee.close()
        await node.close()
      }
    }
  } catch (err) {
    await credentials?.close()
    await node.close()
    throw err
  }
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
