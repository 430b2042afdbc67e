import t from 'tap'
import { parseExposition } from '../services/metrics/exposition.js'
import { mergeSources, type ScrapedSource } from '../services/metrics/merge.js'

const source = (node: string, text: string, extra: Partial<ScrapedSource> = {}): ScrapedSource =>
  ({ node, role: 'gateway', families: parseExposition(text).families, ...extra })

const HISTOGRAM = `# TYPE latency histogram
latency_bucket{le="1"} 1
latency_bucket{le="+Inf"} 2
latency_sum 3
latency_count 2
`

t.test('a family whose name is another family\'s histogram suffix is dropped, whichever node comes first', async t => {
  const clash = '# TYPE latency_bucket gauge\nlatency_bucket{le="1"} 99\n'
  const histogramFirst = mergeSources([source('a', HISTOGRAM), source('b', clash)])
  t.equal(histogramFirst.dropped, 1)
  t.notMatch(histogramFirst.text, / 99$/m, 'the gauge cannot pass itself off as a bucket')
  const gaugeFirst = mergeSources([source('b', clash), source('a', HISTOGRAM)])
  t.equal(gaugeFirst.dropped, 4, 'the histogram that would own the name is dropped instead (all 4 samples)')
  t.equal(parseExposition(gaugeFirst.text).skipped, 0, 'either way the output parses')
})

t.test('the same series twice from one node: the first is kept, the second counted as dropped', async t => {
  const twice = '# TYPE hits counter\nhits{path="/"} 1\n# TYPE hits counter\nhits{path="/"} 2\n'
  const { text, dropped } = mergeSources([source('a', twice)])
  t.equal(dropped, 1)
  t.match(text, 'hits{path="/",node="a",role="gateway"} 1')
  t.notMatch(text, '} 2')
})

t.test('label order does not make two series different', async t => {
  const { dropped } = mergeSources([source('a', '# TYPE g gauge\ng{x="1",y="2"} 1\n'), source('a', '# TYPE g gauge\ng{y="2",x="1"} 5\n')])
  t.equal(dropped, 1)
})

t.test('HELP comes from the first node that has one; samples of one family stay together in node order', async t => {
  const { text } = mergeSources([
    source('a', '# TYPE up gauge\nup 1\n# TYPE other gauge\nother 1\n'),
    source('b', '# HELP up Whether the node is up\n# TYPE up gauge\nup 0\n')
  ])
  const lines = text.trim().split('\n')
  t.same(lines.filter(l => l.startsWith('# HELP up')), ['# HELP up Whether the node is up'])
  const ups = lines.map((l, i) => l.startsWith('up{') ? i : -1).filter(i => i >= 0)
  t.same(ups.map(i => lines[i]), ['up{node="a",role="gateway"} 1', 'up{node="b",role="gateway"} 0'])
  t.equal(ups[1] - ups[0], 1, 'adjacent, not split by the other family')
})

t.test('a scraped sample that names exported_node itself keeps it, and still gets the real node label', async t => {
  const { text } = mergeSources([source('real', '# TYPE g gauge\ng{exported_node="fake",node="claimed"} 1\n')])
  t.match(text, 'g{exported_node="fake",node="real",role="gateway"} 1')
  t.notMatch(text, 'claimed')
})

t.test('no sources, or sources without families, give an empty exposition', async t => {
  t.same(mergeSources([]), { text: mergeSources([source('a', '')]).text, dropped: 0 })
  t.equal(parseExposition(mergeSources([source('a', '')]).text).families.length, 0)
})
