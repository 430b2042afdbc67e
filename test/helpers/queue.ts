/** Helpers of the admission-queue tests (issue 13). */
import { startFakeOpenAI, type FakeServer } from '../../scripts/fakes/openai-server.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import type { InferResult } from '../../shared/schemas/gateway.js'
import type { RequestRecord } from '../../services/gateway/usage-log.js'
import type { GatewayNode } from '../../services/gateway/role.js'
import type { Platform } from './platform.js'

export const FAKE_MODEL = 'gpt-fake'
export const LONG_REPLY = Array.from({ length: 400 }, (_, i) => `word${i} `).join('')

export type Test = { teardown (fn: () => unknown): void }
export type Outcome = { ok: true, result: InferResult } | { ok: false, err: Error & { code: string, retryAfterMs?: number, details?: { limit?: string } } }

export function settle (p: Promise<InferResult>): Promise<Outcome> {
  return p.then(result => ({ ok: true as const, result }), err => ({ ok: false as const, err }))
}

export function caller (t: Test, platform: Platform) {
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  return { mesh, gateway: mesh.client(platform.gateway.node.publicKey) }
}

export async function fakeWorker (t: Test, platform: Platform, opts: { tokenDelayMs?: number, concurrency?: number } = {}): Promise<FakeServer> {
  const fake = await startFakeOpenAI({ tokenDelayMs: opts.tokenDelayMs ?? 0, reply: LONG_REPLY })
  t.teardown(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [FAKE_MODEL], concurrency: opts.concurrency ?? 1 })
  return fake
}

export async function records (gateway: GatewayNode): Promise<RequestRecord[]> {
  await gateway.usage.drain()
  const all: RequestRecord[] = []
  for await (const record of gateway.usage.requestsSince('2000-01-01')) all.push(record)
  return all
}

export async function metric (gateway: GatewayNode, name: string): Promise<string> {
  return gateway.node.registry.getSingleMetricAsString(name)
}

export async function queueDepth (gateway: GatewayNode, model: string): Promise<number> {
  const text = await metric(gateway, 'ai_platform_queue_depth')
  const match = text.match(new RegExp(`model="${model}"} (\\d+)`))
  return match ? Number(match[1]) : 0
}

