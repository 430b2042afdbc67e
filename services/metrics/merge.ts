import { formatExposition, sampleNames, type Family, type Sample } from './exposition.js'

export interface ScrapedSource {
  /** Value of the `node` label (public key prefix). */
  node: string
  role: string
  families: readonly Family[]
  /**
   * Keep `node`/`role` labels the samples already carry (the metrics node's own families,
   * whose labels name the scraped node). Otherwise they are renamed `exported_node`/`exported_role`,
   * as Prometheus does, so no node can pass its samples off as another's.
   */
  honorLabels?: boolean
}

const TARGET_LABELS = ['node', 'role'] as const

/**
 * Merges the families of many nodes into one exposition: one HELP/TYPE per family, the samples
 * of every node under it with `node` and `role` labels. A family one node declares with another
 * type than the first node did is dropped for that node, as are duplicate series.
 */
export function mergeSources (sources: readonly ScrapedSource[]): { text: string, dropped: number } {
  const merged = new Map<string, Family>()
  /** Sample name -> the family that produces it, to keep histogram suffixes unambiguous. */
  const owners = new Map<string, string>()
  const series = new Set<string>()
  let dropped = 0

  for (const source of sources) {
    for (const family of source.families) {
      let target = merged.get(family.name)
      if (!target) {
        const names = sampleNames(family.name, family.type)
        if (names.some(name => owners.has(name) && owners.get(name) !== family.name) || owners.has(family.name)) {
          dropped += family.samples.length
          continue
        }
        for (const name of names) owners.set(name, family.name)
        owners.set(family.name, family.name)
        target = { name: family.name, type: family.type, help: family.help, samples: [] }
        merged.set(family.name, target)
      } else if (target.type !== family.type) {
        dropped += family.samples.length
        continue
      }
      target.help ??= family.help
      for (const sample of family.samples) {
        const labelled = withTargetLabels(sample, source)
        const key = seriesKey(labelled)
        if (series.has(key)) { dropped++; continue }
        series.add(key)
        target.samples.push(labelled)
      }
    }
  }
  return { text: formatExposition(merged.values()), dropped }
}

function withTargetLabels (sample: Sample, source: ScrapedSource): Sample {
  const labels: Array<[string, string]> = []
  const present = new Set<string>()
  for (const [name, value] of sample.labels) {
    if (!source.honorLabels && (TARGET_LABELS as readonly string[]).includes(name)) {
      if (!sample.labels.some(([other]) => other === `exported_${name}`)) labels.push([`exported_${name}`, value])
      continue
    }
    present.add(name)
    labels.push([name, value])
  }
  if (!present.has('node')) labels.push(['node', source.node])
  if (!present.has('role')) labels.push(['role', source.role])
  return { ...sample, labels }
}

function seriesKey (sample: Sample): string {
  const labels = [...sample.labels].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
  return JSON.stringify([sample.name, labels])
}
