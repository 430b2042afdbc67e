import type { FastifyInstance } from 'fastify'
import { followRegistry } from '../../shared/accounts/node-access.js'
import type { AccountReplica } from '../../shared/accounts/replica.js'
import type { WebHealthDetails } from '../../shared/schemas/health-details.js'
import { defineRole, type StartedRole, type StartOptions } from '../../shared/role/define-role.js'
import { startRole } from '../../shared/role/start-role.js'
import type { WebContext } from './web-context.js'
import { buildWebApp } from './server.js'
import { RoleUpstream } from './role-upstream.js'

export interface WebHandles {
  readonly app: FastifyInstance
  /** Base URL, e.g. http://127.0.0.1:3000 */
  readonly url: string
  /** The replica of the accounts bee once open (null while no auth node was found). */
  readonly accounts: AccountReplica | null
}

/**
 * The dashboard: serves pages and a REST API over HTTP, calling the auth, gateway and metrics
 * nodes over RPC and reading plans and keys from its own account replica.
 */
export const webRole = defineRole<'web', WebHandles>({
  role: 'web',
  describe: 'serve the local dashboard (accounts, API keys, usage charts, mesh status) over HTTP',
  configSection: 'web',
  flags: {
    declare: cmd => cmd
      .option('--host <addr>', 'HTTP bind address (default 127.0.0.1); env WEB_SERVICE_HOST')
      .option('--port <port>', 'HTTP port (default 3000, 0 = any); env WEB_SERVICE_PORT'),
    toConfig: flags => ({
      'web.host': flags.host,
      'web.port': flags.port === undefined ? undefined : Number(flags.port)
    })
  },
  commandLine: {
    started (web) { process.stdout.write(`hyperinfer dashboard: ${web.url}\n`) }
  },
  async build (node, config, options) {
    // Only the gateway routes to workers: the dashboard's view of them needs no kill -9 cadence.
    for (const role of ['auth', 'gateway', 'inference', 'metrics'] as const) node.discovery.watch(role, { slowProbes: true })
    // The auth node may come up after us: the replica keeps trying in the background.
    const registry = followRegistry(node, options.authKey, config.discoveryTimeoutMs)
    const ctx: WebContext = {
      node,
      upstream: new RoleUpstream(node, config),
      accounts: () => registry.replica(),
      secureCookies: config.secureCookies
    }
    let app: FastifyInstance
    try {
      app = await buildWebApp(ctx)
      await app.listen({ host: config.host, port: config.port })
    } catch (err) {
      registry.close()
      throw err
    }
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : config.port
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
    node.log.info({ url }, `web: dashboard at ${url}`)
    return {
      methods: [],
      health: () => ({ details: { url, accountsReplica: registry.replica() !== null } satisfies WebHealthDetails }),
      handles: { app, url, get accounts () { return registry.replica() } } satisfies WebHandles,
      async close () {
        await app.close()
        registry.close()
      }
    }
  }
})

export type WebNode = StartedRole<WebHandles>

/** A web node in this process (tests). */
export function createWebNode (options: StartOptions<'web'>): Promise<WebNode> {
  return startRole(webRole, options)
}
