import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestnet, type LocalBootstrap } from '../../shared/mesh/bootstrap.js'
import { MeshNode, type MeshNodeOptions } from '../../shared/mesh/mesh-node.js'

interface Teardown { teardown (fn: () => unknown): void }

export interface TestMesh {
  bootstrap: LocalBootstrap['bootstrap']
  network: { name: string }
  /** A fresh data dir, removed at teardown. */
  dir (name?: string): string
  /** Opens a MeshNode on this testnet; closed at teardown (before the testnet). */
  node (opts: Partial<MeshNodeOptions> & Pick<MeshNodeOptions, 'role'>): Promise<MeshNode>
  /** Registers something to close before the testnet goes down. */
  closeLater (close: () => unknown): void
}

/** A testnet on 127.0.0.1 for one test; everything it made is closed in reverse order at teardown. */
export async function createTestMesh (t: Teardown, name = 'test'): Promise<TestMesh> {
  const testnet = await startTestnet(3)
  const closers: (() => unknown)[] = []
  const dirs: string[] = []
  t.teardown(async () => {
    for (const close of closers.reverse()) await close()
    await testnet.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  const mesh: TestMesh = {
    bootstrap: testnet.bootstrap,
    network: { name },
    dir (label = 'node') {
      const dir = mkdtempSync(join(tmpdir(), `hyperinfer-${label}-`))
      dirs.push(dir)
      return dir
    },
    async node (opts) {
      const node = new MeshNode({
        dataDir: mesh.dir(opts.role),
        network: mesh.network,
        bootstrap: testnet.bootstrap,
        refreshIntervalMs: 500,
        ...opts
      })
      closers.push(() => node.close())
      return node.open()
    },
    closeLater (close) { closers.push(close) }
  }
  return mesh
}
