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
  async start ({ config, node }) {
    return createAuthNode({
      ...node,
      auth: config.auth
    })
  }
}
