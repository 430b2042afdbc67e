import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { formatBootstrap } from '../shared/mesh/dht.js'
import { once } from 'node:events'
import t from 'tap'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { usage } from '../shared/schemas/gateway.js'
import { programArgs } from './helpers/program.js'
import { until } from './helpers/until.js'
import { embedText } from '../scripts/fakes/openai-server.js'
import { createCompatMesh } from './helpers/compat.js'

const REPLY = 'Once upon a time there was a fake upstream that streamed slowly.'
const WORDS = REPLY.split(' ')

t.test('the ollama client against the proxy; curl -N sees SSE chunks as they are produced', async t => {
  let release: () => void = () => {}
  const held = new Promise<void>(resolve => { release = resolve })
  // the upstream streams three words, then waits for the test before the rest
  const compat = await createCompatMesh(t, { fake: { reply: REPLY, hold: { index: 3, until: held } } })
  const { proxy, web, key, fake, platform } = compat
  const ollama = new Ollama({ host: proxy.url })

  await t.test('curl -N through web /v1 shows chunks before the upstream finishes', async t => {
    const curl = spawn('curl', ['-sN', `${web.url}/v1/chat/completions`, '-H', `Authorization: Bearer ${key}`, '-H', 'content-type: application/json',
      '-d', JSON.stringify({ model: 'gpt-fake', stream: true, messages: [{ role: 'user', content: 'tell me' }] })], { stdio: ['ignore', 'pipe', 'inherit'] })
    t.teardown(() => { curl.kill() })
    let out = ''
    const content = (): string => out.split('\n').filter(l => l.startsWith('data: {')).map(l => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '').join('')
    const closed = once(curl, 'close')
    const shows = (text: string): Promise<void> => new Promise((resolve, reject) => {
      const check = (): void => {
        if (content() !== text) return
        curl.stdout.off('data', onData)
        resolve()
      }
      const onData = (data: Buffer): void => { out += String(data); check() }
      curl.stdout.on('data', onData)
      void closed.then(() => { reject(new Error(`curl ended without printing "${text}": ${out}`)) })
    })
    await shows(WORDS.slice(0, 3).join(' '))
    t.equal(content(), WORDS.slice(0, 3).join(' '), 'curl printed the first three words while the upstream still holds the rest')
    t.notOk(out.includes('[DONE]'), 'and the stream is still open')
    t.equal(fake.requests.length, 1, 'one upstream request, still running')
    curl.stdout.on('data', (data: Buffer) => { out += String(data) })
    release()
    await closed
    t.equal(content(), REPLY)
    t.ok(out.trimEnd().endsWith('data: [DONE]'), 'ends with data: [DONE]')
  })

  await t.test('a client that leaves mid-stream stops the upstream and is billed for what was produced', async t => {
    let releaseAgain: () => void = () => {}
    fake.options.hold = { index: 3, until: new Promise<void>(resolve => { releaseAgain = resolve }) }
    const abortsBefore = fake.clientAborts
    const sdk = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: key })
    const stream = await sdk.chat.completions.create({ model: 'gpt-fake', stream: true, messages: [{ role: 'user', content: 'leave early' }] })
    let text = ''
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (text === WORDS.slice(0, 3).join(' ')) break // leaving the loop aborts the HTTP request
    }
    const gatewayClient = web.node.client(platform.gateway.node.publicKey)
    const record = await until('the cancelled request in the usage log', async () =>
      (await gatewayClient.call(usage, { apiKey: key, recent: 5 })).recent.find(r => r.status === 'CANCELLED'), { timeoutMs: 15_000 })
    t.equal(record.completionTokens, 3, 'billed for the three tokens produced')
    releaseAgain()
    await until('the upstream to see its client go', async () => fake.clientAborts > abortsBefore, { timeoutMs: 15_000 })
    t.equal(fake.clientAborts, abortsBefore + 1, 'the worker closed its upstream request')
    fake.options.hold = undefined
  })

  await t.test('`hyperinfer proxy` prints its base URL and the lines to export, and serves with the key it was given', async t => {
    const dir = platform.mesh.dir('cli')
    const child = spawn(process.execPath, [...programArgs('client-cli/main'), '--network', platform.mesh.network.name, '--bootstrap', formatBootstrap(platform.mesh.bootstrap).join(','), 'proxy', '--port', '0', '--api-key', key], {
      env: { ...process.env, HYPERINFER_HOME: dir, HYPERINFER_CONFIG_DIR: dir, HYPERINFER_API_KEY: '', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const exited = once(child, 'exit')
    t.teardown(() => { child.kill('SIGKILL') })
    let out = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        out += String(data)
        if (/export OLLAMA_HOST=.*\n/.test(out)) resolve()
      })
      void exited.then(() => { reject(new Error(`proxy exited: ${out}`)) })
    })
    const baseUrl = /^export OPENAI_BASE_URL=(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(out)?.[1]
    const apiKey = /^export OPENAI_API_KEY=(\S+)$/m.exec(out)?.[1]
    t.ok(baseUrl, 'prints OPENAI_BASE_URL on loopback')
    t.ok(apiKey, 'prints OPENAI_API_KEY')
    t.notOk(out.includes(key), 'the key itself is not printed')
    const answer = await new OpenAI({ baseURL: baseUrl, apiKey }).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hi' }] })
    t.equal(answer.choices[0].message.content, REPLY)
    child.kill('SIGTERM')
    const [code] = await exited
    t.equal(code, 0, 'stops cleanly on SIGTERM')
  })

  await t.test('chat, streamed', async t => {
    let text = ''
    let final = null
    for await (const part of await ollama.chat({ model: 'gpt-fake', messages: [{ role: 'user', content: 'hello' }], stream: true })) {
      text += part.message.content
      if (part.done) final = part
    }
    t.equal(text, REPLY)
    t.match(final, { done: true, done_reason: 'stop', eval_count: WORDS.length, prompt_eval_count: 1 })
  })

  await t.test('chat with a tool, not streamed', async t => {
    const answer = await ollama.chat({
      model: 'gpt-fake',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]
    })
    t.same(answer.message.tool_calls, [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }])
  })

  await t.test('generate', async t => {
    const answer = await ollama.generate({ model: 'gpt-fake', prompt: 'Once', options: { num_predict: 4 } })
    t.equal(answer.response, WORDS.slice(0, 4).join(' '))
    t.equal(answer.done_reason, 'length')
    t.equal(answer.eval_count, 4)
    let streamed = ''
    for await (const part of await ollama.generate({ model: 'gpt-fake', prompt: 'Once', stream: true })) streamed += part.response
    t.equal(streamed, REPLY)
  })

  await t.test('tags, embed, version', async t => {
    const tags = await ollama.list()
    t.same(tags.models.map(m => m.name), ['gpt-fake'])
    const embedded = await ollama.embed({ model: 'gpt-fake', input: ['some text', 'more'] })
    t.same(embedded.embeddings, ['some text', 'more'].map(s => embedText(s).map(Math.fround)))
    t.equal(embedded.prompt_eval_count, 3)
    t.type((await ollama.version()).version, 'string')
  })

  await t.test('errors', async t => {
    const missing = await ollama.chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch(err => err)
    t.equal(missing.status_code, 404, 'unknown model: 404 as Ollama answers it')
    const wrongKey = new Ollama({ host: proxy.url, headers: { Authorization: 'Bearer hi_' + 'y'.repeat(43) } })
    const refused = await wrongKey.generate({ model: 'gpt-fake', prompt: 'x' }).catch(err => err)
    t.equal(refused.status_code, 401, 'a request with its own hi_ key runs with that key')
  })
})
