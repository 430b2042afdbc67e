// `npm start`: a local mesh on 127.0.0.1 — a DHT bootstrap in this process and one process
// per role — with data under ./.hyperinfer (HYPERINFER_HOME). A role that crashes is restarted
// with backoff (5 restarts a minute at most). Ctrl-C stops everything.
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import goodbye from 'graceful-goodbye'
import { devnetFile, readDevnetInfo, writeDevnetInfo } from '../shared/config/network.js'
import { formatBootstrap } from '../shared/mesh/dht.js'
import { startLocalBootstrap } from '../shared/mesh/bootstrap.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { enrollNode } from '../shared/accounts/devnet-enroll.js'
import type { NodeRole } from '../shared/mesh/topic.js'
import { PACKAGE_ROOT, programEntry } from '../shared/paths.js'
import { roleLaunch } from '../shared/role/process-tuning.js'
import { models } from '../shared/schemas/gateway.js'
import { BUNDLED_MODEL_NAME, devnetRoles, printBanner } from './devnet-roles.js'
import { Supervisor } from './devnet-supervisor.js'

const root = PACKAGE_ROOT
const home = resolve(process.env.HYPERINFER_HOME ?? '.hyperinfer')
const network = process.env.HYPERINFER_NETWORK ?? 'devnet'

const previous = readDevnetInfo(home)
const preferredPort = previous ? Number(previous.bootstrap[0]?.split(':')[1]) : 0
const bootstrap = await startLocalBootstrap(preferredPort).catch(() => startLocalBootstrap(0))
writeDevnetInfo(home, { network, bootstrap: formatBootstrap(bootstrap.bootstrap), pid: process.pid, startedAt: new Date().toISOString() })
console.log(`devnet: bootstrap on ${formatBootstrap(bootstrap.bootstrap).join(', ')}, data in ${home}`)

let stopping = false
const supervisor = new Supervisor()
// Extra node flags for every role, e.g. DEVNET_NODE_ARGS=--cpu-prof to profile an idle mesh.
const nodeArgs = (process.env.DEVNET_NODE_ARGS ?? '').split(' ').filter(Boolean)

function startRole (role: NodeRole, args: string[]): void {
  // Compiled (npm start) the children run from dist/ without tsx; from source (tests) through tsx.
  const launch = roleLaunch(programEntry('services/main'), [role, '--home', home, ...args], { ...process.env, HYPERINFER_HOME: home, HYPERINFER_NETWORK: network }, nodeArgs)
  supervisor.start({ name: role, command: process.execPath, args: launch.args, cwd: root, env: launch.env })
}

const roles = devnetRoles(root)
for (const { role, args } of roles) startRole(role, args)

const client = new MeshClient({ network: { name: network }, bootstrap: bootstrap.bootstrap })
// Workers and the web node take connections only from approved nodes: the supervisor's probes are
// approved like the devnet's own nodes (as a metrics reader: health and metrics, nothing else).
enrollNode(home, 'metrics', client.publicKey)
// A second Ctrl-C while stopping must not kill the devnet before its children are gone.
const ignoreRepeat = (): void => { if (stopping) console.log('devnet: still stopping (children get 15 s at most)') }
process.on('SIGINT', ignoreRepeat)
process.on('SIGTERM', ignoreRepeat)
goodbye(async () => {
  stopping = true
  console.log('devnet: stopping')
  clearInterval(progress)
  await supervisor.stop()
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

// A loaded machine can take minutes to start a role (the devnet used to give up on the inference node
// at 120 s, 40 s before it served); it says what it waits for meanwhile, and crashed roles restart.
const READY_TIMEOUT_MS = Number(process.env.DEVNET_READY_TIMEOUT_MS ?? 600_000)

/** While starting, say every few seconds what the devnet still waits for. */
const waitingFor = new Map<string, string>(roles.map(({ role }) => [role, 'not found on the DHT yet']))
waitingFor.set('routing', `the gateway to route ${BUNDLED_MODEL_NAME}`)
const progress = setInterval(() => {
  if (waitingFor.size > 0) console.log(`devnet: waiting for ${[...waitingFor].map(([what, state]) => what === 'routing' ? state : `${what} (${state})`).join(', ')}`)
}, 5_000)
progress.unref()
supervisor.on('failed', (role: string) => { waitingFor.delete(role) })

try {
  await Promise.all(roles.map(async ({ role }) => {
    await client.discovery.waitFor(role, { timeoutMs: READY_TIMEOUT_MS })
    waitingFor.delete(role)
  }))
  await untilGatewayServes(BUNDLED_MODEL_NAME, READY_TIMEOUT_MS)
  waitingFor.delete('routing')
  printBanner({ home, roles: roles.map(r => r.role), bootstrap: formatBootstrap(bootstrap.bootstrap) })
} catch (err) {
  console.error(`devnet: not every role came up: ${(err as Error).message}`)
} finally {
  clearInterval(progress)
  // Ready: the devnet's own client has nothing left to look for; watching five roles forever cost CPU.
  for (const { role } of roles) client.discovery.unwatch(role)
}
