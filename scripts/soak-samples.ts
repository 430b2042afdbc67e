/** One node's resource figures at one moment, as the soak reads them from the merged /metrics. */
export interface Sample {
  key: string
  role: string
  node: string
  at: number
  cpuSeconds: number
  rssBytes: number
  heapAfterGcBytes: number | null
  /** 1 when the node's DHT turned into a routing node (it should stay 0). */
  dhtPersistent?: number
}

const WANTED = {
  process_cpu_seconds_total: 'cpuSeconds',
  process_resident_memory_bytes: 'rssBytes',
  nodejs_heap_used_after_gc_bytes: 'heapAfterGcBytes',
  ai_platform_dht_persistent: 'dhtPersistent'
} as const

const LINE = /^(\w+)\{([^}]*)\}\s+(\S+)/

/** Picks CPU, RSS and heap after GC per node out of Prometheus text labelled with node and role. */
export function parseSamples (text: string, at: number): Sample[] {
  const byNode = new Map<string, Sample>()
  for (const raw of text.split('\n')) {
    const match = LINE.exec(raw)
    if (!match || !(match[1] in WANTED)) continue
    const labels = Object.fromEntries([...match[2].matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]))
    if (!labels.node || !labels.role) continue
    const key = `${labels.role}/${labels.node}`
    let sample = byNode.get(key)
    if (!sample) byNode.set(key, sample = { key, role: labels.role, node: labels.node, at, cpuSeconds: NaN, rssBytes: NaN, heapAfterGcBytes: null })
    sample[WANTED[match[1] as keyof typeof WANTED]] = Number(match[3])
  }
  return [...byNode.values()].filter(s => Number.isFinite(s.cpuSeconds) && Number.isFinite(s.rssBytes))
}
