import { encodeJoin } from '../../shared/config/network.js'
import { formatBootstrap } from '../../shared/mesh/dht.js'
import type { RoleProgram } from '../../shared/runner.js'
import { createAuthNode } from './index.js'

function list (value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map(s => s.trim()).filter(Boolean)]
}

export const program: RoleProgram = {
  role: 'auth',
  describe: 'the auth node: users, sessions, API keys, plans; the only writer of the accounts bee',
  options (cmd) {
    cmd
      .option('--admin <username>', 'promote this user to admin now (if registered) or when it registers; repeatable', list)
      .option('--approve-worker <pubkey>', 'approve this inference worker public key (hex); repeatable', list)
      .option('--auto-approve-workers', 'approve every inference worker found on the network (local devnet only)')
      .option('--session-ttl <seconds>', 'session token lifetime', Number)
  },
  configFlags (flags) {
    return {
      'auth.admins': flags.admin,
      'auth.approvedWorkers': flags.approveWorker,
      'auth.autoApproveWorkers': flags.autoApproveWorkers === true ? true : undefined,
      'auth.sessionTtlSeconds': flags.sessionTtl
    }
  },
  async start ({ config, node, mesh, log }) {
    const auth = await createAuthNode({
      ...node,
      auth: config.auth
    })
    if (!mesh.devnet && !mesh.publicNetwork && mesh.bootstrap?.length) {
      // The one line every other host of the mesh needs: where the mesh is and which auth node to trust.
      const join = encodeJoin({ network: mesh.network.name, secret: mesh.network.secret, bootstrap: formatBootstrap(mesh.bootstrap), authKey: auth.node.publicKey.toString('hex') })
      log.info({ join }, `join string for every other host of this mesh: ${join}`)
    }
    return auth
  }
}
