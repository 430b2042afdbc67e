import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openCorestore } from '../shared/store/open-corestore.js'
import { openOwnBee } from '../shared/store/bees.js'

t.test('a long-lived store stays bounded: one tree-node cache for all its bees, a 4 MB memtable', async t => {
  const dir = join(t.testdir(), 'corestore')
  const store = openCorestore(dir)
  t.teardown(() => store.close())
  const bees = [await openOwnBee<number>(store, 'usage'), await openOwnBee<number>(store, 'other')]
  for (const bee of bees) {
    for (let n = 0; n < 3_000; n++) {
      await bee.put(`request/${String(n).padStart(6, '0')}`, n)
      // Every put reads the tree top-down, caching each node it decodes.
      if (n % 500 === 0) await bee.get(`request/${String(n).padStart(6, '0')}`)
    }
  }
  t.equal((await bees[0].get('request/002999'))?.value, 2_999, 'the bee still reads back what it wrote')
  const cached = store.globalCache?.globalSize ?? Infinity
  t.ok(cached > 0 && cached <= 4_096, `${cached} tree nodes cached across both bees (a Hyperbee alone keeps up to 65,536)`)

  const options = readdirSync(join(dir, 'db')).filter(name => name.startsWith('OPTIONS-')).sort().pop()
  t.ok(options, 'RocksDB wrote its options file')
  const buffers = [...readFileSync(join(dir, 'db', options ?? ''), 'utf8').matchAll(/^\s*write_buffer_size=(\d+)/gm)].map(m => Number(m[1]))
  t.ok(buffers.length > 0 && buffers.every(bytes => bytes === 4 * 1024 * 1024), `memtables of ${buffers.join(', ')} bytes (hypercore-storage's default is 64 MB)`)
})
