import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { z } from 'zod'
import { HyperinferError } from '../errors.js'

const run = promisify(execFile)

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/

/** The [first, last] CPU of each range of a list such as `0-3,8`. */
function ranges (list: string): Array<[number, number]> {
  return list.split(',').filter(Boolean).map(range => {
    const [from, to = from] = range.split('-').map(Number)
    return [from, to]
  })
}

/** A CPU list as Linux writes it (`2`, `0-3`, `0,2-3`; a number in a JSON config): what taskset and /proc/PID/status use. */
export const cpuList = z.union([z.number().int().min(0).transform(String), z.string()])
  .refine(list => CPU_LIST.test(list), 'a CPU list such as 2, 0-3 or 0,2-3')
  .refine(list => ranges(list).every(([from, to]) => from <= to), 'a range runs from low to high, e.g. 2-3')

/** The CPU numbers of a list such as `0-3,8`. */
export function expandCpuList (list: string): number[] {
  return ranges(list).flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i))
}

/**
 * Pins every thread of a process (and the threads it starts later, which inherit the mask) to these CPUs.
 * It only limits where the process runs: other processes may still use those CPUs unless they are kept off
 * them too (cpusets, isolcpus). node-llama-cpp hands each token between the JS thread and a compute thread
 * twice; pinned to one core, those handoffs need no other core to wake.
 */
export async function pinToCpus (pid: number, cpus: string): Promise<void> {
  const list = cpuList.safeParse(cpus)
  if (!list.success) throw new HyperinferError('INVALID_ARGUMENT', `invalid CPU list "${cpus}": ${list.error.issues[0]?.message ?? ''}`)
  if (process.platform !== 'linux') {
    throw new HyperinferError('INVALID_ARGUMENT', `pinning to CPUs (${cpus}) needs Linux; this is ${process.platform}: start without --cpus`)
  }
  // taskset --all-tasks exits 0 for a process that does not exist
  if (!existsSync(`/proc/${pid}`)) throw new HyperinferError('NOT_FOUND', `cannot pin process ${pid}: no such process`)
  try {
    await run('taskset', ['--all-tasks', '--pid', '--cpu-list', list.data, String(pid)], { timeout: 5_000 })
  } catch (err) {
    const failure = err as { code?: unknown, killed?: boolean, stderr?: string, message: string }
    if (failure.code === 'ENOENT') throw new HyperinferError('UNAVAILABLE', 'cannot pin to CPUs: taskset is not installed (Debian: apt-get install util-linux)', { cause: err })
    const reason = failure.killed === true ? 'taskset did not answer within 5 s' : (failure.stderr || failure.message).trim()
    throw new HyperinferError('INVALID_ARGUMENT', `cannot pin process ${pid} to CPUs ${cpus}: ${reason}`, { cause: err })
  }
}

/** The CPUs a process may run on, as the kernel lists them. */
export async function allowedCpus (pid: number | 'self' = 'self'): Promise<string> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? ''
}
