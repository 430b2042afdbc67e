import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { HyperinferError } from '../errors.js'
import { formatBootstrap, parseBootstrapNode, type BootstrapNode } from '../mesh/dht.js'
import type { NetworkId } from '../mesh/topic.js'
import type { Config } from './load-config.js'

export interface DevnetInfo {
  network: string
  bootstrap: string[]
  pid: number
  startedAt: string
  /** Written by the devnet's auth node once it runs: the key every other node and client pins. */
  authKey?: string
  accountsKey?: string
}

export function devnetFile (home: string): string {
  return join(home, 'devnet.json')
}

export function writeDevnetInfo (home: string, info: DevnetInfo): void {
  mkdirSync(home, { recursive: true })
  // Atomic: the auth node rewrites this file while the other roles start and read it; a reader
  // that caught it half written crashed with "Unexpected end of JSON input".
  const temp = `${devnetFile(home)}.${process.pid}.tmp`
  writeFileSync(temp, JSON.stringify(info, null, 2) + '\n')
  renameSync(temp, devnetFile(home))
}

export function readDevnetInfo (home: string): DevnetInfo | null {
  const file = devnetFile(home)
  if (!existsSync(file)) return null
  return JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo
}

export interface MeshAddress {
  network: NetworkId
  bootstrap?: BootstrapNode[]
  publicNetwork: boolean
  /** The pinned auth node (see network.authKey). */
  authKey?: Buffer
  /** The mesh is the local devnet written in the home dir. */
  devnet?: boolean
}

/**
 * Where the mesh is: the public network only when named, else the configured bootstrap list,
 * else the devnet written in the home dir. Never an implicit default.
 */
export function resolveMesh (config: Config): MeshAddress {
  const network: NetworkId = { name: config.network.name, secret: config.network.secret }
  const authKey = config.network.authKey ? Buffer.from(config.network.authKey, 'hex') : undefined
  if (config.network.public) return { network, publicNetwork: true, authKey }
  if (config.network.bootstrap.length > 0) {
    return { network, bootstrap: config.network.bootstrap.map(parseBootstrapNode), publicNetwork: false, authKey }
  }
  const devnet = readDevnetInfo(config.home)
  if (devnet) {
    const pinned = authKey ?? (devnet.authKey ? Buffer.from(devnet.authKey, 'hex') : undefined)
    return { network: { ...network, name: devnet.network }, bootstrap: devnet.bootstrap.map(parseBootstrapNode), publicNetwork: false, authKey: pinned, devnet: true }
  }
  throw new HyperinferError('UNAVAILABLE',
    `no mesh to join: no --bootstrap was given and ${devnetFile(config.home)} does not exist. ` +
    'Pass --join <string from `hyperinfer init`>, or --bootstrap host:port (HYPERINFER_BOOTSTRAP) with --network and --network-secret, ' +
    'or start the local devnet with `npm start`; --public-network uses the public HyperDHT')
}

/** A mesh's address in one line: network name, secret and bootstrap list (`hyperinfer init` prints it). */
export interface JoinInfo { network: string, secret?: string, bootstrap: string[], /** the pinned auth node */ authKey?: string }

const JOIN_PREFIX = 'hyperinfer1:'
const joinSchema = z.strictObject({
  n: z.string().min(1).max(64),
  s: z.string().min(1).optional(),
  b: z.array(z.string().min(3)).min(1),
  a: z.string().regex(/^[0-9a-f]{64}$/).optional()
})

export function encodeJoin (info: JoinInfo): string {
  for (const node of info.bootstrap) parseBootstrapNode(node)
  const body = joinSchema.parse({ n: info.network, s: info.secret, b: info.bootstrap, a: info.authKey })
  return JOIN_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url')
}

export function decodeJoin (text: string): JoinInfo {
  const trimmed = text.trim()
  const bad = (why: string): HyperinferError =>
    new HyperinferError('INVALID_ARGUMENT', `--join string is not valid (${why}): copy the whole line printed by \`hyperinfer init\`, it starts with ${JOIN_PREFIX}`)
  if (!trimmed.startsWith(JOIN_PREFIX)) throw bad(`it does not start with ${JOIN_PREFIX}`)
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(trimmed.slice(JOIN_PREFIX.length), 'base64url').toString('utf8'))
  } catch {
    throw bad('it does not decode')
  }
  const parsed = joinSchema.safeParse(raw)
  if (!parsed.success) throw bad(parsed.error.issues.map(issue => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '))
  for (const node of parsed.data.b) parseBootstrapNode(node)
  return { network: parsed.data.n, secret: parsed.data.s, bootstrap: parsed.data.b, authKey: parsed.data.a }
}

/** The mesh flags every node and every client command takes (commander camelCases them). */
export interface MeshFlags {
  home?: unknown
  network?: unknown
  networkSecret?: unknown
  bootstrap?: unknown
  publicNetwork?: unknown
  join?: unknown
  logLevel?: unknown
  authKey?: unknown
}

const str = (value: unknown): string | undefined => typeof value === 'string' && value !== '' ? value : undefined
const list = (value: unknown): string[] | undefined => {
  const items = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(',') : undefined
  const cleaned = items?.map(s => s.trim()).filter(Boolean)
  return cleaned && cleaned.length > 0 ? cleaned : undefined
}

/**
 * The one precedence rule for where the mesh is: flags > env > config file > defaults.
 * A join string (--join, or HYPERINFER_JOIN) stands for --network, --network-secret and
 * --bootstrap at its own level: a single flag beside it still wins, and an env join only fills
 * what no flag and no single env variable set.
 * Returns dotted config paths for loadConfig's `flags`.
 */
export function meshConfigFromFlags (flags: MeshFlags, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out: Record<string, unknown> = {
    home: str(flags.home),
    'network.name': str(flags.network),
    'network.secret': str(flags.networkSecret),
    'network.bootstrap': list(flags.bootstrap),
    'network.public': flags.publicNetwork === true ? true : undefined,
    'network.authKey': str(flags.authKey),
    logLevel: str(flags.logLevel)
  }
  const flagJoin = str(flags.join)
  const envJoin = str(env.HYPERINFER_JOIN)
  const join = flagJoin ?? envJoin
  if (join) {
    const info = decodeJoin(join)
    const fromJoin: Record<string, { value: unknown, env: string }> = {
      'network.name': { value: info.network, env: 'HYPERINFER_NETWORK' },
      'network.secret': { value: info.secret, env: 'HYPERINFER_NETWORK_SECRET' },
      'network.bootstrap': { value: info.bootstrap, env: 'HYPERINFER_BOOTSTRAP' },
      'network.authKey': { value: info.authKey, env: 'HYPERINFER_AUTH_KEY' }
    }
    for (const [path, { value, env: name }] of Object.entries(fromJoin)) {
      if (out[path] !== undefined) continue
      if (!flagJoin && str(env[name])) continue
      out[path] = value
    }
  }
  return out
}

/** Says where a command looked for the mesh, for error hints. */
export function describeMesh (address: MeshAddress): string {
  if (address.publicNetwork) return `network "${address.network.name}" on the public HyperDHT`
  const via = formatBootstrap(address.bootstrap ?? []).join(',')
  return `network "${address.network.name}" via bootstrap ${via}`
}

/** The devnet is the mesh `npm start` runs on this machine: hints may name it only then. */
export function isDevnet (address: MeshAddress): boolean {
  return !address.publicNetwork && address.network.name === 'devnet' && (address.bootstrap ?? []).every(node => node.host.startsWith('127.') || node.host === 'localhost')
}
