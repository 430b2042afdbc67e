import { join } from 'node:path'
import { createAuthNode, type AuthNode } from '../../services/auth/role.js'
import { createGatewayNode, type GatewayNode } from '../../services/gateway/role.js'
import { createInferenceNode, type InferenceNode } from '../../services/inference/role.js'
import type { AuthConfig } from '../../shared/config/auth.js'
import type { GatewayConfig } from '../../shared/config/gateway.js'
import type { InferenceConfig } from '../../shared/config/inference.js'
import { createdKey, createKey, login, register } from '../../shared/schemas/auth.js'
import type { z } from 'zod'
import { createTestMesh, type TestMesh } from './mesh.js'
import { until } from './until.js'

export const BUNDLED_MODEL = join(import.meta.dirname, '..', '..', '..', 'shared', 'models', 'stories260K.gguf')

export interface Platform {
  mesh: TestMesh
  auth: AuthNode
  gateway: GatewayNode
  worker (inference: Partial<InferenceConfig>, dataDir?: string): Promise<InferenceNode>
  /** Registers a user, logs in and creates an API key. */
  user (name: string): Promise<{ token: string, key: z.output<typeof createdKey>, userId: string }>
}

interface Teardown { teardown (fn: () => unknown): void }

/** auth + gateway on a fresh testnet; workers on demand. Closed at teardown. */
export async function createPlatform (t: Teardown, opts: { auth?: Partial<AuthConfig>, gateway?: Partial<GatewayConfig>, pinned?: boolean } = {}): Promise<Platform> {
  const mesh = await createTestMesh(t)
  const base = { network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 300 }
  const auth = await createAuthNode({ ...base, dataDir: mesh.dir('auth'), config: { scrypt: { N: 1024, r: 8, p: 1 }, autoApproveWorkers: true, ...opts.auth } })
  mesh.closeLater(() => auth.close())
  // pinned: every node pins the auth node and checks its callers; the gateway is approved as an operator would.
  const authKey = opts.pinned ? auth.node.publicKey : undefined
  const gateway = await createGatewayNode({ ...base, authKey, dataDir: mesh.dir('gateway'), config: { discoveryIntervalMs: 300, ...opts.gateway } })
  mesh.closeLater(() => gateway.close())
  if (opts.pinned) await auth.store.setNode('gateway', gateway.node.publicKey.toString('hex'), true, 'test operator')
  const authClient = gateway.node.client(auth.node.publicKey)
  return {
    mesh,
    auth,
    gateway,
    async worker (inference, dataDir = mesh.dir('worker')) {
      const worker = await createInferenceNode({ ...base, authKey, dataDir, config: inference })
      mesh.closeLater(() => worker.close())
      return worker
    },
    async user (name) {
      const user = await authClient.call(register, { username: name, email: `${name}@example.com`, password: 'correct horse battery' })
      const { token } = await authClient.call(login, { login: name, password: 'correct horse battery' })
      const key = await authClient.call(createKey, { token, name: 'test key' })
      await gateway.accounts.waitForSeq(auth.store.accounts.version - 1, 5_000).catch(() => {})
      return { token, key, userId: user.id }
    }
  }
}

/** Waits until the gateway routes `model` (the worker was found, probed and approved). */
export async function untilServed (gateway: GatewayNode, model: string, timeoutMs = 15_000): Promise<void> {
  await until(`the gateway to route ${model}`, async () => {
    if (gateway.pool.candidates(model).length > 0) return true
    await gateway.pool.refresh()
    return gateway.pool.candidates(model).length > 0
  }, { timeoutMs, on: [[gateway.pool, 'room']] })
}
