import { readdirSync } from 'node:fs'
import { ROLES, type NodeRole } from '../../shared/mesh/topic.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { AccountStore } from './store.js'

const ENROLL_POLL_MS = 250
const ENROLL_FILE = new RegExp(`^(${ROLES.join('|')})\\.([0-9a-f]{64})$`)

/**
 * Devnet only: approve the nodes that left `<role>.<publicKey>` in the enrolment dir. Only the
 * user who runs the devnet can write there, so a node on the topic cannot enrol itself.
 */
export function enrollFromDir (node: MeshNode, store: AccountStore, dir: string): () => void {
  const done = new Set<string>()
  let running = false
  const scan = async (): Promise<void> => {
    if (running) return
    running = true
    try {
      for (const name of readdirSync(dir, { withFileTypes: true })) {
        const match = name.isFile() ? ENROLL_FILE.exec(name.name) : null
        if (!match || done.has(name.name)) continue
        await store.setNode(match[1] as NodeRole, match[2], true, 'devnet', 'enrolled by the local devnet')
        done.add(name.name)
        node.log.info({ role: match[1], publicKey: match[2] }, 'approved a node of the local devnet')
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') node.log.warn({ err }, 'could not read the enrolment dir')
    } finally {
      running = false
    }
  }
  void scan()
  const timer = setInterval(() => { void scan() }, ENROLL_POLL_MS)
  timer.unref()
  return () => { clearInterval(timer) }
}

/** Devnet only: approve every inference worker that shows up on the network. */
export function autoApproveWorkers (node: MeshNode, store: AccountStore): void {
  const approve = (peer: PeerInfo): void => {
    store.setWorker(peer.id, true, 'auto-approve', 'approved by autoApproveWorkers').catch(err => {
      node.log.warn({ err, worker: peer.id.slice(0, 12) }, 'could not approve worker')
    })
  }
  node.discovery.on('up', (peer: PeerInfo) => { if (peer.role === 'inference') approve(peer) })
  node.discovery.watch('inference', { slowProbes: true })
}
