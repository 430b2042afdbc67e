// node-llama-cpp alone, as the baselines of the soak and of bench:inference run it: the bundled model with the
// devnet worker's settings (2,048-token context, one thread, one sequence) in a process with a role's heap limits.
import { getLlama, LlamaLogLevel, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp'
import { BUNDLED_MODEL } from '../services/inference/backends/create-backends.js'
import { limitHeapGrowth } from '../shared/role/process-tuning.js'

export async function loadModelAlone (): Promise<{ model: LlamaModel, sequence: LlamaContextSequence, dispose (): Promise<void> }> {
  limitHeapGrowth()
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error })
  const model = await llama.loadModel({ modelPath: BUNDLED_MODEL, gpuLayers: 0 })
  const context = await model.createContext({ contextSize: Math.min(2048, model.trainContextSize), sequences: 1, threads: 1 })
  return {
    model,
    sequence: context.getSequence(),
    async dispose () {
      await context.dispose()
      await model.dispose()
    }
  }
}
