import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { z } from 'zod'
import { HyperinferError } from '../errors.js'

const run = promisify(execFile)

/** A CPU list as Linux writes it (`2`, `0-3`, `0,2-3`): what taskset and /proc/PID/status use. */
export const cpuList = z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'a CPU list such as 2, 0-3 or 0,2-3')

/**
 * Pins every thread of a process (and the threads it starts later, which inherit the mask) to these CPUs:
 * an operator keeps a worker on cores of its own, away from other load. node-llama-cpp hands each token
 * between the JS thread and a compute thread twice; on one core those handoffs need no idle core to wake.
 * A one-thread worker pinned to one core of a 2-vCPU VM generated stories260K at 1,536 tokens/s against
 * 1,356 unpinned (means of 3 paired npm run bench:inference runs, BENCH_CPU=none for the unpinned ones).
 */
export async function pinToCpus (pid: number, cpus: string): Promise<void> {
  const list = cpuList.safeParse(cpus)
  if (!list.success) throw new HyperinferError('INVALID_ARGUMENT', `invalid CPU list "${cpus}": ${list.error.issues[0]?.message ?? ''}`)
  if (process.platform !== 'linux') {
    throw new HyperinferError('INVALID_ARGUMENT', `pinning to CPUs (${cpus}) needs Linux; this is ${process.platform}: start without --cpus`)
  }
  try {
    await run('taskset', ['--all-tasks', '--pid', '--cpu-list', list.data, String(pid)], { timeout: 5_000 })
  } catch (err) {
    const reason = (err as { code?: unknown }).code === 'ENOENT'
      ? 'taskset is not installed (Debian: apt-get install util-linux)'
      : String((err as { stderr?: unknown }).stderr ?? (err as Error).message).trim()
    throw new HyperinferError('INVALID_ARGUMENT', `cannot pin process ${pid} to CPUs ${cpus}: ${reason}`, { cause: err })
  }
}

/** The CPUs a process may run on, as the kernel lists them. */
export async function allowedCpus (pid: number | 'self' = 'self'): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? ''
}
