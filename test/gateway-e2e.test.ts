import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HyperinferClient } from '../client-cli/client.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { adminApproveWorker, login, register, revokeKey } from '../shared/schemas/auth.js'
import { infer } from '../shared/schemas/gateway.js'
import { runCli, writeTestDevnet } from './helpers/cli.js'
import { BUNDLED_MODEL, createPlatform, untilServed } from './helpers/platform.js'
import { until } from './helpers/until.js'

const MODEL = 'stories260K'

t.test('register -> key -> `hyperinfer infer` streams the real model; usage and quota reflect it; revocation', async t => {
  const platform = await createPlatform(t)
  await platform.worker({ llamaModel: BUNDLED_MODEL })
  await untilServed(platform.gateway, MODEL)
  const { key, token } = await platform.user('alice')

  const home = mkdtempSync(join(tmpdir(), 'hyperinfer-cli-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  writeTestDevnet(home, platform.mesh.network.name, platform.mesh.bootstrap)
  const cli = { home, configDir: join(home, 'config') }

  const streamed = await runCli(['infer', '-m', MODEL, '--temperature', '0', '--max-tokens', '24', '--api-key', key.key, 'Once upon a time'], cli)
  t.equal(streamed.code, 0, streamed.stderr)
  t.match(streamed.stdout, /there was a little girl named Lily/, 'the real model\'s greedy continuation')
  t.match(streamed.stderr, /prompt \+ \d+ completion tokens/, 'usage summary on stderr')

  const asJson = await runCli(['--json', 'infer', '-m', MODEL, '--temperature', '0', '--max-tokens', '8', '--api-key', key.key], { ...cli, input: 'Once upon a time\n' })
  t.equal(asJson.code, 0, asJson.stderr)
  const result = asJson.json()
  t.equal(result.recorded, true)
  t.ok(result.usage.completionTokens > 0 && result.usage.completionTokens <= 8)

  const client = new HyperinferClient({ apiKey: key.key, home })
  t.teardown(() => client.close())
  const quota = await client.quota()
  t.equal(quota.requests.used, 2, 'two requests counted')
  t.equal(quota.requests.limit, 100)
  const usage = await client.usage({ days: 1, recent: 5 })
  t.equal(usage.days.length, 1)
  t.equal(usage.days[0].requests, 2)
  t.equal(usage.days[0].models[MODEL].requests, 2)
  t.equal(quota.tokens.used, usage.days[0].promptTokens + usage.days[0].completionTokens, 'quota used = tokens billed')
  t.equal(usage.recent.length, 2)
  t.equal(usage.recent[0].status, 'OK')

  const models = await client.models()
  t.same(models.models.map(m => m.name), [MODEL])

  const usageCli = await runCli(['usage', '--api-key', key.key], cli)
  t.match(usageCli.stdout, new RegExp(`${MODEL}\\s+2`))

  // Revocation reaches the gateway's replica by replication, no RPC hop.
  const authClient = platform.gateway.node.client(platform.auth.node.publicKey)
  await authClient.call(revokeKey, { token, keyId: key.id })
  const revokedAt = Date.now()
  const refusal = await until('the revoked key to be refused', async () => {
    const err = await client.quota().then(() => null, (e: { code?: string }) => e)
    return err?.code === 'UNAUTHENTICATED' && err
  }, { timeoutMs: 5_000, everyMs: 20 })
  t.match(refusal, { message: /revoked/ }, 'refused as revoked, not as unknown')
  t.ok(Date.now() - revokedAt < 1_000, `refused within 1 s (${Date.now() - revokedAt} ms)`)
  await t.rejects(client.infer({ model: MODEL, prompt: 'x', maxTokens: 2 }).result, { code: 'UNAUTHENTICATED' })
})

t.test('an unapproved worker never receives a request', async t => {
  const platform = await createPlatform(t, { auth: { autoApproveWorkers: false, admins: ['root'] } })
  const worker = await platform.worker({ llamaModel: BUNDLED_MODEL })
  const { key } = await platform.user('bob')
  await platform.gateway.node.discovery.waitFor('inference')
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  const gateway = mesh.client(platform.gateway.node.publicKey)

  const refused = gateway.stream(infer, { apiKey: key.key, model: MODEL, prompt: 'Once', maxTokens: 4 })
  await t.rejects(refused.result, { code: 'MODEL_UNAVAILABLE' })
  const runs = await worker.node.registry.getSingleMetricAsString('ai_platform_requests_total')
  t.notMatch(runs, /method="inference.run"/, 'the worker saw no inference.run')

  const authClient = platform.gateway.node.client(platform.auth.node.publicKey)
  await authClient.call(register, { username: 'root', email: 'root@example.com', password: 'correct horse battery' })
  const { token } = await authClient.call(login, { login: 'root', password: 'correct horse battery' })
  await authClient.call(adminApproveWorker, { token, publicKey: worker.publicKey.toString('hex') })
  await untilServed(platform.gateway, MODEL)
  const ok = gateway.stream(infer, { apiKey: key.key, model: MODEL, prompt: 'Once upon a time', maxTokens: 4, temperature: 0 })
  t.equal((await ok.result).usage.completionTokens > 0, true, 'served once approved')
})
