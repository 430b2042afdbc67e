import Hyperbee from 'hyperbee'
import type Hypercore from 'hypercore'
import type Corestore from 'corestore'
import { HyperinferError } from '../errors.js'

export type Bee<T = unknown> = Hyperbee<T>

const BEE_OPTIONS = { keyEncoding: 'utf-8', valueEncoding: 'json' } as const

/** A named Hyperbee this node writes (its core is named in the node's Corestore). */
export async function openOwnBee<T> (store: Corestore, name: string): Promise<Bee<T>> {
  const bee = new Hyperbee<T>(store.get({ name: `bee/${name}` }), BEE_OPTIONS)
  await bee.ready()
  return bee
}

/** A read replica of another node's Hyperbee, mirrored eagerly so every read is local. */
export async function openFollowerBee<T> (store: Corestore, key: Buffer): Promise<Bee<T>> {
  const core = store.get({ key })
  const bee = new Hyperbee<T>(core, BEE_OPTIONS)
  await bee.ready()
  core.download({ start: 0, end: -1 })
  return bee
}

/** Reads on a replica never wait for the network. */
export const LOCAL_READ = { wait: false, update: false } as const

/** Resolves once `core` holds its first `length` blocks locally, or throws TIMEOUT. */
export async function waitForLength (core: Hypercore, length: number, timeoutMs = 10_000): Promise<void> {
  if (core.contiguousLength >= length) return
  await new Promise<void>((resolve, reject) => {
    const onAppend = (): void => {
      if (core.contiguousLength < length) return
      cleanup()
      resolve()
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new HyperinferError('TIMEOUT', `replica holds ${core.contiguousLength} of ${length} blocks after ${timeoutMs} ms`))
    }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      core.off('append', onAppend)
      core.off('download', onAppend)
    }
    core.on('append', onAppend)
    core.on('download', onAppend)
    core.update({ wait: true }).then(onAppend, () => {})
  })
}
