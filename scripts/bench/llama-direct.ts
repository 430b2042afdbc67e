// bench:inference's baseline: node-llama-cpp called directly, in a process launched like the worker (a role's
// node flags and environment, the same CPU), with the worker's settings (2,048-token context, one thread, one
// sequence). The bench sends it a generation over IPC; it answers with what it timed from its own call.
// Its one argument, when given, is the CPU list it pins itself to before it loads the model, as the worker does with --cpus.
import { LlamaCompletion } from 'node-llama-cpp'
import { pinToCpus } from '../../shared/role/cpu-affinity.js'
import { loadModelAlone } from '../model-alone.js'

export interface DirectRequest { prompt: string, maxTokens: number, clear: boolean }
export interface DirectRun { tokens: number, promptTokens: number, seconds: number, ttftMs: number }

const cpus = process.argv[2]
if (cpus !== undefined) await pinToCpus(process.pid, cpus)
const { model, sequence, dispose } = await loadModelAlone()

// Not cleared between runs unless asked: the worker keeps its sequence's state too, so both evaluate the same tokens.
async function generate ({ prompt, maxTokens, clear }: DirectRequest): Promise<DirectRun> {
  if (clear) await sequence.clearHistory()
  const completion = new LlamaCompletion({ contextSequence: sequence })
  const started = performance.now()
  let ttftMs = -1
  let tokens = 0
  await completion.generateCompletion(prompt, {
    maxTokens,
    temperature: 0,
    onToken: t => { tokens += t.length },
    onTextChunk: () => { if (ttftMs < 0) ttftMs = performance.now() - started }
  })
  const seconds = (performance.now() - started) / 1000
  completion.dispose({ disposeSequence: false })
  return { tokens, promptTokens: model.tokenize(prompt).length, seconds, ttftMs }
}

process.on('message', (request: DirectRequest) => {
  generate(request).then(run => process.send?.(run), err => process.send?.({ error: String(err) }))
})
process.once('disconnect', () => {
  void dispose().finally(() => process.exit(0))
})
process.send?.('ready')
