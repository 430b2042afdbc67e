// The baseline of bench:openai: a plain HTTP reverse proxy (node:http, keep-alive) on 127.0.0.1, which
// is what an HTTP gateway in front of an upstream costs at the least. It forwards every request to
// --target as it is and streams the answer back.
// node dist/scripts/bench/plain-proxy.js --port N --target http://127.0.0.1:M
import { Agent, createServer, request } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' } } })
if (values.port === undefined || values.target === undefined) throw new Error('usage: plain-proxy --port N --target http://127.0.0.1:M')
const target = new URL(values.target)
if (target.hostname !== '127.0.0.1') throw new Error('plain-proxy forwards to 127.0.0.1 only')

const agent = new Agent({ keepAlive: true, maxSockets: 256 })
const server = createServer((req, res) => {
  const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, answer => {
    res.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(res)
  })
  upstream.on('error', err => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
    res.end(err.message)
  })
  req.pipe(upstream)
})
server.keepAliveTimeout = 60_000
server.listen(Number(values.port), '127.0.0.1')
process.once('SIGTERM', () => { server.close(); agent.destroy(); server.closeAllConnections() })
