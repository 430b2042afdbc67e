import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { HyperinferError } from '../errors.js'
import { parseBootstrapNode, type BootstrapNode } from '../mesh/dht.js'
import type { NetworkId } from '../mesh/topic.js'
import type { Config } from './index.js'

export interface DevnetInfo { network: string, bootstrap: string[], pid: number, startedAt: string }

export function devnetFile (home: string): string {
  return join(home, 'devnet.json')
}

export function writeDevnetInfo (home: string, info: DevnetInfo): void {
  mkdirSync(home, { recursive: true })
  writeFileSync(devnetFile(home), JSON.stringify(info, null, 2) + '\n')
}

export function readDevnetInfo (home: string): DevnetInfo | null {
  const file = devnetFile(home)
  if (!existsSync(file)) return null
  return JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo
}

export interface MeshAddress { network: NetworkId, bootstrap?: BootstrapNode[], publicNetwork: boolean }

/**
 * Where the mesh is: the public network only when named, else the configured bootstrap list,
 * else the devnet written in the home dir. Never an implicit default.
 */
export function resolveMesh (config: Config): MeshAddress {
  const network: NetworkId = { name: config.network.name, secret: config.network.secret }
  if (config.network.public) return { network, publicNetwork: true }
  if (config.network.bootstrap.length > 0) {
    return { network, bootstrap: config.network.bootstrap.map(parseBootstrapNode), publicNetwork: false }
  }
  const devnet = readDevnetInfo(config.home)
  if (devnet) {
    return { network: { ...network, name: devnet.network }, bootstrap: devnet.bootstrap.map(parseBootstrapNode), publicNetwork: false }
  }
  throw new HyperinferError('UNAVAILABLE',
    `no mesh to join: ${devnetFile(config.home)} does not exist. Start the local devnet with \`npm start\`, ` +
    'or pass --bootstrap host:port (HYPERINFER_BOOTSTRAP), or --network public for the public HyperDHT')
}
