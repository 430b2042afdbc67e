import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { once } from 'node:events'
import { loadConfig } from '../shared/config/load-config.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { allowedCpus, pinToCpus } from '../shared/role/cpu-affinity.js'
import { inferenceModels, inferenceRun } from '../shared/schemas/inference.js'
import { createTestMesh } from './helpers/mesh.js'
import { BUNDLED_MODEL } from './helpers/platform.js'
import { spawnRole } from './helpers/processes.js'
import { until } from './helpers/until.js'

/** Each thread's allowed CPUs, by thread id. */
async function threadCpus (pid: number): Promise<Map<string, string>> {
  const cpus = new Map<string, string>()
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const status = await readFile(`/proc/${pid}/task/${tid}/status`, 'utf8').catch(() => '')
    const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1]
    if (list !== undefined) cpus.set(tid, list)
  }
  return cpus
}

const lastCpu = async (): Promise<string> => {
  const list = await allowedCpus()
  return /(\d+)$/.exec(list)?.[1] ?? '0'
}

async function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGKILL')
  await once(child, 'exit')
}

t.test('every thread of a process, and those it starts later, run on the CPUs it was pinned to', async t => {
  // starts a worker thread on each line of stdin
  const child = spawn(process.execPath, ['-e', `
    const { Worker } = require('node:worker_threads')
    process.stdin.on('data', () => { new Worker('setInterval(() => {}, 1000)', { eval: true }).on('online', () => process.stdout.write('online\\n')) })
    process.stdout.write('ready\\n')`], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => exited(child))
  await once(child.stdout, 'data')
  const cpu = await lastCpu()

  await pinToCpus(child.pid as number, cpu)
  const before = await threadCpus(child.pid as number)
  t.ok(before.size > 1, `${before.size} threads`)
  t.same([...new Set(before.values())], [cpu], 'every thread pinned')

  child.stdin.write('go\n')
  await once(child.stdout, 'data')
  const after = await threadCpus(child.pid as number)
  t.ok(after.size > before.size, `a thread started after pinning (${after.size} threads)`)
  t.same([...new Set(after.values())], [cpu], 'it inherited the CPU list')
})

t.test('a CPU list that is malformed or names no CPU of this machine is a coded error', async t => {
  await t.rejects(pinToCpus(process.pid, 'all'), { code: 'INVALID_ARGUMENT', message: /invalid CPU list "all"/ })
  await t.rejects(pinToCpus(process.pid, '4000'), { code: 'INVALID_ARGUMENT', message: /cannot pin process \d+ to CPUs 4000: .+/ })
  await t.rejects(pinToCpus(process.pid, '3-1'), { code: 'INVALID_ARGUMENT', message: /low to high/ })
  await t.rejects(pinToCpus(2 ** 22 + 1, '0'), { code: 'NOT_FOUND' }, 'a process that does not exist')
  t.throws(() => loadConfig({ env: { INFERENCE_CPUS: '1;2' } }), { code: 'INVALID_ARGUMENT' }, 'refused in config')
  t.equal(loadConfig({ env: { INFERENCE_CPUS: '0,2-3' } }).inference.cpus, '0,2-3')
  t.equal(loadConfig({ env: {}, flags: { 'inference.cpus': 3 } }).inference.cpus, '3', 'a number in a JSON config')
  t.equal(loadConfig({ env: {} }).inference.cpus, undefined, 'unpinned unless asked')
})

t.test('a worker started with --cpus runs every thread, the model\'s included, on those CPUs and serves', async t => {
  const mesh = await createTestMesh(t)
  const cpu = await lastCpu()
  const worker = spawnRole('inference', {
    dataDir: mesh.dir('pinned-worker'),
    network: mesh.network.name,
    bootstrap: mesh.bootstrap,
    args: ['--cpus', cpu, '--llama-model', BUNDLED_MODEL]
  })
  t.teardown(() => worker.stop())
  const client = new MeshClient({ network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 500 })
  t.teardown(() => client.close())
  const [peer] = await client.discovery.waitFor('inference', { timeoutMs: 60_000 })
  const status = await until('the worker to load its model', async () => {
    const s = await client.client(peer.publicKey).call(inferenceModels, {}).catch(() => null)
    return s !== null && s.models.length > 0 ? s : null
  }, { timeoutMs: 60_000 })
  t.same(status.models.map(m => m.name), ['stories260K'])
  const generated = await client.client(peer.publicKey).stream(inferenceRun, { model: 'stories260K', prompt: 'Once', maxTokens: 4 }).result
  t.equal(generated.usage.completionTokens, 4, 'it generates')
  const threads = await threadCpus(worker.child.pid as number)
  t.ok(threads.size > 1, `${threads.size} threads`)
  t.same([...new Set(threads.values())], [cpu], 'every thread on the CPU asked for')
})
