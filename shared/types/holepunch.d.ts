// Ambient types for the Holepunch modules used here; none ship their own.
declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'
  namespace HyperDHT {
    interface KeyPair { publicKey: Buffer; secretKey: Buffer }
    interface Node { host: string; port: number }
    interface PeerRecord { publicKey: Buffer; relayAddresses: Node[] }
    interface LookupReply { from: Node; to: Node; peers: PeerRecord[] }
    interface Query extends AsyncIterable<LookupReply> {
      finished(): Promise<void>
      destroy(err?: Error): void
    }
    interface DHTOptions {
      bootstrap?: (Node | string)[]
      keyPair?: KeyPair
      port?: number
      host?: string
      ephemeral?: boolean
      firewalled?: boolean
      connectionKeepAlive?: number | false
    }
  }
  class HyperDHT extends EventEmitter {
    constructor(opts?: HyperDHT.DHTOptions)
    static keyPair(seed?: Buffer): HyperDHT.KeyPair
    static hash(data: Buffer): Buffer
    static bootstrapper(port: number, host: string, opts?: HyperDHT.DHTOptions): HyperDHT
    readonly destroyed: boolean
    readonly bootstrapNodes: HyperDHT.Node[]
    fullyBootstrapped(): Promise<void>
    ready(): Promise<void>
    address(): { host: string; port: number }
    announce(topic: Buffer, keyPair: HyperDHT.KeyPair, relayAddresses?: HyperDHT.Node[]): HyperDHT.Query
    unannounce(topic: Buffer, keyPair: HyperDHT.KeyPair): Promise<void>
    lookup(topic: Buffer): HyperDHT.Query
    destroy(opts?: { force?: boolean }): Promise<void>
  }
  export default HyperDHT
}

declare module '@hyperswarm/rpc' {
  import { EventEmitter } from 'node:events'
  import type HyperDHT from 'hyperdht'
  namespace RPC {
    interface RequestOptions { timeout?: number }
    /** protomux-rpc on one connection: the server handler gets it as its second argument. */
    interface Channel extends EventEmitter {
      readonly closed: boolean
      readonly stream: { remotePublicKey: Buffer; rawStream?: { remoteHost?: string } }
      request(method: string, value: Buffer, opts?: RequestOptions): Promise<Buffer>
      event(method: string, value: Buffer): void
      respond(method: string, handler: (value: Buffer) => unknown): this
      cork(): void
      uncork(): void
      destroy(err?: Error): void
    }
    type Handler = (value: Buffer, channel: Channel) => Buffer | Promise<Buffer> | void | Promise<void>
    interface Server extends EventEmitter {
      readonly publicKey: Buffer
      readonly connections: Set<Channel>
      listen(keyPair?: HyperDHT.KeyPair): Promise<void>
      close(): Promise<void>
      respond(method: string, handler: Handler): this
    }
    interface Client extends EventEmitter {
      readonly closed: boolean
      readonly rpc: Channel | null
      request(method: string, value: Buffer, opts?: RequestOptions): Promise<Buffer>
      event(method: string, value: Buffer): void
      end(): Promise<void>
      destroy(err?: Error): void
    }
  }
  class RPC {
    constructor(opts: { dht: HyperDHT; keyPair?: HyperDHT.KeyPair })
    readonly dht: HyperDHT
    createServer(opts?: { firewall?: (remotePublicKey: Buffer) => boolean }): RPC.Server
    readonly defaultKeyPair: HyperDHT.KeyPair
    connect(publicKey: Buffer, opts?: { keyPair?: HyperDHT.KeyPair }): RPC.Client
    destroy(opts?: { force?: boolean }): Promise<void>
  }
  export default RPC
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events'
  import type HyperDHT from 'hyperdht'
  namespace Hyperswarm {
    interface PeerDiscovery { flushed(): Promise<void>; refresh(opts?: object): Promise<void>; destroy(): Promise<void> }
    interface Connection extends NodeJS.EventEmitter {
      remotePublicKey: Buffer
      destroy(err?: Error): void
    }
  }
  class Hyperswarm extends EventEmitter {
    constructor(opts: { dht: HyperDHT; keyPair?: HyperDHT.KeyPair; maxPeers?: number; firewall?: (key: Buffer) => boolean })
    readonly connections: Set<Hyperswarm.Connection>
    join(topic: Buffer, opts?: { server?: boolean; client?: boolean }): Hyperswarm.PeerDiscovery
    leave(topic: Buffer): Promise<void>
    flush(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
  }
  export default Hyperswarm
}

declare module 'rache' {
  class Rache {
    constructor(opts?: { maxSize?: number })
  }
  export default Rache
}

declare module 'hypercore-storage' {
  class CoreStorage {
    constructor(dir: string, opts?: { writeBufferSize?: number })
  }
  export default CoreStorage
}

declare module 'corestore' {
  import type HyperDHT from 'hyperdht'
  import type Hypercore from 'hypercore'
  class Corestore {
    constructor(storage: string | import('hypercore-storage').default, opts?: object)
    readonly globalCache: { readonly globalSize: number } | null
    ready(): Promise<void>
    get(opts: { name: string } | { key: Buffer }): Hypercore
    createKeyPair(name: string): Promise<HyperDHT.KeyPair>
    replicate(stream: unknown): unknown
    close(): Promise<void>
  }
  export default Corestore
}

declare module 'hypercore' {
  import { EventEmitter } from 'node:events'
  class Hypercore extends EventEmitter {
    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly length: number
    readonly contiguousLength: number
    readonly writable: boolean
    readonly closed: boolean
    ready(): Promise<void>
    update(opts?: { wait?: boolean }): Promise<boolean>
    findingPeers(): () => void
    download(range?: { start?: number; end?: number }): { done(): Promise<void>; destroy(): void }
    close(): Promise<void>
  }
  export default Hypercore
}

declare module 'hyperbee' {
  import type Hypercore from 'hypercore'
  namespace Hyperbee {
    interface Entry<T> { seq: number; key: string; value: T }
    interface RangeOptions { gt?: string; gte?: string; lt?: string; lte?: string; limit?: number; reverse?: boolean }
    interface Batch<T> {
      put(key: string, value: T, opts?: object): Promise<void>
      del(key: string, opts?: object): Promise<void>
      get(key: string, opts?: object): Promise<Entry<T> | null>
      lock(): Promise<void>
      flush(): Promise<void>
      close(): Promise<void>
    }
  }
  class Hyperbee<T = unknown> {
    constructor(core: Hypercore, opts?: { keyEncoding?: string; valueEncoding?: string })
    readonly core: Hypercore
    readonly version: number
    readonly key: Buffer
    ready(): Promise<void>
    put(key: string, value: T, opts?: object): Promise<void>
    get(key: string, opts?: { wait?: boolean; update?: boolean; timeout?: number }): Promise<Hyperbee.Entry<T> | null>
    del(key: string): Promise<void>
    batch(): Hyperbee.Batch<T>
    createReadStream(range?: Hyperbee.RangeOptions, opts?: object): AsyncIterable<Hyperbee.Entry<T>>
    createHistoryStream(opts?: { gt?: number; gte?: number; live?: boolean }): AsyncIterable<Hyperbee.Entry<T> & { type: 'put' | 'del' }>
    watch(range?: Hyperbee.RangeOptions): AsyncIterable<unknown> & { destroy(): Promise<void> }
    close(): Promise<void>
  }
  export default Hyperbee
}

declare module 'graceful-goodbye' {
  export default function goodbye(fn: () => unknown | Promise<unknown>, position?: number): () => void
}

declare module 'parse-prometheus-text-format' {
  export default function parse(text: string): { name: string; help: string; type: string; metrics: unknown[] }[]
}
