import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDevnet } from './helpers/devnet.js'

// One start by default (the file has 180 s); DEVNET_BUSY_STARTS=10 for the 10 of 10.
t.test('the devnet comes up beside 4 CPU-burning processes', async t => {
  const burners: ChildProcess[] = []
  t.teardown(() => { for (const burner of burners) burner.kill('SIGKILL') })
  // Each burner stops by itself after 5 minutes, so none outlives a test that was killed before its teardown.
  const burn = 'const end = Date.now() + 300000; while (Date.now() < end) {}'
  for (let i = 0; i < 4; i++) burners.push(spawn(process.execPath, ['-e', burn], { stdio: 'ignore' }))
  const starts = Number(process.env.DEVNET_BUSY_STARTS ?? 1)
  for (let i = 1; i <= starts; i++) {
    const home = mkdtempSync(join(tmpdir(), 'hyperinfer-busy-'))
    const devnet = await startDevnet(home)
    try {
      await devnet.printed('devnet is ready', 170_000)
      t.pass(`start ${i} of ${starts}: ready`)
      t.notMatch(devnet.output(), /exited \(/, `start ${i}: no role exited on the way up`)
      t.equal(await devnet.stop(), 'exit 0', `start ${i}: stops cleanly`)
    } finally {
      await devnet.stop()
      rmSync(home, { recursive: true, force: true })
    }
  }
})
