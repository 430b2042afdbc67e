import type { RoleProgram } from '../../shared/runner.js'
import { createWebNode } from './index.js'

export const program: RoleProgram = {
  role: 'web',
  describe: 'serve the local dashboard (accounts, API keys, usage charts, mesh status) over HTTP',
  options: cmd => cmd
    .option('--host <addr>', 'HTTP bind address (default 127.0.0.1); env WEB_SERVICE_HOST')
    .option('--port <port>', 'HTTP port (default 3000, 0 = any); env WEB_SERVICE_PORT'),
  configFlags: flags => ({
    'web.host': flags.host,
    'web.port': flags.port === undefined ? undefined : Number(flags.port)
  }),
  async start ({ config, node }) {
    const web = await createWebNode({
      ...node,
      ...config.web
    })
    process.stdout.write(`hyperinfer dashboard: ${web.url}\n`)
    return web
  }
}
