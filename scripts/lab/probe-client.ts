// The lab's side of scripts/lab/probe.ts: sends requests to a probe in a namespace, resolves answers.
import { join } from 'node:path'
import { ROOT, spawnIn, type LabProcess } from './processes.js'

export interface ProbeAnswer {
  id: number
  ok: boolean
  worker?: string | null
  firstTokenMs?: number | null
  totalMs: number
  chunks: number
  code?: string
  message?: string
}

export interface Probe {
  process: LabProcess
  infer (req: { model: string, prompt?: string, maxTokens?: number }, onFirstToken?: () => void): Promise<ProbeAnswer>
  close (): Promise<void>
}

const ANSWER_TIMEOUT_MS = 90_000

export async function startProbe (ns: string, name: string, env: { join: string, apiKey: string }): Promise<Probe> {
  const proc = spawnIn(ns, name, [process.execPath, '--import=tsx', join(ROOT, 'scripts', 'lab', 'probe.ts')],
    { LAB_JOIN: env.join, LAB_API_KEY: env.apiKey, LOG_LEVEL: 'warn' }, 'pipe')
  const pending = new Map<number, { resolve (a: ProbeAnswer): void, onFirstToken?: () => void }>()
  let buffer = ''
  proc.child.stdout!.on('data', chunk => {
    buffer += chunk
    let newline
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      const message = JSON.parse(line) as ProbeAnswer & { event?: string }
      const waiter = pending.get(message.id)
      if (!waiter) continue
      if (message.event === 'first-token') waiter.onFirstToken?.()
      else if (message.event === undefined) {
        pending.delete(message.id)
        waiter.resolve(message)
      }
    }
  })
  await proc.waitFor(/"event":"ready"/, 60_000)
  let nextId = 1
  return {
    process: proc,
    infer (req, onFirstToken) {
      const id = nextId++
      return new Promise<ProbeAnswer>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          resolve({ id, ok: false, code: 'LAB_TIMEOUT', message: `no answer within ${ANSWER_TIMEOUT_MS} ms`, totalMs: ANSWER_TIMEOUT_MS, chunks: 0 })
        }, ANSWER_TIMEOUT_MS)
        pending.set(id, { resolve: answer => { clearTimeout(timer); resolve(answer) }, onFirstToken })
        proc.child.stdin!.write(JSON.stringify({ id, model: req.model, prompt: req.prompt ?? 'Once upon a time', maxTokens: req.maxTokens ?? 8 }) + '\n')
      })
    },
    async close () {
      proc.child.stdin!.end()
      await Promise.race([new Promise(resolve => proc.child.once('exit', resolve)), new Promise(resolve => setTimeout(resolve, 10_000))])
      await proc.stop()
    }
  }
}
