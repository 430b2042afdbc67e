import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { ROLE_ENV, ROLE_NODE_ARGS, roleLaunch } from '../shared/role/process-tuning.js'

const run = promisify(execFile)
const tuning = fileURLToPath(new URL('../shared/role/process-tuning.ts', import.meta.url))

// What a gateway does under a burst: a live set that stays, and short-lived records that outlive a
// young-generation collection or two (so they reach old space) before they become garbage.
const churn = (tuned: boolean): string => `
import { getHeapSpaceStatistics } from 'node:v8'
import { limitHeapGrowth } from ${JSON.stringify(tuning)}
if (${tuned}) limitHeapGrowth()
const space = name => getHeapSpaceStatistics().find(s => s.space_name === name).space_size
const live = []
for (let i = 0; i < 200_000; i++) live.push({ i, s: 'live' + i, t: [i] })
const ring = new Array(100_000)
let oldPeak = 0
let newPeak = 0
for (let i = 0; i < 4_000_000; i++) {
  ring[i % ring.length] = { a: i, b: [i, i], c: 'record' + i }
  if (i % 10_000 === 0) { oldPeak = Math.max(oldPeak, space('old_space')); newPeak = Math.max(newPeak, space('new_space')) }
}
console.log(JSON.stringify({ oldPeak, newPeak, live: live.length }))
`

async function measure (tuned: boolean, nodeArgs: readonly string[]): Promise<{ oldPeak: number, newPeak: number }> {
  const { stdout } = await run(process.execPath, [...nodeArgs, '--import=tsx', '--input-type=module', '-e', churn(tuned)], { timeout: 120_000 })
  return JSON.parse(stdout) as { oldPeak: number, newPeak: number }
}

t.test("a role's process keeps its heap near what is live: bounded old-space growth, 8 MB semi-spaces", async t => {
  const untuned = await measure(false, [])
  const tuned = await measure(true, ROLE_NODE_ARGS)
  const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`
  t.ok(tuned.oldPeak < untuned.oldPeak * 0.7, `old space peaks at ${mb(tuned.oldPeak)} tuned, ${mb(untuned.oldPeak)} with V8's defaults`)
  t.ok(tuned.newPeak <= 2 * 8 * 1048576, `young generation at most ${mb(tuned.newPeak)} (two 8 MB semi-spaces; ${mb(untuned.newPeak)} with V8's defaults)`)
})

t.test('a role-like process starts with the entry, the role flags, extra flags, then its own arguments, and the glibc settings under its environment', async t => {
  const launch = roleLaunch({ file: '/p/main.ts', execArgv: ['--import=tsx'] }, ['gateway', '--home', '/h'], { PATH: '/bin', MALLOC_ARENA_MAX: '4' }, ['--cpu-prof'])
  t.same(launch.args, ['--import=tsx', ...ROLE_NODE_ARGS, '--cpu-prof', '/p/main.ts', 'gateway', '--home', '/h'])
  t.same(launch.env, { ...ROLE_ENV, PATH: '/bin', MALLOC_ARENA_MAX: '4' }, 'what the caller sets wins over the defaults')
})
