// Types for the one DHT testnet the mesh builds (shared/mesh/bootstrap.ts): it lives beside the DHT factory.
declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'
  interface Testnet {
    nodes: HyperDHT[]
    bootstrap: { host: string; port: number }[]
    destroy(): Promise<void>
  }
  export default function createTestnet(size?: number, opts?: { host?: string; port?: number }): Promise<Testnet>
}
