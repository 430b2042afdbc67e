import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { loadConfig } from '../shared/config/load-config.js'
import { decodeJoin, encodeJoin, meshConfigFromFlags, resolveMesh } from '../shared/config/network.js'
import { formatBootstrap } from '../shared/mesh/dht.js'
import { startTestnet } from '../shared/mesh/bootstrap.js'
import { runCli } from './helpers/cli.js'
import { programArgs } from './helpers/program.js'
import { until } from './helpers/until.js'

// Each subtest starts real nodes and CLI processes, one after another; on 2 busy cores that is more than the 180 s default.
t.setTimeout(300_000)

const ROOT = join(import.meta.dirname, '..')

t.test('a join string packs network, secret and bootstrap, and refuses anything else', async t => {
  const join = encodeJoin({ network: 'lab', secret: 's3cret', bootstrap: ['10.0.0.5:49737', '10.0.0.6:49737'] })
  t.match(join, /^hyperinfer1:[A-Za-z0-9_-]+$/, 'one copyable token')
  t.same(decodeJoin(`  ${join}\n`), { network: 'lab', secret: 's3cret', bootstrap: ['10.0.0.5:49737', '10.0.0.6:49737'] })
  t.throws(() => decodeJoin('lab:s3cret'), { code: 'INVALID_ARGUMENT', message: /hyperinfer init/ })
  t.throws(() => decodeJoin('hyperinfer1:!!!'), { code: 'INVALID_ARGUMENT' })
  t.throws(() => decodeJoin('hyperinfer1:' + Buffer.from('{"n":"x","b":[]}').toString('base64url')), { code: 'INVALID_ARGUMENT', message: /b/ })
  t.throws(() => decodeJoin('hyperinfer1:' + Buffer.from('{"n":"x","b":["nohost"]}').toString('base64url')), { code: 'INVALID_ARGUMENT', message: /host:port/ })
  t.throws(() => encodeJoin({ network: 'x', bootstrap: ['bad'] }), { code: 'INVALID_ARGUMENT' })
})

t.test('one precedence rule: flags > env > config file > defaults; a join string sits at its own level', async t => {
  const home = t.testdir()
  const join = encodeJoin({ network: 'joined', secret: 'js', bootstrap: ['10.0.0.5:1'] })
  const mesh = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    const fullEnv = { HYPERINFER_HOME: home, ...env }
    return resolveMesh(loadConfig({ env: fullEnv, flags: meshConfigFromFlags(flags, fullEnv) }))
  }
  t.throws(() => mesh({}), { code: 'UNAVAILABLE', message: /--join/ }, 'defaults alone name no mesh, and the error says what to pass')
  t.same(mesh({}, { HYPERINFER_BOOTSTRAP: '10.0.0.9:2' }).network, { name: 'devnet', secret: undefined }, 'name from config/default.json')
  const fromEnv = mesh({}, { HYPERINFER_NETWORK: 'envnet', HYPERINFER_NETWORK_SECRET: 'es', HYPERINFER_BOOTSTRAP: '10.0.0.9:2' })
  t.same(fromEnv.network, { name: 'envnet', secret: 'es' })
  const flagged = mesh({ network: 'flagnet', networkSecret: 'fs', bootstrap: '10.0.0.7:3' }, { HYPERINFER_NETWORK: 'envnet', HYPERINFER_NETWORK_SECRET: 'es', HYPERINFER_BOOTSTRAP: '10.0.0.9:2' })
  t.same(flagged.network, { name: 'flagnet', secret: 'fs' }, 'flags win over env')
  t.same(flagged.bootstrap, [{ host: '10.0.0.7', port: 3 }])
  const joined = mesh({ join }, { HYPERINFER_NETWORK: 'envnet' })
  t.same(joined.network, { name: 'joined', secret: 'js' }, '--join is a flag: it wins over env')
  t.same(mesh({ join, network: 'override' }).network.name, 'override', 'a single flag beside --join wins')
  const envJoin = mesh({}, { HYPERINFER_JOIN: join, HYPERINFER_NETWORK: 'envnet' })
  t.same(envJoin.network, { name: 'envnet', secret: 'js' }, 'HYPERINFER_JOIN fills only what no single env variable set')
  t.equal(mesh({ publicNetwork: true }).publicNetwork, true)
  t.equal(mesh({}, { HYPERINFER_PUBLIC_NETWORK: 'true' }).publicNetwork, true)
})

interface Spawned { child: ChildProcess, stdout: () => string, stderr: () => string, stop (): Promise<void> }

function spawnCli (args: string[], env: NodeJS.ProcessEnv, t: { teardown (fn: () => unknown): void }): Spawned {
  const child = spawn(process.execPath, [...programArgs('client-cli/main'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', chunk => { out += chunk })
  child.stderr!.on('data', chunk => { err += chunk })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
  t.teardown(stop)
  return { child, stdout: () => out, stderr: () => err, stop }
}

t.test('--network, --network-secret, --bootstrap and --join work on nodes and client commands, before or after the command', async t => {
  const testnet = await startTestnet(3)
  t.teardown(() => testnet.close())
  const bootstrap = formatBootstrap(testnet.bootstrap).join(',')
  const home = t.testdir({ home: {}, config: {} })
  const env = { HYPERINFER_HOME: join(home, 'home'), HYPERINFER_CONFIG_DIR: join(home, 'config'), HYPERINFER_BOOTSTRAP: '', HYPERINFER_NETWORK: '', HYPERINFER_NETWORK_SECRET: '', LOG_LEVEL: 'info' }
  const mesh = ['--network', 'flagnet', '--network-secret', 'shh', '--bootstrap', bootstrap]
  const listening = (p: Spawned, role: string): Promise<string> =>
    until(`${role} node listening`, async () => new RegExp(`"publicKey":"([0-9a-f]{64})".*${role} node listening`).exec(p.stderr())?.[1], { timeoutMs: 60_000 })

  // An auth node with the mesh flags after the role; two metrics nodes that pin it, one with the
  // flags before the role, one with a join string that carries everything.
  const after = spawnCli(['node', 'auth', '--data-dir', join(home, 'a'), ...mesh], env, t)
  const authKey = await listening(after, 'auth')
  const joinString = encodeJoin({ network: 'flagnet', secret: 'shh', bootstrap: formatBootstrap(testnet.bootstrap), authKey })
  const before = spawnCli([...mesh, '--auth-key', authKey, 'node', 'metrics', '--port', '0', '--data-dir', join(home, 'b')], env, t)
  const joined = spawnCli(['node', 'metrics', '--port', '0', '--data-dir', join(home, 'c'), '--join', joinString], env, t)
  const keys = [authKey, await listening(before, 'metrics'), await listening(joined, 'metrics')]
  for (const p of [after, before, joined]) {
    t.match(p.stderr(), /"network":"flagnet"/, 'the node is on the network the flags named')
    t.equal(p.stdout(), '', 'a node writes its logs to stderr, nothing to stdout')
  }
  t.match(after.stderr(), /join string for every other host of this mesh: hyperinfer1:/, 'the auth node prints the join string for the other hosts')
  const printed = /join string for every other host of this mesh: (hyperinfer1:[A-Za-z0-9_-]+)/.exec(after.stderr())?.[1] ?? ''
  t.same(decodeJoin(printed), { network: 'flagnet', secret: 'shh', bootstrap: formatBootstrap(testnet.bootstrap), authKey }, 'with its own key in it')

  const cliOpts = { home: join(home, 'home'), configDir: join(home, 'config'), timeoutMs: 90_000, env: { LOG_LEVEL: 'info' } }
  const nodeKeys = (stdout: string): string[] => JSON.parse(stdout).nodes.map((n: { publicKey: string }) => n.publicKey)
  for (const [label, args] of [
    ['flags after the command', ['status', '--json', '--wait', '0', ...mesh, '--auth-key', authKey]],
    ['flags before the command', [...mesh, '--auth-key', authKey, '--json', 'status', '--wait', '0']],
    ['--join', ['status', '--json', '--wait', '0', '--join', joinString]]
  ] as const) {
    const status = await until(`status (${label}) lists all three nodes`, async () => {
      const run = await runCli([...args], cliOpts)
      return run.code === 0 && keys.every(key => nodeKeys(run.stdout).includes(key)) && run
    }, { timeoutMs: 120_000 })
    t.pass(`status with ${label} found every node`)
    t.doesNotThrow(() => JSON.parse(status.stdout), 'with LOG_LEVEL=info, --json output on stdout is still pure JSON')
    const approval = Object.fromEntries(status.json().nodes.map((n: { publicKey: string, approval: string }) => [n.publicKey, n.approval]))
    t.same([approval[keys[0]], approval[keys[1]], approval[keys[2]]], ['approved', 'not approved', 'not approved'], 'status shows each node\'s approval: the pinned auth node, and metrics nodes nobody approved')
  }
  const wrongSecret = await runCli(['status', '--json', '--wait', '1500', '--network', 'flagnet', '--network-secret', 'wrong', '--bootstrap', bootstrap], cliOpts)
  t.same(nodeKeys(wrongSecret.stdout), [], 'another secret is another mesh')

  for (const [label, args] of [
    ['after', ['network', '--json', '--public-network', '--network', 'pub']],
    ['before', ['--public-network', '--network', 'pub', '--json', 'network']]
  ] as const) {
    const shown = await runCli([...args], cliOpts)
    t.same(shown.json(), { network: 'pub', secret: 'none', bootstrap: [], publicNetwork: true, authKey: null }, `--public-network ${label} the command`)
  }
  const shownJoin = await runCli(['network', '--json', '--join', joinString], cliOpts)
  t.same(shownJoin.json(), { network: 'flagnet', secret: 'set', bootstrap: formatBootstrap(testnet.bootstrap), publicNetwork: false, authKey })
})

t.test('hints name the mesh the command was pointed at', async t => {
  const testnet = await startTestnet(3)
  t.teardown(() => testnet.close())
  const home = t.testdir({ home: {}, config: {} })
  const cliOpts = { home: join(home, 'home'), configDir: join(home, 'config'), timeoutMs: 90_000 }
  const bootstrap = formatBootstrap(testnet.bootstrap).join(',')
  const models = await runCli(['models', '--network', 'far-away', '--bootstrap', bootstrap], cliOpts)
  t.equal(models.code, 1)
  t.match(models.stderr, /UNAVAILABLE/)
  t.match(models.stderr, /network "far-away" via bootstrap 127\.0\.0\.1:\d+/, 'the hint names the network and bootstrap')
  t.notMatch(models.stderr, /npm start|devnet/, 'and not the devnet')
  const nowhere = await runCli(['models'], cliOpts)
  t.match(nowhere.stderr, /--public-network/, 'the flag is named as it is spelled')
  t.notMatch(nowhere.stderr, /--network public/)
})

t.test('`hyperinfer node bootstrap` runs a bootstrapper plus 3 persistent DHT nodes and prints the --bootstrap line', async t => {
  const home = t.testdir({ home: {}, config: {}, data: {} })
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const env = { HYPERINFER_HOME: join(home, 'home'), LOG_LEVEL: 'info' }
  const boot = spawnCli(['node', 'bootstrap', '--host', '127.0.0.1', '--port', String(port)], env, t)
  // stdout and stderr are separate pipes: the log line with the nodes may land after the --bootstrap line.
  const line = await until('the --bootstrap line and the log of the nodes', async () => /"nodes":\[/.test(boot.stderr()) && /^--bootstrap (\S+)$/m.exec(boot.stdout())?.[1], { timeoutMs: 30_000 })
  t.equal(line, `127.0.0.1:${port}`)
  t.match(boot.stderr(), new RegExp(`"nodes":\\["127\\.0\\.0\\.1:${port + 1}","127\\.0\\.0\\.1:${port + 2}","127\\.0\\.0\\.1:${port + 3}"\\]`), 'three persistent nodes on the next ports')
  const metrics = spawnCli(['node', 'metrics', '--port', '0', '--data-dir', join(home, 'data'), '--network', 'booted', '--bootstrap', line], env, t)
  const metricsKey = await until('a node joined through it', async () => /"publicKey":"([0-9a-f]{64})".*metrics node listening/.exec(metrics.stderr())?.[1], { timeoutMs: 30_000 })
  const status = await until('the CLI finds a metrics node through that DHT', async () => {
    const run = await runCli(['status', '--json', '--wait', '15000', '--network', 'booted', '--bootstrap', line], { home: join(home, 'home'), configDir: join(home, 'config'), timeoutMs: 60_000 })
    return run.code === 0 && run.json().nodes.some((n: { role: string }) => n.role === 'metrics') && run
  }, { timeoutMs: 120_000 })
  t.same(status.json().nodes.filter((n: { role: string }) => n.role === 'metrics').map((n: { publicKey: string }) => n.publicKey), [metricsKey], 'the one it found is the node started through that DHT')
  const bad = await runCli(['node', 'bootstrap', '--port', String(port)], { home: join(home, 'home'), configDir: join(home, 'config') })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /INVALID_ARGUMENT.*--host/)
})

t.test('`hyperinfer init` prints a network, a secret and a join string that --join accepts', async t => {
  const home = t.testdir({ home: {}, config: {} })
  const cliOpts = { home: join(home, 'home'), configDir: join(home, 'config') }
  const init = await runCli(['init', '--host', '10.0.0.5', '--json'], cliOpts)
  const made = init.json()
  t.match(made.network, /^mesh-[0-9a-f]{8}$/)
  t.ok(made.secret.length >= 32, 'a long random secret')
  t.same(decodeJoin(made.join), { network: made.network, secret: made.secret, bootstrap: ['10.0.0.5:49737'] })
  const text = (await runCli(['init', '--host', '10.0.0.5', '--name', 'lab'], cliOpts)).stdout
  t.match(text, /hyperinfer node bootstrap --host 10\.0\.0\.5 --port 49737/)
  t.match(text, /hyperinfer node auth --join hyperinfer1:\S+ --admin admin/)
  t.match(text, /join string for every other host/, 'the other hosts take the join string the auth node prints')
  t.match(text, /hyperinfer node inference --join "\$JOIN"/)
  t.match(text, /admin approve-worker/)
  const other = await runCli(['init', '--host', '10.0.0.5'], cliOpts)
  t.notMatch(other.stdout, new RegExp(made.secret), 'every run makes a new secret')
})
