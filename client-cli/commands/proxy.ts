import type { Command } from 'commander'
import { HyperinferError } from '../../shared/errors.js'
import { globalOptions } from '../command-context.js'
import { keepProcessAlive } from '../output.js'

/**
 * `hyperinfer proxy`: the OpenAI and Ollama APIs on localhost, forwarded over P2P with the
 * user's key, for applications written against those APIs.
 */
export function registerProxyCommand (program: Command): void {
  program.command('proxy')
    .description('serve the OpenAI (/v1) and Ollama (/api) APIs locally, forwarded over the mesh to a gateway')
    .option('--port <n>', 'port to listen on', value => portNumber(value), 11435)
    .option('--host <address>', 'address to bind (loopback unless you say otherwise)', '127.0.0.1')
    .option('--api-key <key>', 'key for requests that bring none (default: HYPERINFER_API_KEY, else your last created key)')
    .option('--no-default-key', 'use no key of the proxy\'s own: every request must bring its hi_ key')
    .action(async (opts: { port: number, host: string, apiKey?: string, defaultKey: boolean }, cmd: Command) => {
      const flags = globalOptions(cmd)
      const [{ HyperinferClient }, { startProxy }, { MeshClient }, { loadConfig }, { meshConfigFromFlags, resolveMesh }] = await Promise.all([
        import('../client.js'), import('../proxy-server.js'), import('../../shared/mesh/mesh-client.js'),
        import('../../shared/config/load-config.js'), import('../../shared/config/network.js')
      ])
      const mesh = new MeshClient(resolveMesh(loadConfig({ flags: meshConfigFromFlags(flags) })))
      let defaultKey: string | null = null
      try {
        if (opts.defaultKey) defaultKey = new HyperinferClient({ apiKey: opts.apiKey, mesh }).apiKey
      } catch { /* then every request must bring its own hi_ key */ }
      const proxy = await startProxy({ mesh, defaultKey, host: opts.host, port: opts.port })
      keepProcessAlive()
      const lines = [
        `hyperinfer proxy: OpenAI API at ${proxy.url}/v1, Ollama API at ${proxy.url}/api`,
        defaultKey ? 'requests without a hi_ key use your key; a request with another hi_ key uses that one' : 'no API key found: each request must send "Authorization: Bearer hi_..."',
        '',
        `export OPENAI_BASE_URL=${proxy.url}/v1`,
        // any value that is not a hi_ key stands for the proxy's own key: the secret stays out of shells' history
        `export OPENAI_API_KEY=${defaultKey ? 'hyperinfer-proxy' : 'hi_...'}`,
        `export OLLAMA_HOST=${proxy.url}`
      ]
      process.stdout.write(lines.join('\n') + '\n')
      if (defaultKey && !isLoopback(opts.host)) {
        process.stderr.write(`warning: listening on ${opts.host}: anyone who reaches this port uses your API key; start it with --no-default-key so that each request must bring its own\n`)
      }
      const stop = async (): Promise<void> => {
        await proxy.close()
        await mesh.close()
        process.exit(0)
      }
      process.once('SIGINT', () => { void stop() })
      process.once('SIGTERM', () => { void stop() })
    })
}

function portNumber (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new HyperinferError('INVALID_ARGUMENT', `--port must be a port number, not "${value}"`)
  return n
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
