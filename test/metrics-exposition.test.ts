import t from 'tap'
import { parseExposition, parseSample } from '../services/metrics/exposition.js'
import { mergeSources } from '../services/metrics/merge.js'

const NODE_A = `# HELP ai_platform_requests_total Requests
# TYPE ai_platform_requests_total counter
ai_platform_requests_total{service="gateway",method="infer",status="OK"} 3
ai_platform_requests_total{service="gateway",method="infer",status="RATE_LIMITED"} 1
# HELP ai_platform_request_duration_seconds Time
# TYPE ai_platform_request_duration_seconds histogram
ai_platform_request_duration_seconds_bucket{le="0.1",method="infer"} 2
ai_platform_request_duration_seconds_bucket{le="+Inf",method="infer"} 4
ai_platform_request_duration_seconds_sum{method="infer"} 0.5
ai_platform_request_duration_seconds_count{method="infer"} 4
`

t.test('parses families, label escapes, special floats and timestamps', async t => {
  const { families, skipped } = parseExposition(NODE_A + 'odd{msg="a \\"quoted\\" \\\\ value\\nnext",} NaN 1700000000000\nneg -Inf\n')
  t.equal(skipped, 0)
  t.same(families.map(f => [f.name, f.type, f.samples.length]), [
    ['ai_platform_requests_total', 'counter', 2],
    ['ai_platform_request_duration_seconds', 'histogram', 4],
    ['odd', 'untyped', 1],
    ['neg', 'untyped', 1]
  ])
  t.same(families[2].samples[0], { name: 'odd', labels: [['msg', 'a "quoted" \\ value\nnext']], value: 'NaN', timestamp: '1700000000000' })
})

t.test('garbage lines are skipped and counted, never passed on', async t => {
  const garbage = [
    'not a metric line at all {{{',
    'x{a="unterminated} 1',
    'x{a="1",a="2"} 1',
    'x{__name__="y"} 1',
    'x 12abc',
    'x 1 2 3',
    '# TYPE y frobnicator',
    '# TYPE ai_platform_requests_total gauge',
    'ai_platform_request_duration_seconds_bucket{method="x"} 1',
    '# HELP ai_platform_requests_total twice'
  ].join('\n')
  const { families, skipped } = parseExposition(NODE_A + garbage + '\nfine 1\n')
  t.equal(skipped, 10, 'every bad line counted')
  t.same(families.map(f => f.name), ['ai_platform_requests_total', 'ai_platform_request_duration_seconds', 'fine'])
  t.equal(families[0].type, 'counter', 'a later TYPE does not retype a family')
  t.equal(parseSample(''), null)
})

t.test('merge: HELP/TYPE once, node and role labels, conflicts dropped', async t => {
  const a = parseExposition(NODE_A).families
  const b = parseExposition(NODE_A.replace(/ 3\n/, ' 7\n')).families
  const liar = parseExposition('# TYPE ai_platform_requests_total gauge\nai_platform_requests_total 1\n# TYPE spoof gauge\nspoof{node="aaaa",role="auth"} 1\n').families
  const own = parseExposition('# TYPE ai_platform_node_up gauge\nai_platform_node_up{node="bbbb",role="inference"} 0\n').families
  const { text, dropped } = mergeSources([
    { node: 'self', role: 'metrics', families: own, honorLabels: true },
    { node: 'aaaa', role: 'gateway', families: a },
    { node: 'bbbb', role: 'gateway', families: b },
    { node: 'cccc', role: 'web', families: liar }
  ])
  t.equal(dropped, 1, 'the counter retyped as gauge by one node is dropped')
  t.equal(text.match(/# TYPE ai_platform_requests_total /g)?.length, 1, 'TYPE once')
  t.equal(text.match(/# HELP ai_platform_requests_total /g)?.length, 1, 'HELP once')
  t.match(text, 'ai_platform_requests_total{service="gateway",method="infer",status="OK",node="aaaa",role="gateway"} 3')
  t.match(text, 'ai_platform_requests_total{service="gateway",method="infer",status="OK",node="bbbb",role="gateway"} 7')
  t.match(text, 'spoof{exported_node="aaaa",exported_role="auth",node="cccc",role="web"} 1', 'a node cannot claim another node\'s labels')
  t.match(text, 'ai_platform_node_up{node="bbbb",role="inference"} 0', 'own families keep their target labels')
  const reparsed = parseExposition(text)
  t.equal(reparsed.skipped, 0, 'merged output parses again')
  t.equal(reparsed.families.find(f => f.name === 'ai_platform_request_duration_seconds')?.samples.length, 8)
})
