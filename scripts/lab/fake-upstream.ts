// The lab's upstream for a worker: the protocol-faithful OpenAI fake on 127.0.0.1 of the worker's
// namespace, streaming slowly so a stream is still running when a scenario kills the worker. It
// prints one line per generation request, so a scenario can tell which worker got a request.
//   node --import=tsx scripts/lab/fake-upstream.ts --port 8080 --delay 150 --model slow
import { startFakeOpenAI } from '../fakes/openai-server.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const REPLY = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ')

const fake = await startFakeOpenAI({
  port: Number(arg('--port', '8080')),
  tokenDelayMs: Number(arg('--delay', '150')),
  models: [arg('--model', 'slow')],
  reply: () => {
    process.stdout.write('upstream request\n')
    return REPLY
  }
})
process.stdout.write(`fake upstream listening on ${fake.url}\n`)
process.on('SIGTERM', () => { void fake.close().finally(() => process.exit(0)) })
