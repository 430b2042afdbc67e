import type { MeshNode } from '../../shared/mesh/mesh-node.js'

const REMIND_EVERY_MS = 30_000

/**
 * Tells the operator of a worker where it stands: "waiting for approval" with the command an
 * admin runs, repeated until the approval arrives in the node's replica of the registry, then
 * "approved" (and a warning if it is revoked later).
 */
export function logApprovalState (node: MeshNode): { close (): void } {
  const key = node.publicKey.toString('hex')
  const log = node.log
  const waiting = (): void => { log.warn({ publicKey: key }, `waiting for approval: run \`hyperinfer admin approve-worker ${key}\``) }
  let approved = false

  const check = (): void => {
    const registry = node.access.registryView
    if (!registry) return
    const now = registry.isApproved('inference', key)
    if (now === approved) return
    approved = now
    if (approved) log.info({ publicKey: key }, 'approved: gateways route requests to this worker')
    else log.warn({ publicKey: key }, `approval revoked: gateways stop routing here; run \`hyperinfer admin approve-worker ${key}\` to approve again`)
  }

  waiting()
  const reminder = setInterval(() => { if (!approved) waiting() }, REMIND_EVERY_MS)
  reminder.unref()
  node.access.on('change', check)
  check()
  return {
    close () {
      clearInterval(reminder)
      node.access.off('change', check)
    }
  }
}
