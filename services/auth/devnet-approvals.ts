import { mkdirSync, readdirSync, watch, type FSWatcher } from 'node:fs'
import { ROLES, type NodeRole } from '../../shared/mesh/topic.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { AccountStore } from './store.js'

/** A scan now and then besides the dir's change events, in case one was missed. */
const ENROLL_RESCAN_MS = 30_000
const ENROLL_FILE = new RegExp(`^(${ROLES.join('|')})\\.([0-9a-f]{64})$`)

/**
 * Devnet only: approve the nodes that left `<role>.<publicKey>` in the enrolment dir. Only the
 * user who runs the devnet can write there, so a node on the topic cannot enrol itself. The dir
 * is watched (inotify on Linux): an idle devnet's auth node does not poll it.
 */
export function enrollFromDir (node: MeshNode, store: AccountStore, dir: string): () => void {
  const done = new Set<string>()
  let running = false
  let again = false
  const scan = async (): Promise<void> => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      do {
        again = false
        for (const name of readdirSync(dir, { withFileTypes: true })) {
          const match = name.isFile() ? ENROLL_FILE.exec(name.name) : null
          if (!match || done.has(name.name)) continue
          await store.setNode(match[1] as NodeRole, match[2], true, 'devnet', 'enrolled by the local devnet')
          done.add(name.name)
          node.log.info({ role: match[1], publicKey: match[2] }, 'approved a node of the local devnet')
        }
      } while (again)
    } catch (err) {
      node.log.warn({ err }, 'could not read the enrolment dir')
    } finally {
      running = false
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  let watcher: FSWatcher | null = null
  try {
    watcher = watch(dir, () => { void scan() }).unref()
    watcher.on('error', err => { node.log.warn({ err }, 'stopped watching the enrolment dir; rescanning every 30 s') })
  } catch (err) {
    node.log.warn({ err }, 'cannot watch the enrolment dir; rescanning every 30 s')
  }
  void scan()
  const timer = setInterval(() => { void scan() }, ENROLL_RESCAN_MS)
  timer.unref()
  return () => {
    clearInterval(timer)
    watcher?.close()
  }
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
