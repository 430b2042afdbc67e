import type Hypercore from 'hypercore'

interface ReplicaPeer { remoteContiguousLength: number }

/**
 * Resolves once every peer replicating `core` holds it up to `length` (they tell the writer as they
 * download), or after timeoutMs — whichever is first; never throws. A writer that answers after this
 * answers with something the replicas already serve: a new API key works at the gateway at once.
 */
export async function waitForReplicas (core: Hypercore, length: number, timeoutMs = 2_000): Promise<boolean> {
  const peers = (): ReplicaPeer[] => (core as unknown as { peers?: ReplicaPeer[] }).peers ?? []
  const caughtUp = (): boolean => peers().every(peer => peer.remoteContiguousLength >= length)
  if (caughtUp()) return true
  const deadline = Date.now() + timeoutMs
  let waitMs = 2
  while (Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, waitMs))
    if (caughtUp()) return true
    waitMs = Math.min(waitMs * 2, 50)
  }
  return false
}
