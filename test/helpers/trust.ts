import type { Test } from 'tap'
import { startFakeOpenAI } from '../../scripts/fakes/openai-server.js'
import { createPlatform, untilServed, type Platform } from './platform.js'

export const MODEL = 'gpt-fake'
export const SLOW_MODEL = 'slow/gpt-fake'
export const PASSWORD = 'correct horse battery'

/** A pinned platform with one worker in front of two fake OpenAI upstreams; the `slow/` one stalls after two tokens. */
export async function setup (t: Test): Promise<{ platform: Platform, worker: Awaited<ReturnType<Platform['worker']>>, requests: () => number }> {
  const platform = await createPlatform(t, { pinned: true })
  const fake = await startFakeOpenAI({ reply: 'Hello from the fake model, streamed in pieces.' })
  const stalled = await startFakeOpenAI({ hold: { index: 2, until: new Promise<void>(() => {}) } })
  t.teardown(() => Promise.all([fake.close(), stalled.close()]))
  const worker = await platform.worker({
    backends: [
      { type: 'openai', name: 'hosted', baseURL: `${fake.url}/v1`, apiKeyEnv: 'TRUST_FAKE_KEY', prefix: '', models: [MODEL] },
      { type: 'openai', name: 'slow', baseURL: `${stalled.url}/v1`, apiKeyEnv: 'TRUST_FAKE_KEY', prefix: 'slow/', models: [MODEL] }
    ]
  } as never)
  await untilServed(platform.gateway, MODEL)
  return { platform, worker, requests: () => fake.requests.length + stalled.requests.length }
}

process.env.TRUST_FAKE_KEY = 'sk-trust-test'
