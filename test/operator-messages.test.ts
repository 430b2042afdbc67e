import t from 'tap'
import pino from 'pino'
import { logUnapprovedWorkers } from '../services/gateway/unapproved-workers.js'
import { logApprovalState } from '../services/inference/approval-notice.js'
import { createInferenceNode } from '../services/inference/role.js'
import type { Logger } from '../shared/log.js'
import { warnWhenAlone } from '../shared/mesh/alone-warning.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { infer } from '../shared/schemas/gateway.js'
import { createTestMesh } from './helpers/mesh.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { createPlatform } from './helpers/platform.js'
import { until } from './helpers/until.js'

// The worker's backend is not what is tested here: a fake OpenAI upstream starts at once, where
// llama.cpp costs seconds per test process (its import and a forked binding self-test).
const MODEL = 'gpt-fake'

/** A real pino logger whose lines land in an array. */
function capture (): { log: Logger, messages: () => string[] } {
  const lines: string[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => { lines.push(line) } })
  return { log, messages: () => lines.map(line => (JSON.parse(line) as { msg: string }).msg) }
}

t.test('approval, told to the operator: worker waits then says approved; gateway tells once; MODEL_UNAVAILABLE names the unapproved worker', async t => {
  const platform = await createPlatform(t, { auth: { autoApproveWorkers: false }, pinned: true })
  const workerLog = capture()
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI()
  platform.mesh.closeLater(() => fake.close())
  const worker = await createInferenceNode({
    network: platform.mesh.network,
    bootstrap: platform.mesh.bootstrap,
    authKey: platform.auth.node.publicKey,
    refreshIntervalMs: 300,
    dataDir: platform.mesh.dir('worker'),
    log: workerLog.log,
    config: { openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] }
  })
  platform.mesh.closeLater(() => worker.close())
  const key = worker.publicKey.toString('hex')
  const notice = logApprovalState(worker.node)
  platform.mesh.closeLater(() => notice.close())
  t.ok(workerLog.messages().includes(`waiting for approval: run \`hyperinfer admin approve-worker ${key}\``), 'the worker names the exact command')

  const gatewayLog = capture()
  const told = logUnapprovedWorkers(() => platform.gateway.pool.unapproved(), gatewayLog.log, 60_000)
  t.teardown(() => told.close())
  const { key: apiKey } = await platform.user('carol')
  await until('the gateway sees the unapproved worker', async () => {
    await platform.gateway.pool.refresh()
    return platform.gateway.pool.unapproved().some(peer => peer.id === key)
  }, { timeoutMs: 20_000 })

  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  const gateway = mesh.client(platform.gateway.node.publicKey)
  const refused = gateway.stream(infer, { apiKey: apiKey.key, model: MODEL, prompt: 'Once', maxTokens: 4 })
  const err = await refused.result.then(() => null, (e: unknown) => e as { code: string, message: string, details?: { unapprovedWorkers?: string[] } })
  t.equal(err?.code, 'MODEL_UNAVAILABLE')
  t.match(err?.message, /served by 1 worker\(s\) that are not approved yet/, 'says the model is there but waits for approval')
  t.match(err?.message, new RegExp(`hyperinfer admin approve-worker ${key}`))

  const unapprovedLine = new RegExp(`^worker ${key} serves ${MODEL} but is not approved: run \`hyperinfer admin approve-worker ${key}\`$`)
  for (let round = 0; round < 3; round++) told.check()
  t.equal(gatewayLog.messages().filter(m => unapprovedLine.test(m)).length, 1, 'the gateway tells about each unapproved worker once')

  await platform.auth.store.setWorker(key, true, 'test operator')
  await until('the worker says it is approved', async () => workerLog.messages().some(m => m.startsWith('approved')), { timeoutMs: 20_000 })
  t.pass('the worker logged "approved" once the approval replicated')
  await platform.auth.store.setWorker(key, false, 'test operator')
  await until('the worker says its approval was revoked', async () => workerLog.messages().some(m => m.startsWith('approval revoked')), { timeoutMs: 20_000 })
  t.pass('and says so when it is revoked')
})

t.test('a node alone on its network says so and names --network-secret; it says when peers show up', async t => {
  const mesh = await createTestMesh(t, 'lonely')
  const loner = await mesh.node({ role: 'metrics' })
  const { log, messages } = capture()
  const alone = warnWhenAlone(loner.discovery, 'lonely', log, 1_000)
  t.teardown(() => alone.close())
  await until('the warning', async () => messages().includes('no peers found on network lonely after 1 s: check --network-secret (and --network, --bootstrap)'), { timeoutMs: 10_000 })
  t.pass('alone: warned')
  await mesh.node({ role: 'web' })
  await until('peers found', async () => messages().some(m => /^found 1 peer\(s\) on network lonely$/.test(m)), { timeoutMs: 10_000 })
  t.equal(messages().filter(m => m.startsWith('no peers found')).length, 1, 'the warning is said once')
})
