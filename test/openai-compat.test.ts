import t from 'tap'
import OpenAI from 'openai'
import { embedText } from '../scripts/fakes/openai-server.js'
import { quota, usage } from '../shared/schemas/gateway.js'
import { AIInferenceClient } from '../client-cli/http-client.js'
import { HyperinferError } from '../shared/errors.js'
import { createCompatMesh } from './helpers/compat.js'

const REPLY = 'Hello from the fake model, streamed in pieces.'
const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }
}

t.test('the official openai SDK against web /v1 and against the proxy', async t => {
  const compat = await createCompatMesh(t, { fake: { reply: REPLY } })
  const { web, proxy, key, tinyKey, fake, platform } = compat
  const gatewayClient = web.node.client(platform.gateway.node.publicKey)
  const surfaces = [
    // the SDKs only need baseURL and apiKey
    { name: 'web', sdk: (apiKey = key) => new OpenAI({ baseURL: `${web.url}/v1`, apiKey }) },
    { name: 'proxy', sdk: (apiKey = 'hyperinfer-proxy') => new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey }) }
  ]

  for (const { name, sdk } of surfaces) {
    await t.test(`${name}: chat completion, not streamed, with usage`, async t => {
      const { data: answer, response } = await sdk().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Say hello' }] }).withResponse()
      t.equal(answer.object, 'chat.completion')
      t.equal(answer.choices[0].message.content, REPLY)
      t.equal(answer.choices[0].finish_reason, 'stop')
      t.equal(answer.usage?.completion_tokens, REPLY.split(' ').length, 'completion tokens as the upstream counted them')
      t.equal(answer.usage?.prompt_tokens, 2)
      t.equal(answer.usage?.total_tokens, 2 + REPLY.split(' ').length)
      t.match(response.headers.get('x-request-id'), /^req_[0-9a-f]{32}$/)
    })

    await t.test(`${name}: chat completion streamed, with include_usage`, async t => {
      const stream = await sdk().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Say hello' }], stream: true, stream_options: { include_usage: true } })
      let text = ''
      let usage = null
      let finish = null
      let chunks = 0
      for await (const chunk of stream) {
        chunks++
        text += chunk.choices[0]?.delta?.content ?? ''
        finish ??= chunk.choices[0]?.finish_reason ?? null
        if (chunk.usage) usage = chunk.usage
      }
      t.equal(text, REPLY)
      t.equal(finish, 'stop')
      t.ok(chunks >= REPLY.split(' ').length, 'one chunk per token at least')
      t.same(usage, { prompt_tokens: 2, completion_tokens: REPLY.split(' ').length, total_tokens: 2 + REPLY.split(' ').length })
    })

    await t.test(`${name}: prompt tokens the upstream had cached are reported as OpenAI reports them`, async t => {
      // the fake caches like OpenAI: a shared prefix of 1,024 tokens or more, in steps of 128
      const prefix = 'word '.repeat(1100)
      const first = await sdk().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: `${prefix}question one` }] })
      t.equal(first.usage?.prompt_tokens_details, undefined, 'nothing cached the first time')
      const second = await sdk().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: `${prefix}question two` }], stream: true, stream_options: { include_usage: true } })
      let usage = null
      for await (const chunk of second) if (chunk.usage) usage = chunk.usage
      t.same(usage, { prompt_tokens: 1102, completion_tokens: REPLY.split(' ').length, total_tokens: 1102 + REPLY.split(' ').length, prompt_tokens_details: { cached_tokens: 1024 } })
    })

    await t.test(`${name}: completions`, async t => {
      const answer = await sdk().completions.create({ model: 'gpt-fake', prompt: 'Once upon a time', max_tokens: 3 })
      t.equal(answer.choices[0].text, REPLY.split(' ').slice(0, 3).join(' '))
      t.equal(answer.choices[0].finish_reason, 'length')
      t.equal(answer.usage?.completion_tokens, 3)
    })

    await t.test(`${name}: embeddings`, async t => {
      const answer = await sdk().embeddings.create({ model: 'gpt-fake', input: ['first text', 'second'] })
      t.equal(answer.data.length, 2)
      // the SDK asks for base64 (float32) and decodes it
      for (const [i, input] of ['first text', 'second'].entries()) {
        t.same(answer.data[i].embedding.map(v => Math.round(v * 1e5)), embedText(input).map(v => Math.round(Math.fround(v) * 1e5)), `vector ${i}`)
      }
      t.equal(answer.usage.prompt_tokens, 3)
      const floats = await sdk().embeddings.create({ model: 'gpt-fake', input: 'first text', encoding_format: 'float' })
      // the worker's own openai client fetched them as float32 from the upstream
      t.same(floats.data[0].embedding, embedText('first text').map(Math.fround), 'floats as the worker gave them')
    })

    await t.test(`${name}: models`, async t => {
      const list = await sdk().models.list()
      t.same(list.data.map(m => m.id), ['gpt-fake'])
      t.equal((await sdk().models.retrieve('gpt-fake')).id, 'gpt-fake')
      t.type(await sdk().models.retrieve('no-such-model').catch(err => err), OpenAI.NotFoundError)
    })

    await t.test(`${name}: a tool call relayed from the upstream`, async t => {
      const before = fake.requests.length
      const answer = await sdk().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], tool_choice: 'auto' })
      t.equal(answer.choices[0].finish_reason, 'tool_calls')
      const call = answer.choices[0].message.tool_calls?.[0]
      t.equal(call?.type, 'function')
      t.equal(call?.type === 'function' ? call.function.name : null, 'get_weather')
      t.same(JSON.parse(call?.type === 'function' ? call.function.arguments : '{}'), { city: 'Paris' })
      t.same((fake.requests[before].body.tools as unknown[])[0], WEATHER_TOOL, 'the upstream got the tool as the client sent it')
      t.equal(fake.requests[before].body.tool_choice, 'auto')

      // streamed: the SDK's helper assembles the deltas
      const runner = sdk().chat.completions.stream({ model: 'gpt-fake', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] })
      let argumentDeltas = 0
      runner.on('chunk', chunk => { if (chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments) argumentDeltas++ })
      const final = await runner.finalChatCompletion()
      const streamed = final.choices[0].message.tool_calls?.[0]
      t.equal(streamed?.type === 'function' ? streamed.function.arguments : null, JSON.stringify({ city: 'Paris' }))
      t.ok(argumentDeltas > 1, 'arguments arrived in several deltas, as the upstream sent them')
      t.equal(final.choices[0].finish_reason, 'tool_calls')

      // the tool's answer goes back up with its call id
      const next = before + 2
      await sdk().chat.completions.create({
        model: 'gpt-fake',
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' }
        ],
        tools: [WEATHER_TOOL]
      })
      t.match(fake.requests[next].body.messages, [{ role: 'user' }, { role: 'assistant', tool_calls: [{ id: 'call_1' }] }, { role: 'tool', tool_call_id: 'call_1', content: 'sunny' }])
    })

    await t.test(`${name}: errors raise the SDK's error classes`, async t => {
      const badKey = sdk('hi_' + 'x'.repeat(43))
      const refused = await badKey.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }).catch(err => err)
      t.type(refused, OpenAI.AuthenticationError)
      t.equal(refused.code, 'invalid_api_key')
      const unknown = await sdk().chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }).catch(err => err)
      t.type(unknown, OpenAI.NotFoundError)
      t.equal(unknown.code, 'model_not_found')
      const many = await sdk().chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], n: 2 }).catch(err => err)
      t.type(many, OpenAI.BadRequestError)
      t.equal(many.param, 'n')
    })
  }

  await t.test('an exhausted plan: RateLimitError with retry-after and x-ratelimit-* headers', async t => {
    for (const { name, sdk } of surfaces) {
      const before = await gatewayClient.call(quota, { apiKey: tinyKey })
      const client = sdk(tinyKey)
      for (let i = before.requests.used; i < 2; i++) await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] })
      const err = await client.chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }).catch(e => e)
      t.type(err, OpenAI.RateLimitError, `${name}: RateLimitError`)
      t.ok(Number(err.headers.get('retry-after')) > 60, `${name}: retry-after in seconds`)
      t.equal(err.headers.get('x-ratelimit-limit-requests'), '2')
      t.equal(err.headers.get('x-ratelimit-remaining-requests'), '0')
      t.match(err.headers.get('x-ratelimit-reset-requests'), /^\d+s$/)
      t.equal(err.headers.get('x-should-retry'), 'false', 'the SDK does not retry for an hour')
    }
    const after = await gatewayClient.call(quota, { apiKey: tinyKey })
    t.equal(after.requests.used, 2, 'the proxy used the key the request brought, not its own')
  })

  await t.test('embeddings are billed like inference: in the usage log with their prompt tokens', async t => {
    const { recent } = await gatewayClient.call(usage, { apiKey: key, recent: 50 })
    const embeddings = recent.filter(r => r.status === 'OK' && r.completionTokens === 0 && r.promptTokens === 3)
    t.ok(embeddings.length >= 2, 'one record per embeddings request through web and proxy')
  })

  await t.test('bad input gets a 400 in OpenAI\'s shape naming the field; the nodes keep serving', async t => {
    const post = async (body: string): Promise<{ status: number, error: any }> => {
      const res = await fetch(`${web.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body })
      return { status: res.status, error: ((await res.json()) as any).error }
    }
    const notJson = await post('{"model": ')
    t.equal(notJson.status, 400)
    t.equal(notJson.error.type, 'invalid_request_error')
    const cases: Array<[string, unknown]> = [
      ['messages', { model: 'gpt-fake', messages: 'hello' }],
      ['temperature', { model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], temperature: 7 }],
      ['max_tokens', { model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }], max_tokens: 10_000_000 }],
      ['messages.0.content.0.type', { model: 'gpt-fake', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }]
    ]
    for (const [param, body] of cases) {
      const answer = await post(JSON.stringify(body))
      t.equal(answer.status, 400, `${param}: 400`)
      t.equal(answer.error.param, param, `${param}: named`)
    }
    const after = await new OpenAI({ baseURL: `${web.url}/v1`, apiKey: key }).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'still there?' }] })
    t.equal(after.choices[0].message.content, REPLY, 'still serving')
  })

  await t.test('AIInferenceClient over HTTP (the seed spec\'s SDK shape)', async t => {
    const answer = await new AIInferenceClient({ apiKey: key, baseUrl: web.url }).inference({ prompt: 'Once upon a time', model: 'gpt-fake', maxTokens: 3 })
    t.equal(answer.text, REPLY.split(' ').slice(0, 3).join(' '))
    t.equal(answer.usage.completionTokens, 3)
    t.equal(answer.finishReason, 'length')
    const refused = await new AIInferenceClient({ apiKey: 'hi_' + 'z'.repeat(43), baseUrl: web.url }).inference({ prompt: 'x', model: 'gpt-fake' }).catch(err => err)
    t.type(refused, HyperinferError)
    t.equal(refused.code, 'UNAUTHENTICATED')
  })

  await t.test('web /v1 needs a key; the proxy uses its own for requests without one', async t => {
    const short = await new OpenAI({ baseURL: `${web.url}/v1`, apiKey: 'short' }).chat.completions.create({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }).catch(err => err)
    t.type(short, OpenAI.AuthenticationError, 'web: a key that is no key')
    const res = await fetch(`${web.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }) })
    t.equal(res.status, 401)
    t.match(await res.json(), { error: { type: 'invalid_request_error', code: 'invalid_api_key', param: null, message: /API key/ } })
    const viaHeader = await fetch(`${web.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }) })
    t.equal(viaHeader.status, 200, 'X-API-Key works too, without any CSRF token')
    const bare = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-fake', messages: [{ role: 'user', content: 'x' }] }) })
    t.equal(bare.status, 200, 'no key: the proxy\'s key')
  })
})
