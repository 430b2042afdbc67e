import { AccessControl } from '../mesh/access.js'
import type { MeshNode } from '../mesh/mesh-node.js'
import { AccountReplica } from './replica.js'

const RETRY_MS = 2_000

/** The access control of a node that pins `authKey` (unmanaged without one: bare nodes in tests). */
export function accessFor (authKey: Buffer | undefined): AccessControl {
  return new AccessControl({ managed: authKey !== undefined, trustedKeys: authKey ? [authKey] : [] })
}

export interface FollowedRegistry {
  /** The replica once open (the auth node may come up after this node). */
  replica (): AccountReplica | null
  /** Resolves when the replica is open. */
  readonly opened: Promise<AccountReplica>
  close (): void
}

/**
 * Opens the accounts replica in the background, retrying until the pinned auth node answers, and
 * hands its node registry to the node's access control: until then restricted methods are refused.
 */
export function followRegistry (node: MeshNode, authKey: Buffer | undefined, timeoutMs = 5_000): FollowedRegistry {
  let replica: AccountReplica | null = null
  let closed = false
  let retry: NodeJS.Timeout | null = null
  let resolveOpened!: (replica: AccountReplica) => void
  const opened = new Promise<AccountReplica>(resolve => { resolveOpened = resolve })
  const attempt = (): void => {
    const candidate = new AccountReplica(node, { authKey, timeoutMs })
    candidate.open().then(open => {
      if (closed) return open.close()
      replica = open
      node.access.attach(open.nodes)
      resolveOpened(open)
    }, (err: Error) => {
      if (closed) return
      node.log.debug({ err: err.message }, 'accounts replica not open yet; retrying')
      retry = setTimeout(attempt, RETRY_MS)
      retry.unref()
    })
  }
  attempt()
  return {
    replica: () => replica,
    opened,
    close () {
      closed = true
      if (retry) clearTimeout(retry)
      replica?.close()
    }
  }
}

/**
 * Tells the operator where a node stands: until its key is approved for its role it says so with
 * the exact command an admin runs, then "approved" (and a warning if it is revoked later).
 */
export function logNodeApproval (node: MeshNode): { close (): void } {
  const key = node.publicKey.toString('hex')
  const command = `hyperinfer admin approve-node ${node.role} ${key}`
  let approved: boolean | null = null
  const check = (): void => {
    const registry = node.access.registryView
    if (!registry) return
    const now = registry.isApproved(node.role, key)
    if (now === approved) return
    if (now) node.log.info({ publicKey: key }, `approved as ${node.role}`)
    else node.log.warn({ publicKey: key }, `${approved === null ? 'not approved yet' : 'approval revoked'}: other nodes and clients send this ${node.role} nothing until an admin runs \`${command}\``)
    approved = now
  }
  node.access.on('change', check)
  check()
  return { close () { node.access.off('change', check) } }
}
