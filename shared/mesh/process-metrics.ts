import { constants, PerformanceObserver } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { Gauge, type Registry } from 'prom-client'
import type HyperDHT from 'hyperdht'
import type { Discovery } from './discovery.js'
import { ROLES } from './topic.js'

let heapAfterGc = 0
let observer: PerformanceObserver | null = null

/**
 * Heap in use right after the last major GC: unlike heap used, it does not saw-tooth with
 * garbage, so growth in it is a leak. One observer per process, however many nodes it runs.
 */
function observeMajorGc (): void {
  if (observer) return
  heapAfterGc = getHeapStatistics().used_heap_size
  observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) heapAfterGc = getHeapStatistics().used_heap_size
    }
  })
  observer.observe({ entryTypes: ['gc'] })
}

/** What a soak needs beside prom-client's process metrics: heap after GC and the node's view of the mesh. */
export function registerMeshMetrics (registry: Registry, mesh: { dht: () => HyperDHT | undefined, discovery: () => Discovery | undefined }): void {
  observeMajorGc()
  new Gauge({
    name: 'nodejs_heap_used_after_gc_bytes',
    help: 'V8 heap in use after the last major garbage collection',
    registers: [registry],
    collect () { this.set(heapAfterGc) }
  })
  new Gauge({
    name: 'ai_platform_dht_persistent',
    help: '1 when this node\'s DHT serves as a routing node (it should be 0: only bootstrap nodes do)',
    registers: [registry],
    collect () {
      const dht = mesh.dht() as (HyperDHT & { ephemeral?: boolean }) | undefined
      this.set(dht && dht.ephemeral === false ? 1 : 0)
    }
  })
  new Gauge({
    name: 'ai_platform_mesh_peers',
    help: 'Peers this node knows on the mesh, by role and status',
    labelNames: ['role', 'status'],
    registers: [registry],
    collect () {
      const discovery = mesh.discovery()
      for (const role of ROLES) {
        const known = discovery?.known(role) ?? []
        const up = known.filter(peer => peer.status === 'up').length
        this.set({ role, status: 'up' }, up)
        this.set({ role, status: 'down' }, known.length - up)
      }
    }
  })
}
