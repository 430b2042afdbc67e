import t from 'tap'
import { Supervisor } from '../scripts/devnet-supervisor.js'

t.test('a role that keeps crashing is restarted 5 times in a minute, then reported failed', async t => {
  const lines: string[] = []
  const supervisor = new Supervisor({ initialBackoffMs: 10, maxBackoffMs: 50, log: line => { lines.push(line) } })
  t.teardown(() => supervisor.stop())
  const starts: number[] = []
  supervisor.on('start', (_name: string, pid: number) => { starts.push(pid) })
  const failed = new Promise<string>(resolve => supervisor.once('failed', resolve))
  supervisor.start({ name: 'crasher', command: process.execPath, args: ['-e', 'process.exit(3)'], cwd: process.cwd(), env: process.env })
  t.equal(await failed, 'crasher')
  t.equal(starts.length, 6, 'the first start plus 5 restarts')
  t.same(supervisor.failed, ['crasher'])
  t.match(lines.at(-1), /restarted 5 times in the last 60 s; leaving it down \(FAILED\)/, 'says so')
  t.match(lines[0], /crasher exited \(3\); restarting in \d+ ms \(restart 1 of 5 a minute\)/, 'each restart is announced with its wait')
})

t.test('a stopped supervisor restarts nothing', async t => {
  const supervisor = new Supervisor({ initialBackoffMs: 10, log: () => {} })
  let starts = 0
  supervisor.on('start', () => { starts++ })
  supervisor.start({ name: 'sleeper', command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)'], cwd: process.cwd(), env: process.env })
  await supervisor.stop(5_000)
  t.equal(starts, 1, 'SIGTERM on stop is not a crash')
  t.same(supervisor.failed, [])
})
