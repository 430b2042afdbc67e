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
import type { Platform } from './helpers/platform.js'
import { MODEL, PASSWORD, SLOW_MODEL, setup } from './helpers/trust.js'

// In a file of its own: after two other platforms in the same process a fresh CLI's first dials
// to this platform's gateway stalled (see cli-queued-notice.test.ts).

/** Nodes that announce on the gateway and auth topics and keep whatever they are sent. */
async function startRogues (platform: Platform): Promise<{ captured: string[], gateway: MeshNode, auth: MeshNode }> {
  const captured: string[] = []
  const gateway = await platform.mesh.node({
    role: 'gateway',
    methods: [
      streaming(infer, async function * (req) {
        captured.push(`gateway got key ${req.apiKey} and prompt ${req.prompt ?? JSON.stringify(req.messages)}`)
        yield { text: 'stolen' }
        return { requestId: 'x', model: req.model, worker: null, text: 'stolen', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, finishReason: 'stop', latencyMs: 1, recorded: false } as never
      }),
      unary(models, req => { captured.push(`gateway got models ${JSON.stringify(req)}`); return { models: [] } as never })
    ]
  })
  const auth = await platform.mesh.node({
    role: 'auth',
    methods: [
      unary(login, req => { captured.push(`auth got password ${req.password}`); throw new Error('rogue') }),
      unary(register, req => { captured.push(`auth got password ${req.password}`); throw new Error('rogue') }),
      unary(approvedNodes, ({ role }) => ({ role, publicKeys: [gateway.publicKey.toString('hex')] })),
      unary(accountsInfo, () => { captured.push('auth was asked for the accounts key'); return { key: gateway.publicKey.toString('hex'), length: 1 } })
    ]
  })
  return { captured, gateway, auth }
}

t.test('a rogue gateway and a rogue auth on the topics get nothing from the client library or the CLI; real traffic succeeds', async t => {
  const { platform } = await setup(t)
  const rogues = await startRogues(platform)
  const { key } = await platform.user('bob')

  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, authKey: platform.auth.node.publicKey, refreshIntervalMs: 300 })
  const client = new HyperinferClient({ apiKey: key.key, mesh })
  t.teardown(() => Promise.all([client.close(), mesh.close()]))
  const gateways = await mesh.discovery.waitFor('gateway', { count: 2, timeoutMs: 15_000 })
  t.ok(gateways.some(peer => peer.publicKey.equals(rogues.gateway.publicKey)), 'the rogue gateway is up on the topic, as an attacker would be')
  const auths = await mesh.discovery.waitFor('auth', { count: 2, timeoutMs: 15_000 })
  t.ok(auths.some(peer => peer.publicKey.equals(rogues.auth.publicKey)), 'the rogue auth is up on the topic')

  for (let i = 0; i < 12; i++) {
    const result = await client.infer({ model: MODEL, prompt: `library request ${i}` })
    t.match(result.text, /Hello from the fake model/, `library request ${i} served by the real gateway`)
  }
  t.ok((await client.models()).models.some(m => m.name === MODEL), 'models from the real gateway')

  const home = mkdtempSync(join(tmpdir(), 'hyperinfer-trust-cli-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  writeTestDevnet(home, platform.mesh.network.name, platform.mesh.bootstrap)
  writeDevnetInfo(home, { ...readDevnetInfo(home)!, authKey: platform.auth.node.publicKey.toString('hex') })
  const cli = { home, configDir: join(home, 'config') }
  // A fresh CLI process's first dials on a loopback testnet sometimes all stall (the open first-dial
  // issue of the session note): a command that found nothing to talk to (UNAVAILABLE) is run again,
  // at most 3 times. What is asserted is unchanged: it succeeds, and the rogues get nothing.
  const runServed = async (args: string[], opts: Parameters<typeof runCli>[1]) => {
    let result = await runCli(args, opts)
    for (let tries = 1; tries < 3 && result.code !== 0 && /UNAVAILABLE/.test(result.stderr + result.stdout); tries++) result = await runCli(args, opts)
    return result
  }
  for (let i = 0; i < 1; i++) {
    const logged = await runServed(['login', '--username', 'bob', '--password-stdin'], { ...cli, input: PASSWORD + '\n' })
    t.equal(logged.code, 0, `CLI login ${i} succeeds: ${logged.stderr}`)
  }
  for (let i = 0; i < 2; i++) {
    const run = await runServed(['infer', '-m', MODEL, '--api-key', key.key, `cli request ${i}`], cli)
    t.equal(run.code, 0, `CLI infer ${i} succeeds: ${run.stderr}`)
    t.match(run.stdout, /Hello from the fake model/)
  }

  t.same(rogues.captured, [], 'the rogues received no key, prompt or password')
})
