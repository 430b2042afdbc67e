import t from 'tap'
import { spawnSync } from 'node:child_process'
import { runLab } from '../scripts/lab/lab.js'
import { LAB_PREFIX, labUnavailableReason, listLabNamespaces } from '../scripts/lab/netns.js'

// Namespaces, NAT routers and a dozen processes on 2 cores: longer than the per-file default.
t.setTimeout(900_000)

const why = labUnavailableReason()
if (why) {
  t.plan(0, `network lab skipped: ${why}`)
} else {
  const ours = (): string[] => listLabNamespaces().filter(ns => ns.startsWith(`${LAB_PREFIX}-${process.pid}-`))
  t.teardown(() => { for (const ns of ours()) spawnSync('ip', ['netns', 'del', ns]) })

  t.test('a mesh across a LAN and two NATs: the six operator scenarios', async t => {
    const lines: string[] = []
    const report = await runLab({ log: line => { lines.push(line) } })
    t.comment(lines.join('\n'))
    t.same(report.notes.filter(note => note.startsWith('lab aborted')), [], 'the lab ran to the end')

    t.ok(report.isolation, 'isolation checked')
    t.same(report.isolation?.routesOut, [], 'no namespace of the lab has a route out of it')
    t.equal(report.isolation?.natInbound, 'dropped', 'a NAT router drops unsolicited inbound connections')
    t.not(report.isolation?.behindNat, 'open', 'a host behind NAT cannot be dialled from the LAN')

    const scenario = (n: number) => report.scenarios.find(s => s.n === n)
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const s = scenario(n)
      t.ok(s?.ok, `scenario ${n}: ${s ? `${s.name}: ${s.detail}` : 'did not run'}`)
    }
    t.ok(report.figures.firstTokenLanMs.length > 0 && report.figures.firstTokenNatMs.length > 0, 'first-token latency measured on LAN and through NAT')
    t.same(ours(), [], 'the lab removed its namespaces')
  })
}
