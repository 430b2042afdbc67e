import { formatHeader, formatSample, sampleNames, type Family, type MetricType, type Sample } from './exposition.js'

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

/** A sample with its node labels, as its series key and its exposition line. */
interface LabelledSample { key: string, line: string }

interface Prepared { node: string, role: string, honorLabels: boolean, samples: LabelledSample[][] }

/**
 * Labelled samples per scraped families array: a node's families stay the same until its next
 * scrape, so the /metrics of the metrics node labels and formats them once, not on every request
 * (that was most of what serving /metrics cost).
 */
const preparedSources = new WeakMap<readonly Family[], Prepared>()

function labelledSamples (source: ScrapedSource): LabelledSample[][] {
  const honorLabels = source.honorLabels === true
  const cached = preparedSources.get(source.families)
  if (cached && cached.node === source.node && cached.role === source.role && cached.honorLabels === honorLabels) return cached.samples
  const samples = source.families.map(family => family.samples.map(sample => {
    const labelled = withTargetLabels(sample, source)
    return { key: seriesKey(labelled), line: formatSample(labelled) }
  }))
  preparedSources.set(source.families, { node: source.node, role: source.role, honorLabels, samples })
  return samples
}

interface MergedFamily { name: string, type: MetricType, help?: string, lines: string[] }

/**
 * Merges the families of many nodes into one exposition: one HELP/TYPE per family, the samples
 * of every node under it with `node` and `role` labels. A family one node declares with another
 * type than the first node did is dropped for that node, as are duplicate series.
 */
export function mergeSources (sources: readonly ScrapedSource[]): { text: string, dropped: number } {
  const merged = new Map<string, MergedFamily>()
  /** Sample name -> the family that produces it, to keep histogram suffixes unambiguous. */
  const owners = new Map<string, string>()
  const series = new Set<string>()
  let dropped = 0

  for (const source of sources) {
    const labelled = labelledSamples(source)
    source.families.forEach((family, i) => {
      let target = merged.get(family.name)
      if (!target) {
        const names = sampleNames(family.name, family.type)
        if (names.some(name => owners.has(name) && owners.get(name) !== family.name) || owners.has(family.name)) {
          dropped += family.samples.length
          return
        }
        for (const name of names) owners.set(name, family.name)
        owners.set(family.name, family.name)
        target = { name: family.name, type: family.type, help: family.help, lines: [] }
        merged.set(family.name, target)
      } else if (target.type !== family.type) {
        dropped += family.samples.length
        return
      }
      target.help ??= family.help
      for (const { key, line } of labelled[i]) {
        if (series.has(key)) { dropped++; continue }
        series.add(key)
        target.lines.push(line)
      }
    })
  }
  const lines: string[] = []
  for (const family of merged.values()) lines.push(...formatHeader(family), ...family.lines)
  return { text: lines.length > 0 ? lines.join('\n') + '\n' : '', dropped }
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
