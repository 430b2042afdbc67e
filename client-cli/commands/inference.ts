import { createInterface } from 'node:readline/promises'
import type { Command } from 'commander'
import { HyperinferError } from '../../shared/errors.js'
import type { ChatMessage, InferResult } from '../../shared/schemas/gateway.js'
import type { HyperinferClient } from '../client.js'
import { globalOptions, wantsJson } from '../command-context.js'
import { printJson } from '../output.js'

// The client (and with it the mesh) loads only when a command runs: `--help` stays instant.
async function clientFor (cmd: Command): Promise<HyperinferClient> {
  const flags = globalOptions(cmd)
  const { HyperinferClient } = await import('../client.js')
  return new HyperinferClient({
    apiKey: typeof flags.apiKey === 'string' ? flags.apiKey : undefined,
    home: flags.home as string | undefined,
    network: flags.network as string | undefined,
    networkSecret: flags.networkSecret as string | undefined,
    join: flags.join as string | undefined,
    bootstrap: typeof flags.bootstrap === 'string' ? flags.bootstrap.split(',') : undefined,
    publicNetwork: flags.publicNetwork === true ? true : undefined,
    rememberGateway: true
  })
}

async function withClient<T> (cmd: Command, fn: (client: HyperinferClient) => Promise<T>): Promise<T> {
  const client = await clientFor(cmd)
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

function number (name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isFinite(n)) throw new HyperinferError('INVALID_ARGUMENT', `${name} must be a number, not "${value}"`)
    return n
  }
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').trim()
}

function summary (result: InferResult): string {
  const { usage } = result
  const ttft = result.timeToFirstTokenMs === null ? '' : `, first token ${result.timeToFirstTokenMs.toFixed(0)} ms`
  return `[${result.model}: ${usage.promptTokens} prompt + ${usage.completionTokens} completion tokens, ${result.finishReason}${ttft}, ${result.latencyMs.toFixed(0)} ms${result.cached ? ', cached' : ''}]`
}

interface GenerationFlags { model: string, maxTokens?: number, temperature?: number, system?: string, seed?: number }

function generationOptions (cmd: Command): Command {
  return cmd
    .requiredOption('-m, --model <model>', 'model name (see `hyperinfer models`)')
    .option('--max-tokens <n>', 'most tokens to generate', number('--max-tokens'), 256)
    .option('--temperature <t>', 'sampling temperature (0 = deterministic)', number('--temperature'))
    .option('--seed <n>', 'sampling seed', number('--seed'))
    .option('--system <text>', 'system prompt')
    .option('--api-key <key>', 'API key (default: HYPERINFER_API_KEY, else your last created key)')
}

/** infer, chat, models, quota, usage. */
export function registerInferenceCommands (program: Command): void {
  generationOptions(program.command('infer'))
    .description('generate text, streaming tokens to stdout as they arrive')
    .argument('[prompt]', 'the prompt (default: read from stdin)')
    .option('--queue-timeout <ms>', 'wait at most this long for a free worker (default: the gateway\'s limit, 60 s)', number('--queue-timeout'))
    .action(runInfer)
  generationOptions(program.command('chat'))
    .description('chat with a model; history is kept for the session (empty line or Ctrl-D to quit)')
    .action(runChat)
  registerUsageCommands(program)
}

async function runInfer (promptArg: string | undefined, flags: GenerationFlags, cmd: Command): Promise<void> {
  const prompt = promptArg ?? await readStdin()
  if (!prompt) throw new HyperinferError('INVALID_ARGUMENT', 'no prompt: give it as an argument or on stdin')
  await withClient(cmd, async client => {
    const controller = new AbortController()
    const onSigint = (): void => { controller.abort() }
    process.once('SIGINT', onSigint)
    try {
      const { queueTimeout, ...generation } = flags as GenerationFlags & { queueTimeout?: number }
      const call = client.infer({
        ...generation,
        prompt,
        signal: controller.signal,
        queueTimeoutMs: queueTimeout,
        onQueued: notice => { process.stderr.write(`queued (position ${notice.position})\n`) }
      })
      if (wantsJson(cmd)) {
        printJson(await call)
        return
      }
      for await (const text of call) process.stdout.write(text)
      const result = await call
      process.stdout.write('\n')
      process.stderr.write(summary(result) + '\n')
    } finally {
      process.off('SIGINT', onSigint)
    }
  })
}

/** A REPL that keeps the conversation. */
async function runChat (flags: GenerationFlags, cmd: Command): Promise<void> {
  await withClient(cmd, async client => {
    const history: ChatMessage[] = flags.system ? [{ role: 'system', content: flags.system }] : []
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY })
    try {
      for (;;) {
        const line = await rl.question('> ').catch(() => '')
        if (!line.trim()) break
        history.push({ role: 'user', content: line })
        const call = client.infer({ model: flags.model, maxTokens: flags.maxTokens, temperature: flags.temperature, seed: flags.seed, messages: history })
        let answer = ''
        for await (const text of call) {
          answer += text
          process.stdout.write(text)
        }
        const result = await call
        process.stdout.write('\n')
        if (wantsJson(cmd)) printJson(result)
        history.push({ role: 'assistant', content: answer })
      }
    } finally {
      rl.close()
    }
  })
}

/** models, quota, usage: what the mesh serves and what you have used. */
function registerUsageCommands (program: Command): void {
  program.command('models')
    .description('the models the mesh serves now')
    .action(async (_flags: unknown, cmd: Command) => {
      await withClient(cmd, async client => {
        const { models } = await client.models()
        if (wantsJson(cmd)) return printJson({ models })
        if (models.length === 0) return void process.stdout.write('no models: no approved inference worker is up\n')
        const rows = models.map(m => [m.name, String(m.workers), m.backends.join(',') || '-', m.contextLength === null ? '-' : String(m.contextLength)])
        process.stdout.write(table(['MODEL', 'WORKERS', 'BACKEND', 'CONTEXT'], rows))
      })
    })

  program.command('quota')
    .description('your plan\'s limits, what is used and when it resets')
    .option('--api-key <key>', 'API key')
    .action(async (_flags: unknown, cmd: Command) => {
      await withClient(cmd, async client => {
        const q = await client.quota()
        if (wantsJson(cmd)) return printJson(q)
        process.stdout.write(
          `plan ${q.plan}\n` +
          `requests: ${q.requests.used}/${q.requests.limit} this hour, ${q.requests.remaining} left${q.requests.resetAt ? ` (next slot frees at ${q.requests.resetAt})` : ''}\n` +
          `tokens:   ${q.tokens.used}/${q.tokens.limit} today (${q.tokens.reserved} reserved), ${q.tokens.remaining} left, resets ${q.tokens.resetAt}\n`)
      })
    })

  program.command('usage')
    .description('your usage by day and model, and recent requests')
    .option('--days <n>', 'days back', number('--days'), 7)
    .option('--api-key <key>', 'API key')
    .action(async (flags: { days: number }, cmd: Command) => {
      await withClient(cmd, async client => {
        const u = await client.usage({ days: flags.days, recent: 10 })
        if (wantsJson(cmd)) return printJson(u)
        const rows = u.days.flatMap(d => Object.entries(d.models).map(([model, m]) => [d.day, model, String(m.requests), String(m.promptTokens), String(m.completionTokens)]))
        process.stdout.write(rows.length ? table(['DAY', 'MODEL', 'REQUESTS', 'PROMPT', 'COMPLETION'], rows) : 'no usage yet\n')
        if (u.recent.length) {
          process.stdout.write('\nrecent requests\n')
          process.stdout.write(table(['TIME', 'MODEL', 'TOKENS', 'LATENCY', 'STATUS'],
            u.recent.map(r => [r.at, r.model, `${r.promptTokens}+${r.completionTokens}`, `${r.latencyMs.toFixed(0)} ms`, r.status])))
        }
      })
    })
}

export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]?.length ?? 0)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}
