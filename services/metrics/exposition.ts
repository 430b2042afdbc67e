/**
 * A small, strict reader and writer of the Prometheus text exposition format (0.0.4).
 * Scraped text comes from other nodes and may be anything: whatever does not parse is skipped
 * and counted, never passed through, so the merged output stays valid.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Array<[string, string]>
  value: string
  timestamp?: string
}

export interface Family {
  name: string
  type: MetricType
  help?: string
  samples: Sample[]
}

export interface Parsed {
  families: Family[]
  /** Lines that did not parse or did not fit their family. */
  skipped: number
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const FLOAT = /^[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)$/i
const TIMESTAMP = /^-?\d{1,19}$/
const MAX_LABELS = 64
const MAX_LINE = 64 * 1024

/** Sample names a family owns besides its own name. */
function suffixes (type: MetricType): string[] {
  if (type === 'histogram') return ['_bucket', '_sum', '_count']
  if (type === 'summary') return ['_sum', '_count']
  return []
}

/** Every sample name a family of this name and type may produce. */
export function sampleNames (name: string, type: MetricType): string[] {
  const own = type === 'histogram' ? [] : [name]
  return [...own, ...suffixes(type).map(suffix => name + suffix)]
}

function belongsTo (family: Family, sampleName: string): boolean {
  return sampleNames(family.name, family.type).includes(sampleName)
}

/** Parses exposition text; never throws. */
export function parseExposition (text: string, { keepEmpty = false } = {}): Parsed {
  const families = new Map<string, Family>()
  /** Families that already got samples: a later TYPE must not retype them. */
  const started = new Set<string>()
  let current: Family | null = null
  let skipped = 0

  const family = (name: string): Family => {
    let found = families.get(name)
    if (!found) families.set(name, found = { name, type: 'untyped', samples: [] })
    return found
  }

  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    if (line.trim() === '') continue
    if (line.length > MAX_LINE) { skipped++; continue }
    if (line.startsWith('#')) {
      const meta = parseMeta(line)
      if (meta === 'comment') continue
      if (meta === null) { skipped++; continue }
      const target = family(meta.name)
      if (meta.kind === 'help') {
        if (target.help !== undefined) { skipped++; continue }
        target.help = meta.text
      } else {
        if (started.has(meta.name) || (target.type !== 'untyped' && target.type !== meta.type)) { skipped++; continue }
        target.type = meta.type
      }
      current = target
      continue
    }
    const sample = parseSample(line)
    if (!sample) { skipped++; continue }
    let owner: Family | undefined = current && belongsTo(current, sample.name) ? current : undefined
    owner ??= [...families.values()].find(f => f.type !== 'untyped' && belongsTo(f, sample.name))
    owner ??= family(sample.name)
    if (!fitsFamily(owner, sample)) { skipped++; continue }
    started.add(owner.name)
    owner.samples.push(sample)
  }
  return { families: [...families.values()].filter(f => keepEmpty || f.samples.length > 0), skipped }
}

type Meta = { kind: 'help', name: string, text: string } | { kind: 'type', name: string, type: MetricType }

function parseMeta (line: string): Meta | 'comment' | null {
  const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
  if (!match) return 'comment'
  const [, keyword, name, rest = ''] = match
  if (METRIC_NAME.exec(name)?.[0] !== name) return null
  if (keyword === 'HELP') return { kind: 'help', name, text: unescapeHelp(rest) }
  const type = rest.trim().toLowerCase() as MetricType
  return TYPES.has(type) ? { kind: 'type', name, type } : null
}

function fitsFamily (family: Family, sample: Sample): boolean {
  const labelNames = sample.labels.map(([name]) => name)
  if (family.type === 'histogram' && sample.name === family.name + '_bucket') return labelNames.includes('le')
  if (family.type === 'summary' && sample.name === family.name) return labelNames.includes('quantile')
  return true
}

/** `name{label="value",...} value [timestamp]`, or null. */
export function parseSample (line: string): Sample | null {
  let rest = line.trimStart()
  const name = METRIC_NAME.exec(rest)?.[0]
  if (!name) return null
  rest = rest.slice(name.length)
  const labels: Array<[string, string]> = []
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest)
    if (!parsed) return null
    labels.push(...parsed.labels)
    rest = parsed.rest
  }
  if (!/^[ \t]/.test(rest)) return null
  const fields = rest.trim().split(/[ \t]+/)
  if (fields.length < 1 || fields.length > 2) return null
  const [value, timestamp] = fields
  if (!FLOAT.test(value)) return null
  if (timestamp !== undefined && !TIMESTAMP.test(timestamp)) return null
  return { name, labels, value: normalizeFloat(value), ...(timestamp !== undefined ? { timestamp } : {}) }
}

function parseLabels (input: string): { labels: Array<[string, string]>, rest: string } | null {
  const labels: Array<[string, string]> = []
  const seen = new Set<string>()
  let i = 1
  const skipSpace = (): void => { while (input[i] === ' ' || input[i] === '\t') i++ }
  for (;;) {
    skipSpace()
    if (input[i] === '}') return { labels, rest: input.slice(i + 1) }
    const name = LABEL_NAME.exec(input.slice(i))?.[0]
    if (!name || name.startsWith('__') || seen.has(name) || labels.length >= MAX_LABELS) return null
    seen.add(name)
    i += name.length
    skipSpace()
    if (input[i] !== '=') return null
    i++
    skipSpace()
    if (input[i] !== '"') return null
    i++
    let value = ''
    for (;;) {
      const ch = input[i]
      if (ch === undefined) return null
      if (ch === '"') break
      if (ch === '\\') {
        const next = input[i + 1]
        if (next === 'n') value += '\n'
        else if (next === '\\' || next === '"') value += next
        else return null
        i += 2
        continue
      }
      value += ch
      i++
    }
    i++
    labels.push([name, value])
    skipSpace()
    if (input[i] === ',') { i++; continue }
    if (input[i] === '}') return { labels, rest: input.slice(i + 1) }
    return null
  }
}

function normalizeFloat (value: string): string {
  const lower = value.toLowerCase()
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return lower.startsWith('-') ? '-Inf' : '+Inf'
  if (lower.endsWith('nan')) return 'NaN'
  return value
}

function unescapeHelp (text: string): string {
  return text.replace(/\\(\\|n)/g, (_, ch: string) => ch === 'n' ? '\n' : '\\')
}

function escapeHelp (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabelValue (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

export function formatSample (sample: Sample): string {
  const labels = sample.labels.length > 0
    ? `{${sample.labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`
    : ''
  return `${sample.name}${labels} ${sample.value}${sample.timestamp !== undefined ? ' ' + sample.timestamp : ''}`
}

/** A family's HELP (when it has one) and TYPE lines. */
export function formatHeader (family: Pick<Family, 'name' | 'type' | 'help'>): string[] {
  const lines = family.help !== undefined ? [`# HELP ${family.name} ${escapeHelp(family.help)}`] : []
  lines.push(`# TYPE ${family.name} ${family.type}`)
  return lines
}

/** Writes families as exposition text: HELP and TYPE once per family, then its samples. */
export function formatExposition (families: Iterable<Family>): string {
  const lines: string[] = []
  for (const family of families) {
    lines.push(...formatHeader(family))
    for (const sample of family.samples) lines.push(formatSample(sample))
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : ''
}
