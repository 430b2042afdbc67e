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
