import type RPC from '@hyperswarm/rpc'
import type HyperDHT from 'hyperdht'
import { createDht, createRpc, type BootstrapNode } from '../../shared/mesh/dht.js'

/** A bare @hyperswarm/rpc on a bootstrap-checked DHT: the baseline that benchmarks compare against. */
export function createRawRpc (bootstrap: BootstrapNode[], keyPair?: HyperDHT.KeyPair): { rpc: RPC, dht: HyperDHT } {
  const dht = createDht({ bootstrap })
  return { rpc: createRpc(dht, keyPair), dht }
}
