import { AccountReplica } from '../../shared/accounts/replica.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'

const REMIND_EVERY_MS = 30_000
const RETRY_AUTH_MS = 10_000

/**
 * Tells the operator of a worker where it stands: "waiting for approval" with the command an
 * admin runs, repeated until the approval arrives by replication of the accounts bee, then
 * "approved" (and a warning if it is revoked later).
 */
export function logApprovalState (node: MeshNode): { close (): void } {
  const key = node.publicKey.toString('hex')
  const log = node.log
  const waiting = (): void => { log.warn({ publicKey: key }, `waiting for approval: run \`hyperinfer admin approve-worker ${key}\``) }
  let approved = false
  let closed = false
  let replica: AccountReplica | null = null

  const check = (): void => {
    if (!replica || closed) return
    const now = replica.isWorkerApproved(key)
    if (now === approved) return
    approved = now
    if (approved) log.info({ publicKey: key }, 'approved: gateways route requests to this worker')
    else log.warn({ publicKey: key }, `approval revoked: gateways stop routing here; run \`hyperinfer admin approve-worker ${key}\` to approve again`)
  }

  waiting()
  const reminder = setInterval(() => { if (!approved) waiting() }, REMIND_EVERY_MS)
  reminder.unref()
  let retry: NodeJS.Timeout | null = null

  const open = async (): Promise<void> => {
    if (closed) return
    const next = new AccountReplica(node, { timeoutMs: RETRY_AUTH_MS, authKey: node.trust.pinned })
    try {
      await next.open()
    } catch (err) {
      log.debug({ err }, 'no auth node yet to learn the approval state from; trying again')
      retry = setTimeout(() => { void open() }, RETRY_AUTH_MS)
      retry.unref()
      return
    }
    if (closed) return next.close()
    replica = next
    replica.on('update', check)
    check()
  }
  void open()

  return {
    close () {
      closed = true
      clearInterval(reminder)
      if (retry) clearTimeout(retry)
      replica?.close()
    }
  }
}
