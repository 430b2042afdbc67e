import type { Command } from 'commander'
import { HyperinferError } from '../../shared/errors.js'
import { ROLES, type NodeRole } from '../../shared/mesh/topic.js'
import { requireToken } from '../session.js'
import { callAuth, show } from './auth.js'

/** `hyperinfer admin …`: for users with the admin role. */
export function registerAdminCommands (program: Command): void {
  const admin = program.command('admin').description('administer users, plans and workers (admin role)')
  registerUserAdmin(admin)
  registerWorkerAdmin(admin)
  registerNodeAdmin(admin)
}

/** users, set-plan, set-role, audit. */
function registerUserAdmin (admin: Command): void {
  admin.command('users')
    .description('list users')
    .option('--after <username>', 'start after this username')
    .option('--limit <n>', 'at most this many', Number)
    .action(async (flags: { after?: string, limit?: number }, cmd: Command) => {
      const { users } = await callAuth(cmd, 'adminListUsers', { token: requireToken(), after: flags.after, limit: flags.limit })
      show(cmd, { users }, () => users.map(u => `${u.username.padEnd(20)} ${u.email.padEnd(32)} ${u.role.padEnd(6)} ${u.plan}`).join('\n') || 'no users')
    })

  admin.command('set-plan')
    .description('put a user on a plan')
    .argument('<username>').argument('<plan>', 'e.g. default, premium')
    .action(async (username: string, plan: string, _flags: unknown, cmd: Command) => {
      const user = await callAuth(cmd, 'adminSetPlan', { token: requireToken(), username, plan })
      show(cmd, user, () => `${user.username} is now on plan ${user.plan}`)
    })

  admin.command('set-role')
    .description('make a user an admin or a plain user')
    .argument('<username>').argument('<role>', 'user or admin')
    .action(async (username: string, role: string, _flags: unknown, cmd: Command) => {
      const user = await callAuth(cmd, 'adminSetRole', { token: requireToken(), username, role: role as 'user' | 'admin' })
      show(cmd, user, () => `${user.username} now has the role ${user.role}`)
    })

  admin.command('audit')
    .description('the audit log, newest first')
    .option('--limit <n>', 'at most this many', Number, 50)
    .option('--before <iso-time>', 'entries before this time')
    .action(async (flags: { limit: number, before?: string }, cmd: Command) => {
      const { entries } = await callAuth(cmd, 'adminAudit', { token: requireToken(), limit: flags.limit, before: flags.before })
      show(cmd, { entries }, () => entries.map(e => `${e.at}  ${e.actor.padEnd(16)} ${e.action.padEnd(20)} ${e.target}${e.details ? ' ' + JSON.stringify(e.details) : ''}`).join('\n') || 'no entries')
    })
}

/** approve-worker, revoke-worker, workers. */
function registerWorkerAdmin (admin: Command): void {
  admin.command('approve-worker')
    .description('let gateways route to an inference worker')
    .argument('<pubkey>', 'the worker\'s public key (hex, see `hyperinfer status`)')
    .option('--note <text>', 'a note kept with the approval')
    .action(async (publicKey: string, flags: { note?: string }, cmd: Command) => {
      const worker = await callAuth(cmd, 'adminApproveWorker', { token: requireToken(), publicKey, note: flags.note })
      show(cmd, worker, () => `approved worker ${worker.publicKey}`)
    })

  admin.command('revoke-worker')
    .description('stop gateways routing to an inference worker')
    .argument('<pubkey>', 'the worker\'s public key (hex)')
    .action(async (publicKey: string, _flags: unknown, cmd: Command) => {
      const worker = await callAuth(cmd, 'adminRevokeWorker', { token: requireToken(), publicKey })
      show(cmd, worker, () => `revoked worker ${worker.publicKey}`)
    })

  admin.command('workers')
    .description('list approved (and revoked) workers')
    .action(async (_flags: unknown, cmd: Command) => {
      const { workers } = await callAuth(cmd, 'adminListWorkers', { token: requireToken() })
      show(cmd, { workers }, () => workers.map(w => `${w.publicKey}  ${w.revokedAt ? 'revoked' : 'approved'} by ${w.approvedBy} ${w.approvedAt}`).join('\n') || 'no workers')
    })

}

function roleArg (value: string): NodeRole {
  if (!(ROLES as readonly string[]).includes(value)) throw new HyperinferError('INVALID_ARGUMENT', `unknown role "${value}": one of ${ROLES.join(', ')}`)
  return value as NodeRole
}

/** approve-node, revoke-node, nodes. */
function registerNodeAdmin (admin: Command): void {
  admin.command('approve-node')
    .description('approve a node\'s public key for a role: callers then trust it, and it may call the methods of that role')
    .argument('<role>', 'auth, gateway, inference, metrics or web').argument('<pubkey>', 'the node\'s public key (hex; each node logs it with the command to run)')
    .option('--note <text>', 'a note kept with the approval')
    .action(async (role: string, publicKey: string, flags: { note?: string }, cmd: Command) => {
      const node = await callAuth(cmd, 'adminApproveNode', { token: requireToken(), role: roleArg(role), publicKey, note: flags.note })
      show(cmd, node, () => `approved ${node.role} node ${node.publicKey}`)
    })

  admin.command('revoke-node')
    .description('revoke a node\'s approval for a role: its calls in flight end within a second')
    .argument('<role>', 'auth, gateway, inference, metrics or web').argument('<pubkey>', 'the node\'s public key (hex)')
    .action(async (role: string, publicKey: string, _flags: unknown, cmd: Command) => {
      const node = await callAuth(cmd, 'adminRevokeNode', { token: requireToken(), role: roleArg(role), publicKey })
      show(cmd, node, () => `revoked ${node.role} node ${node.publicKey}`)
    })

  admin.command('nodes')
    .description('list approved (and revoked) nodes of every role, or of one')
    .option('--role <role>', 'only this role')
    .action(async (flags: { role?: string }, cmd: Command) => {
      const { nodes } = await callAuth(cmd, 'adminListNodes', { token: requireToken(), role: flags.role ? roleArg(flags.role) : undefined })
      show(cmd, { nodes }, () => nodes.map(n => `${n.role.padEnd(9)} ${n.publicKey}  ${n.revokedAt ? `revoked ${n.revokedAt}` : 'approved'} by ${n.approvedBy} ${n.approvedAt}`).join('\n') || 'no nodes')
    })
}
