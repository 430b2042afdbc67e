import type { Test } from 'tap'
import { startProxy, type Proxy } from '../../client-cli/proxy-server.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import { startFakeOpenAI, type FakeServer } from '../../scripts/fakes/openai-server.js'
import type { FakeOptions } from '../../scripts/fakes/common.js'
import { createWebNode, type WebNode } from '../../services/web/role.js'
import { adminApproveNode, adminSetPlan } from '../../shared/schemas/auth.js'
import { createPlatform, untilServed, type Platform } from './platform.js'

export interface CompatMesh {
  platform: Platform
  fake: FakeServer
  web: WebNode
  proxy: Proxy
  /** A user's key (plan default). */
  key: string
  /** A user on the `tiny` plan: two requests an hour. */
  tinyKey: string
}

/**
 * auth + gateway + one worker on a fake OpenAI upstream, the web node, and a proxy on a mesh
 * client (no key of its own unless given), all on one testnet.
 */
export async function createCompatMesh (t: Test, opts: { fake?: FakeOptions, models?: string[], proxyKey?: 'user' | null } = {}): Promise<CompatMesh> {
  const platform = await createPlatform(t, {
    auth: {
      admins: ['root'],
      plans: { default: { requestsPerHour: 1000, tokensPerDay: 1_000_000 }, tiny: { requestsPerHour: 2, tokensPerDay: 1_000_000 } }
    }
  })
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI(opts.fake ?? {})
  t.teardown(() => fake.close())
  const models = opts.models ?? ['gpt-fake']
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: models })
  const root = await platform.user('root')
  const user = await platform.user('alice')
  const tiny = await platform.user('tina')
  const authClient = platform.gateway.node.client(platform.auth.node.publicKey)
  await authClient.call(adminSetPlan, { token: root.token, username: 'tina', plan: 'tiny' })
  // callers send keys only to gateways the auth node approved (already approved on a devnet-like mesh)
  await authClient.call(adminApproveNode, { token: root.token, role: 'gateway', publicKey: platform.gateway.node.publicKey.toString('hex') }).catch(() => {})
  await platform.gateway.accounts.waitForSeq(platform.auth.store.accounts.version - 1, 5_000).catch(() => {})
  for (const model of models) await untilServed(platform.gateway, model)

  const web = await createWebNode({ dataDir: platform.mesh.dir('web'), network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, config: { port: 0 }, refreshIntervalMs: 300 })
  platform.mesh.closeLater(() => web.close())
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  platform.mesh.closeLater(() => mesh.close())
  const proxy = await startProxy({ mesh, defaultKey: opts.proxyKey === null ? null : user.key.key, host: '127.0.0.1', port: 0 })
  platform.mesh.closeLater(() => proxy.close())
  return { platform, fake, web, proxy, key: user.key.key, tinyKey: tiny.key.key }
}
