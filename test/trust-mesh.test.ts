import t from 'tap'
import type { Test } from 'tap'
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HyperinferClient } from '../client-cli/client.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { MeshNode } from '../shared/mesh/mesh-node.js'
import { streaming, unary } from '../shared/mesh/rpc-server.js'
import { accountsInfo, approvedNodes, login, register } from '../shared/schemas/auth.js'
import { infer, models } from '../shared/schemas/gateway.js'
import { inferenceRun } from '../shared/schemas/inference.js'
import { writeDevnetInfo, readDevnetInfo } from '../shared/config/network.js'
import { runCli, writeTestDevnet } from './helpers/cli.js'
import { createPlatform } from './helpers/platform.js'
import { MODEL, PASSWORD, SLOW_MODEL, setup } from './helpers/trust.js'
import { until } from './helpers/until.js'

process.env.TRUST_FAKE_KEY = 'sk-trust-test'

t.test('a stranger gets no connection and no tokens from a worker; an approved non-gateway gets FORBIDDEN; the gateway is served', async t => {
  const { platform, worker, requests } = await setup(t)
  const before = requests()

  const stranger = await platform.mesh.node({ role: 'gateway', announce: false })
  const refused = await stranger.client(worker.publicKey).stream(inferenceRun, { model: MODEL, prompt: 'free tokens please', maxTokens: 16 }, { idleTimeoutMs: 3_000 }).result.catch(err => err)
  t.ok(refused instanceof Error, `the stranger's call failed (${refused?.code}: ${refused?.message})`)
  t.not(refused?.code, undefined)
  for (let i = 0; i < 2; i++) {
    const again = await stranger.client(worker.publicKey).stream(inferenceRun, { model: MODEL, prompt: 'free tokens please', maxTokens: 16 }, { idleTimeoutMs: 2_000 }).result.catch(err => err)
    t.ok(again instanceof Error, `attempt ${i + 2} refused too`)
  }

  const web = await platform.mesh.node({ role: 'web', announce: false })
  await platform.auth.store.setNode('web', web.publicKey.toString('hex'), true, 'test')
  // Until the web node's approval reaches the worker, the firewall refuses it (another code).
  const forbidden = await until('the approved web node to pass the firewall and be refused inference.run', async () => {
    const outcome: { code?: string, message?: string } = await web.client(worker.publicKey).stream(inferenceRun, { model: MODEL, prompt: 'also free?', maxTokens: 16 }, { idleTimeoutMs: 2_000 }).result.then(() => ({ code: 'SERVED' }), err => err)
    return (outcome.code === 'FORBIDDEN' || outcome.code === 'SERVED') && outcome
  }, { timeoutMs: 10_000, everyMs: 100 })
  t.equal(forbidden.code, 'FORBIDDEN', 'an approved web node passes the firewall but may not call inference.run')
  t.match(forbidden.message, /only for approved gateway nodes/, 'the error names the missing role')
  t.equal(requests(), before, 'no request reached the upstream: no tokens for anyone but a gateway')

  const { key } = await platform.user('alice')
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, authKey: platform.auth.node.publicKey })
  const client = new HyperinferClient({ apiKey: key.key, mesh })
  t.teardown(() => Promise.all([client.close(), mesh.close()]))
  const served = await client.infer({ model: MODEL, prompt: 'hello' })
  t.match(served.text, /Hello from the fake model/, 'the approved gateway is served')
  t.equal(requests(), before + 1)
})

t.test("a revoked gateway's stream in flight ends with FORBIDDEN within 1 s, and it is refused from then on", async t => {
  const { platform, worker } = await setup(t)
  const gw = await platform.mesh.node({ role: 'gateway', announce: false })
  const gwKey = gw.publicKey.toString('hex')
  await platform.auth.store.setNode('gateway', gwKey, true, 'test')

  // The approval may still be replicating to the worker: retry until the stream starts.
  const { stream, first } = await until('the approved gateway\'s stream to start', async () => {
    const attempt = gw.client(worker.publicKey).stream(inferenceRun, { model: SLOW_MODEL, prompt: 'tell me a long story', maxTokens: 64 }, { idleTimeoutMs: 60_000 })
    const next = await attempt[Symbol.asyncIterator]().next().catch(() => null)
    return next !== null && { stream: attempt, first: next }
  }, { timeoutMs: 10_000, everyMs: 100 })
  t.ok(first.value?.text, 'first token arrived; the upstream now stalls')

  await platform.auth.store.setNode('gateway', gwKey, false, 'test')
  const ended = await Promise.race([
    stream.result.then(() => 'finished normally', err => err),
    new Promise(resolve => setTimeout(() => resolve('still running after 1 s'), 1_000).unref())
  ])
  t.equal((ended as { code?: string }).code, 'FORBIDDEN', `the stream ended with FORBIDDEN: ${(ended as Error).message ?? ended}`)

  const next = await gw.client(worker.publicKey).stream(inferenceRun, { model: MODEL, prompt: 'again', maxTokens: 8 }, { idleTimeoutMs: 3_000 }).result.catch(err => err)
  t.ok(next instanceof Error, `a new call is refused (${next?.code})`)
})

t.test('files under a fresh data dir are 0600 and dirs 0700; loose modes are repaired at start', async t => {
  const platform = await createPlatform(t, { pinned: true })
  const dir = platform.auth.node.dataDir
  const loose = (root: string): string[] => {
    const found: string[] = []
    const visit = (path: string): void => {
      const stat = statSync(path)
      const mode = stat.mode & 0o777
      if (stat.isDirectory()) {
        if (mode !== 0o700) found.push(`${path} ${mode.toString(8)}`)
        for (const name of readdirSync(path)) visit(join(path, name))
      } else if (mode !== 0o600) {
        found.push(`${path} ${mode.toString(8)}`)
      }
    }
    visit(root)
    return found
  }
  const files = readdirSync(dir, { recursive: true })
  t.ok(files.some(name => String(name).endsWith('jwt-secret')), 'the session secret is there')
  t.ok(files.some(name => String(name).includes('corestore')), 'the corestore (identity key, password hashes) is there')
  t.same(loose(dir), [], 'the auth node\'s data dir: files 0600, dirs 0700')
  t.same(loose(platform.gateway.node.dataDir), [], 'the gateway\'s data dir too')

  const old = mkdtempSync(join(tmpdir(), 'hyperinfer-old-modes-'))
  t.teardown(() => rmSync(old, { recursive: true, force: true }))
  chmodSync(old, 0o755)
  writeFileSync(join(old, 'left-by-an-old-version'), 'secret', { mode: 0o644 })
  chmodSync(join(old, 'left-by-an-old-version'), 0o644)
  const reopened = new MeshNode({ role: 'web', dataDir: old, network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  await reopened.open()
  await reopened.close()
  t.same(loose(old), [], 'an old data dir is repaired when a node starts on it')
})
