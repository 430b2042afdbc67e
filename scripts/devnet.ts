// `npm start`: a local mesh on 127.0.0.1 — a DHT bootstrap in this process and one process
// per role — with data under ./.hyperinfer (HYPERINFER_HOME). Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import goodbye from 'graceful-goodbye'
import { devnetFile, readDevnetInfo, writeDevnetInfo } from '../shared/config/network.js'
import { formatBootstrap } from '../shared/mesh/dht.js'
import { startLocalBootstrap } from '../shared/mesh/bootstrap.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import type { Role } from '../shared/mesh/topic.js'
import { PACKAGE_ROOT, programEntry } from '../shared/paths.js'
import { models } from '../shared/schemas/gateway.js'
import { BUNDLED_MODEL_NAME, devnetRoles, printBanner } from './devnet-roles.js'

const root = PACKAGE_ROOT
const home = resolve(process.env.HYPERINFER_HOME ?? '.hyperinfer')
const network = process.env.HYPERINFER_NETWORK ?? 'devnet'

const previous = readDevnetInfo(home)
const preferredPort = previous ? Number(previous.bootstrap[0]?.split(':')[1]) : 0
const bootstrap = await startLocalBootstrap(preferredPort).catch(() => startLocalBootstrap(0))
writeDevnetInfo(home, { network, bootstrap: formatBootstrap(bootstrap.bootstrap), pid: process.pid, startedAt: new Date().toISOString() })
console.log(`devnet: bootstrap on ${formatBootstrap(bootstrap.bootstrap).join(', ')}, data in ${home}`)

const children = new Map<Role, ChildProcess>()
let stopping = false

function startRole (role: Role, args: string[]): void {
  // Compiled (npm start) the children run from dist/ without tsx; from source (tests) through tsx.
  const { file, execArgv } = programEntry(`services/${role}/main`)
  const child = spawn(process.execPath, [...execArgv, file, '--home', home, ...args], {
    cwd: root,
    env: { ...process.env, HYPERINFER_HOME: home, HYPERINFER_NETWORK: network },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  children.set(role, child)
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`devnet: ${role} exited (${signal ?? code}); stop with Ctrl-C and run \`npm start\` again`)
  })
}

const roles = devnetRoles(root).filter(r => existsSync(programEntry(`services/${r.role}/main`).file))
for (const { role, args } of roles) startRole(role, args)

const client = new MeshClient({ network: { name: network }, bootstrap: bootstrap.bootstrap })
// A second Ctrl-C while stopping must not kill the devnet before its children are gone.
const ignoreRepeat = (): void => { if (stopping) console.log('devnet: still stopping (children get 15 s at most)') }
process.on('SIGINT', ignoreRepeat)
process.on('SIGTERM', ignoreRepeat)
goodbye(async () => {
  stopping = true
  console.log('devnet: stopping')
  await Promise.all([...children.values()].map(child => new Promise<void>(done => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    child.once('exit', () => done())
    child.kill('SIGTERM')
  })))
  await client.close()
  await bootstrap.close()
  rmSync(devnetFile(home), { force: true })
  console.log('devnet: stopped')
  process.exit(0)
})

/** Ready means a request can be served: the worker is approved and routed to by the gateway. */
async function untilGatewayServes (model: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [gateway] = await client.discovery.waitFor('gateway', { timeoutMs })
    const served = await client.client(gateway.publicKey).call(models, {}).then(r => r.models.some(m => m.name === model), () => false)
    if (served) return
    if (Date.now() > deadline) throw new Error(`the gateway does not serve ${model} after ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

try {
  await Promise.all(roles.map(({ role }) => client.discovery.waitFor(role, { timeoutMs: 120_000 })))
  await untilGatewayServes(BUNDLED_MODEL_NAME, 120_000)
  printBanner({ home, roles: roles.map(r => r.role), bootstrap: formatBootstrap(bootstrap.bootstrap) })
} catch (err) {
  console.error(`devnet: not every role came up: ${(err as Error).message}`)
}
