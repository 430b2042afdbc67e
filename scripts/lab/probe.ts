// A client that stays on the mesh inside one lab namespace and runs inference requests it is sent
// as JSON lines on stdin, answering with JSON lines on stdout: one process start (DHT bootstrap,
// gateway lookup) for many timed requests.
//   in:  {"id":1,"model":"m","prompt":"p","maxTokens":8}
//   out: {"id":1,"event":"first-token","ms":12.3}
//        {"id":1,"ok":true,"worker":"<hex>","firstTokenMs":12.3,"totalMs":40.1,"chunks":8}
//        {"id":1,"ok":false,"code":"UNAVAILABLE","message":"...","chunks":3}
import { createInterface } from 'node:readline'
import { HyperinferClient } from '../../client-cli/client.js'
import { toHyperinferError } from '../../shared/errors.js'

interface ProbeRequest { id: number, model: string, prompt: string, maxTokens?: number }

const client = new HyperinferClient({ apiKey: process.env.LAB_API_KEY, join: process.env.LAB_JOIN })
const write = (value: unknown): void => { process.stdout.write(JSON.stringify(value) + '\n') }

async function run (req: ProbeRequest): Promise<void> {
  const started = performance.now()
  let firstTokenMs: number | null = null
  let chunks = 0
  try {
    const call = client.infer({ model: req.model, prompt: req.prompt, maxTokens: req.maxTokens ?? 16, temperature: 0 })
    for await (const text of call) {
      if (text.length === 0) continue
      chunks++
      if (firstTokenMs === null) {
        firstTokenMs = performance.now() - started
        write({ id: req.id, event: 'first-token', ms: firstTokenMs })
      }
    }
    const result = await call
    write({ id: req.id, ok: true, worker: result.worker, firstTokenMs, totalMs: performance.now() - started, chunks })
  } catch (err) {
    const coded = toHyperinferError(err)
    write({ id: req.id, ok: false, code: coded.code, message: coded.message, chunks, totalMs: performance.now() - started })
  }
}

const lines = createInterface({ input: process.stdin })
const running = new Set<Promise<void>>()
lines.on('line', line => {
  if (!line.trim()) return
  const task = run(JSON.parse(line) as ProbeRequest).finally(() => running.delete(task))
  running.add(task)
})
lines.on('close', () => {
  void Promise.allSettled([...running]).then(() => client.close()).finally(() => process.exit(0))
})
write({ event: 'ready' })
