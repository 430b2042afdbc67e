import type { InferenceConfig } from '../../shared/config/inference.js'
import { inferenceSection } from '../../shared/config/inference.js'
import { accessFor, followRegistry, type FollowedRegistry } from '../../shared/accounts/node-access.js'
import { MeshNode, type MeshNodeOptions } from '../../shared/mesh/mesh-node.js'
import { inferenceMethods } from './api.js'
import { createBackendSlots } from './backends/index.js'
import { InferenceWorker, type BackendSlot } from './worker.js'

export interface InferenceNodeOptions extends Omit<MeshNodeOptions, 'role' | 'methods' | 'healthCheck'> {
  /** The `inference` config section (partial: defaults filled in). */
  inference?: Partial<InferenceConfig>
  /** Backends built by the caller instead of from config (tests). */
  backends?: BackendSlot[]
  env?: NodeJS.ProcessEnv
}

export interface InferenceNode {
  node: MeshNode
  worker: InferenceWorker
  readonly publicKey: Buffer
  close (): Promise<void>
}

/** An inference worker on the mesh: loads its backends, then serves inference.* and announces itself. */
export async function createInferenceNode (opts: InferenceNodeOptions): Promise<InferenceNode> {
  const config = inferenceSection.parse(opts.inference ?? {})
  let worker: InferenceWorker | null = null
  let registry: FollowedRegistry | null = null
  const node = new MeshNode({
    // Only approved gateways may call inference.* (and only approved nodes connect at all).
    access: accessFor(opts.authKey),
    ...opts,
    role: 'inference',
    announce: false,
    healthCheck: () => {
      const models = worker?.modelNames ?? []
      return { status: models.length > 0 ? 'up' : 'degraded', details: { models, capacity: worker?.capacity.current() } }
    }
  })
  const backends = opts.backends ?? await createBackendSlots(config, node.log, opts.env)
  worker = new InferenceWorker({ backends, cache: config.cache, metrics: node.metrics, log: node.log })
  try {
    await worker.start()
    await node.open()
    if (opts.authKey) registry = followRegistry(node, opts.authKey)
    node.serve(inferenceMethods(worker))
    if (opts.announce !== false) await node.discovery.announce('inference')
  } catch (err) {
    registry?.close()
    await node.close().catch(() => {})
    await worker.close()
    throw err
  }
  const served = await worker.models()
  node.log.info({ models: served.map(m => `${m.name} (${m.backend}, ${m.status})`) }, `serving ${served.length} model(s)`)
  return {
    node,
    worker,
    get publicKey () { return node.publicKey },
    async close () {
      registry?.close()
      await node.close()
      await worker?.close()
    }
  }
}
