// `npm run lab`: builds the namespace lab, runs the six scenarios and prints what they measured.
import { runLab, median } from './lab.js'
import { labUnavailableReason } from './netns.js'

const why = labUnavailableReason()
if (why) {
  process.stderr.write(`lab: cannot run here: ${why}\n`)
  process.exit(2)
}
const report = await runLab({ log: line => process.stderr.write(`lab: ${line}\n`) })
const ms = (value: number | undefined): string => value === undefined || Number.isNaN(value) ? 'n/a' : `${value.toFixed(1)} ms`
const spread = (values: number[]): string => values.length === 0 ? 'n/a' : `median ${ms(median(values))} (n=${values.length}, min ${ms(Math.min(...values))}, max ${ms(Math.max(...values))})`
const { figures } = report
const rows: Array<[string, string]> = [
  ['time to first request after approval, LAN worker', ms(figures.approvalToFirstRequestLanMs)],
  ['time to first request after approval, NAT worker', ms(figures.approvalToFirstRequestNatMs)],
  ['first-token latency, LAN client -> gateway -> LAN worker', spread(figures.firstTokenLanMs)],
  ['first-token latency, LAN client -> gateway -> NAT worker', spread(figures.firstTokenNatMs)],
  ['first-token latency, NAT client -> gateway -> NAT worker', spread(figures.firstTokenNatToNatMs)],
  ['NAT vs LAN first token (ratio of medians)', figures.firstTokenLanMs.length && figures.firstTokenNatMs.length ? `${(median(figures.firstTokenNatMs) / median(figures.firstTokenLanMs)).toFixed(2)}x` : 'n/a'],
  ['8 concurrent streams split over the workers', JSON.stringify(figures.loadSplit ?? {})]
]
const width = Math.max(...rows.map(([label]) => label.length))
const out = [
  '',
  '| scenario | result | detail |', '|---|---|---|',
  ...report.scenarios.sort((a, b) => a.n - b.n).map(s => `| ${s.n}. ${s.name} | ${s.ok ? 'pass' : 'FAIL'} | ${s.detail} |`),
  '',
  ...rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`),
  ...report.notes.map(note => `note: ${note}`),
  ''
]
process.stdout.write(out.join('\n'))
process.exit(report.scenarios.length === 6 && report.scenarios.every(s => s.ok) ? 0 : 1)
