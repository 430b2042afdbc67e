// The model's own cost at the soak's rate: node-llama-cpp alone, in a process of its own, runs the
// generation each soak request asks the worker for, `--rps` times a second, on the bundled model
// with the devnet worker's settings (2,048-token context, one thread, one sequence) and a role's heap limits. The soak reads
// its CPU from /proc beside the nodes', so the inference node's figure can be told apart from the
// model's work it was asked to do.
import { Command } from 'commander'
import { LlamaCompletion } from 'node-llama-cpp'
import { loadModelAlone } from './model-alone.js'
import { SOAK_GENERATION } from './soak-generation.js'

const opts = new Command('soak-model-baseline')
  .requiredOption('--rps <n>', 'generations a second', Number)
  .parse()
  .opts<{ rps: number }>()

const { sequence, dispose } = await loadModelAlone()
let running = true
process.once('SIGTERM', () => { running = false })
while (running) {
  const completion = new LlamaCompletion({ contextSequence: sequence })
  await completion.generateCompletion(SOAK_GENERATION.prompt, { maxTokens: SOAK_GENERATION.maxTokens, temperature: SOAK_GENERATION.temperature })
  completion.dispose({ disposeSequence: false })
  await new Promise(resolve => setTimeout(resolve, 1000 / opts.rps))
}
await dispose()
