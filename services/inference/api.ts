import { inferenceEmbed, inferenceModels, inferenceModelStatus, inferenceRun } from '../../shared/schemas/inference.js'
import { streaming, unary, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import { inferenceCapacity } from '../../shared/schemas/capacity.js'
import type { InferenceWorker } from './worker.js'

/** The inference role's RPC methods. */
export function inferenceMethods (worker: InferenceWorker): ServedMethod[] {
  return [
    streaming(inferenceRun, (request, ctx) => worker.run(request, ctx.signal, model => { ctx.setModel(model) })),
    unary(inferenceModels, async () => ({ models: await worker.models() })),
    unary(inferenceCapacity, ({ since, waitMs }, ctx) => worker.waitForCapacity(since, waitMs, ctx.signal)),
    unary(inferenceModelStatus, async ({ model }, ctx) => {
      const status = await worker.modelStatus(model)
      ctx.setModel(model)
      return status
    }),
    unary(inferenceEmbed, async ({ model, input }, ctx) => {
      const result = await worker.embed(model, typeof input === 'string' ? [input] : input, ctx.signal)
      ctx.setModel(model)
      return result
    })
  ]
}
