import { randomBytes } from 'node:crypto'
import { readDevnetInfo } from '../shared/config/network.js'
import { HyperinferError } from '../shared/errors.js'
import { parseBootstrapNode } from '../shared/mesh/dht.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { createKey, login, register } from '../shared/schemas/auth.js'
import { infer } from '../shared/schemas/gateway.js'
import { BUNDLED_MODEL_NAME } from './devnet-roles.js'
import { SOAK_GENERATION } from './soak-generation.js'

export interface LoadStats { sent: number, ok: number, failed: number, failures: string[] }

/** `rps` small inference requests a second through the devnet's gateway, as a user would send them. */
export function runLoad (home: string, rps: number): { stop (): Promise<LoadStats> } {
  const info = readDevnetInfo(home)
  if (!info) throw new Error(`no devnet file in ${home}`)
  const client = new MeshClient({ network: { name: info.network }, bootstrap: info.bootstrap.map(parseBootstrapNode) })
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0, failures: [] }
  let running = true
  const inFlight = new Set<Promise<void>>()
  const loop = (async () => {
    const [auth] = await client.discovery.waitFor('auth', { timeoutMs: 60_000 })
    const name = 'soak' + randomBytes(4).toString('hex')
    const password = randomBytes(12).toString('hex')
    const authClient = client.client(auth.publicKey)
    await authClient.call(register, { username: name, email: `${name}@example.com`, password })
    const { token } = await authClient.call(login, { login: name, password })
    const { key } = await authClient.call(createKey, { token, name: 'soak' })
    const [gateway] = await client.discovery.waitFor('gateway', { timeoutMs: 60_000 })
    client.discovery.unwatch('auth')
    client.discovery.unwatch('gateway')
    const gatewayClient = client.client(gateway.publicKey)
    while (running) {
      stats.sent++
      const request = gatewayClient.stream(infer, { apiKey: key, model: BUNDLED_MODEL_NAME, ...SOAK_GENERATION }, { firstChunkTimeoutMs: 30_000 }).result
        .then(() => { stats.ok++ }, (err: unknown) => {
          stats.failed++
          if (stats.failures.length < 20) stats.failures.push(err instanceof HyperinferError ? `${err.code}: ${err.message}` : String(err))
        })
      inFlight.add(request)
      void request.finally(() => inFlight.delete(request))
      await new Promise(resolve => setTimeout(resolve, 1000 / rps))
    }
  })().catch(err => {
    stats.failed++
    stats.failures.push(`setup: ${(err as Error).message}`)
  })
  return {
    async stop () {
      running = false
      await loop
      await Promise.allSettled([...inFlight])
      await client.close()
      return stats
    }
  }
}
