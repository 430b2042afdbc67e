import { createSocket } from 'node:dgram'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import type { BootstrapNode } from './dht.js'

export interface LocalBootstrap {
  bootstrap: BootstrapNode[]
  close (): Promise<void>
}

/**
 * A devnet bootstrap on 127.0.0.1: the bootstrapper plus one persistent node, so that
 * announcements have somewhere to live. Port 0 picks a free port.
 */
export async function startLocalBootstrap (port = 0, host = '127.0.0.1'): Promise<LocalBootstrap> {
  const bootstrapper = HyperDHT.bootstrapper(port || await freeUdpPort(host), host)
  await bootstrapper.ready()
  const bootstrap = [{ host, port: bootstrapper.address().port }]
  const persistent = new HyperDHT({ bootstrap, ephemeral: false, firewalled: false } as HyperDHT.DHTOptions)
  await persistent.fullyBootstrapped()
  return {
    bootstrap,
    async close () {
      await persistent.destroy()
      await bootstrapper.destroy()
    }
  }
}

/** A small in-process DHT on 127.0.0.1 for tests. */
export async function startTestnet (size = 3): Promise<LocalBootstrap> {
  const testnet = await createTestnet(size, { host: '127.0.0.1' })
  return { bootstrap: testnet.bootstrap, close: () => testnet.destroy() }
}

function freeUdpPort (host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, host, () => {
      const { port } = socket.address()
      socket.close(() => { resolve(port) })
    })
  })
}
