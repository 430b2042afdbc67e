import type { FastifyInstance } from 'fastify'
import { accessFor } from '../../shared/accounts/node-access.js'
import { AccountReplica } from '../../shared/accounts/replica.js'
import { webSection, type WebConfig } from '../../shared/config/web.js'
import type { Logger } from '../../shared/log.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { NetworkId } from '../../shared/mesh/topic.js'
import type { WebContext } from './context.js'
import { buildWebApp } from './server.js'
import { Upstream } from './upstream.js'

export interface WebNodeOptions extends Partial<WebConfig> {
  /** The pinned auth node (network.authKey): passwords and sessions go to it alone, prompts to gateways it approved. */
  authKey?: Buffer
  dataDir: string
  network: NetworkId
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  log?: Logger
  /** How often discovery looks for and probes the other roles. */
  refreshIntervalMs?: number
}

export interface WebNode {
  readonly node: MeshNode
  readonly app: FastifyInstance
  /** Base URL, e.g. http://127.0.0.1:3000 */
  readonly url: string
  /** The replica of the accounts bee once open (null while no auth node was found). */
  readonly accounts: AccountReplica | null
  close (): Promise<void>
}

const ACCOUNTS_RETRY_MS = 2_000

/**
 * The dashboard: a mesh node (role `web`) that serves pages and a REST API over HTTP, calling the
 * auth, gateway and metrics nodes over RPC and reading plans and keys from its own account replica.
 */
export async function createWebNode (options: WebNodeOptions): Promise<WebNode> {
  const config = webSection.parse(Object.fromEntries(Object.entries({
    host: options.host, port: options.port, callTimeoutMs: options.callTimeoutMs, discoveryTimeoutMs: options.discoveryTimeoutMs, secureCookies: options.secureCookies
  }).filter(([, v]) => v !== undefined)))
  const node = new MeshNode({
    role: 'web',
    access: accessFor(options.authKey),
    authKey: options.authKey,
    dataDir: options.dataDir,
    network: options.network,
    bootstrap: options.bootstrap,
    publicNetwork: options.publicNetwork,
    log: options.log,
    refreshIntervalMs: options.refreshIntervalMs,
    healthCheck: () => ({ details: { url, accountsReplica: accounts !== null } })
  })
  let url = ''
  let accounts: AccountReplica | null = null
  let closed = false
  await node.open()
  for (const role of ['auth', 'gateway', 'inference', 'metrics'] as const) node.discovery.watch(role)

  // The auth node may come up after us: keep trying to open the replica in the background.
  let retry: NodeJS.Timeout | null = null
  const openAccounts = (): void => {
    const replica = new AccountReplica(node, { timeoutMs: config.discoveryTimeoutMs, authKey: options.authKey })
    replica.open().then(open => {
      if (closed) return open.close()
      accounts = open
      node.access.attach(open.nodes)
    }, (err: Error) => {
      if (closed) return
      node.log.debug({ err: err.message }, 'accounts replica not open yet; retrying')
      retry = setTimeout(openAccounts, ACCOUNTS_RETRY_MS)
      retry.unref()
    })
  }
  openAccounts()

  const ctx: WebContext = {
    node,
    upstream: new Upstream(node, config),
    accounts: () => accounts,
    secureCookies: config.secureCookies
  }
  let app: FastifyInstance
  try {
    app = await buildWebApp(ctx)
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    closed = true
    await node.close()
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  node.log.info({ url }, `web: dashboard at ${url}`)

  let closing: Promise<void> | null = null
  return {
    node,
    app,
    url,
    get accounts () { return accounts },
    close () {
      closing ??= (async () => {
        closed = true
        if (retry) clearTimeout(retry)
        await app.close()
        accounts?.close()
        await node.close()
      })()
      return closing
    }
  }
}
