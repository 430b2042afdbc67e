import Corestore from 'corestore'
import CoreStorage from 'hypercore-storage'
import Rache from 'rache'

// hypercore-storage gives RocksDB a 64 MB memtable: a node that writes a little all day (the gateway's
// usage log) holds up to that much in memory before the first flush. 4 MB flushes small and often,
// which costs nothing at this platform's write rates and keeps a long-lived node's memory flat.
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024
// Without a shared cache every Hyperbee keeps its own cache of up to 65,536 decoded tree nodes, and a
// node follows several: a long-lived gateway's heap grew ~0.5 MB a minute at one request a second.
// One cache for the whole store, bounded: the upper levels of each tree, which every get and put
// walks, stay cached; the rest is read back from RocksDB's block cache when needed.
const TREE_NODES_CACHED = 4096

/** The node's Corestore in dir, with memory bounded for a long-lived process. */
export function openCorestore (dir: string): Corestore {
  return new Corestore(new CoreStorage(dir, { writeBufferSize: WRITE_BUFFER_BYTES }), {
    globalCache: new Rache({ maxSize: TREE_NODES_CACHED })
  })
}
