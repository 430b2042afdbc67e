import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

t.test('`hyperinfer --help` runs from the bin entry', async t => {
  const { stdout } = await run(process.execPath, ['client-cli/bin.js', '--help'])
  t.match(stdout, /Usage: hyperinfer/)
  t.match(stdout, /node <role>/)
})

t.test('an unknown role is a clear error', async t => {
  const err = await run(process.execPath, ['client-cli/bin.js', 'node', 'wizard']).catch(e => e)
  t.equal(err.code, 1)
  t.match(err.stderr, /INVALID_ARGUMENT.*unknown role "wizard"/)
})
