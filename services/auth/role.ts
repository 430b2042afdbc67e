import { NodeRegistry } from '../../shared/accounts/node-registry.js'
import type { NodeRole } from '../../shared/mesh/topic.js'
import { publishAuthKey } from '../../shared/accounts/devnet-enroll.js'
import { enrollDir } from '../../shared/accounts/devnet-enroll.js'
import type { AuthConfig } from '../../shared/config/auth.js'
import { encodeJoin } from '../../shared/config/network.js'
import { AccessControl } from '../../shared/mesh/access.js'
import { formatBootstrap } from '../../shared/mesh/dht.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import { defineRole, type StartedRole, type StartOptions } from '../../shared/role/define-role.js'
import { startRole } from '../../shared/role/start-role.js'
import { openOwnBee } from '../../shared/store/bees.js'
import { authMethods } from './api.js'
import { autoApproveWorkers, enrollFromDir } from './devnet-approvals.js'
import { loadJwtSecret, Sessions } from './sessions.js'
import { AccountStore, type CredentialRecord, type SessionRecord } from './store.js'
import { LoginThrottle } from './login-throttle.js'

export interface AuthHandles {
  store: AccountStore
  config: AuthConfig
  /** The `accounts` bee key replicas follow. */
  accountsKey: Buffer
  /** The approved nodes, as this node wrote them. */
  nodes: NodeRegistry
}

/** The auth node: users, sessions, API keys, plans; the only writer of the accounts bee. */
export const authRole = defineRole<'auth', AuthHandles>({
  role: 'auth',
  describe: 'the auth node: users, sessions, API keys, plans; the only writer of the accounts bee',
  configSection: 'auth',
  // It keeps the registry itself: callers are checked against what it wrote.
  access: () => new AccessControl({ managed: true }),
  flags: {
    declare (cmd) {
      cmd
        .option('--admin <username>', 'promote this user to admin now (if registered) or when it registers; repeatable', list)
        .option('--approve-worker <pubkey>', 'approve this inference worker public key (hex); repeatable', list)
        .option('--auto-approve-workers', 'approve every inference worker found on the network (local devnet only)')
        .option('--session-ttl <seconds>', 'session token lifetime', Number)
    },
    toConfig: flags => ({
      'auth.admins': flags.admin,
      'auth.approvedWorkers': flags.approveWorker,
      'auth.autoApproveWorkers': flags.autoApproveWorkers === true ? true : undefined,
      'auth.sessionTtlSeconds': flags.sessionTtl
    })
  },
  commandLine: {
    prepare (config, mesh) {
      if (mesh.devnet) config.auth.enrollDir ??= enrollDir(config.home)
    },
    started (auth, { config, mesh, log }) {
      const publicKey = auth.node.publicKey.toString('hex')
      if (mesh.devnet) publishAuthKey(config.home, auth.node.publicKey, auth.accountsKey)
      if (!mesh.devnet && !mesh.publicNetwork && mesh.bootstrap?.length) {
        // The one line every other host of the mesh needs: where the mesh is and which auth node to trust.
        const join = encodeJoin({ network: mesh.network.name, secret: mesh.network.secret, bootstrap: formatBootstrap(mesh.bootstrap), authKey: publicKey })
        log.info({ join }, `join string for every other host of this mesh: ${join}`)
      }
    }
  },
  async build (node, config) {
    const credentials = await openOwnBee<CredentialRecord | SessionRecord>(node.store, 'auth-credentials')
    let stopEnrolling = (): void => {}
    try {
      const accounts = await node.ownBee<never>('accounts')
      // Password hashes stay in `credentials`, a bee that is never announced or handed out.
      const store = new AccountStore(accounts, credentials)
      const nodes = await seedStore(node, store, config)
      const sessions = new Sessions(loadJwtSecret(node.dataDir, config.jwtSecret), config.sessionTtlSeconds)
      const throttle = new LoginThrottle(config.loginThrottle)
      if (config.autoApproveWorkers) autoApproveWorkers(node, store)
      if (config.enrollDir) stopEnrolling = enrollFromDir(node, store, config.enrollDir)
      node.log.info({ accounts: accounts.key.toString('hex'), plans: Object.keys(config.plans) },
        `auth node: pin it on every other node and client with --auth-key ${node.publicKey.toString('hex')}`)
      return {
        methods: authMethods({ store, sessions, throttle, config, nodes }),
        handles: { store, config, accountsKey: accounts.key, nodes } satisfies AuthHandles,
        async close () {
          stopEnrolling()
          await credentials.close()
        }
      }
    } catch (err) {
      stopEnrolling()
      await credentials.close()
      throw err
    }
  }
})

/** Plans, admins, approvals from config; then the registry the node's access control reads. */
async function seedStore (node: MeshNode, store: AccountStore, config: AuthConfig): Promise<NodeRegistry> {
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
  node.access.attach(nodes)
  return nodes
}

async function promoteAdmins (store: AccountStore, admins: string[]): Promise<void> {
  for (const username of admins) {
    const user = await store.findUser(username)
    if (user && user.role !== 'admin') await store.updateUser(username, { role: 'admin' }, 'config')
  }
}

function list (value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map(s => s.trim()).filter(Boolean)]
}

export type AuthNode = StartedRole<AuthHandles>

/** An auth node in this process (tests, the lab). */
export function createAuthNode (options: StartOptions<'auth'>): Promise<AuthNode> {
  return startRole(authRole, options)
}
