import { setFlagsFromString } from 'node:v8'

/**
 * V8 sizes its heap for throughput: after a burst it lets the old generation grow to several times
 * what is live before the next full collection, and the young generation to 2 x 16 MB. A gateway
 * that had served 10,000 requests in 4 s held 190 MB RSS with 23 MB live (npm run bench). Old
 * space growing by at most half of what is live after each full collection, with semi-spaces of at
 * most 8 MB, held it at 143 MB, 133 MB with ROLE_ENV's glibc settings too, at the same requests per
 * second; paired 5-minute soaks at 1 request a second showed no change in any node's CPU.
 */
const HEAP_GROWING_PERCENT = 50
const MAX_SEMI_SPACE_MB = 8

/** Node flags for a role's process, for whoever starts one (the devnet, benchmarks): V8 reads these at start only. */
export const ROLE_NODE_ARGS: readonly string[] = [`--max-semi-space-size=${MAX_SEMI_SPACE_MB}`]

/**
 * Environment for a role's process. glibc gives each thread that allocates (llama.cpp, libuv's pool,
 * RocksDB) an arena of its own; two are enough here: at 1 request a second the worker's RSS was 122 MB
 * with 2, 132 MB without (8-min soaks). Fixed trim and mmap thresholds stop glibc from raising them
 * after the first large frees, so memory freed after a generation goes back to the system: the worker
 * ended 6-minute 1 req/s soaks at 112 instead of 124.5 MB.
 */
export const ROLE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '131072' }

/**
 * Node's arguments and environment for a process that runs like a role (a role itself, or the soak's
 * model baseline): the program entry (dist/ or tsx), ROLE_NODE_ARGS, any extra node flags, then the
 * program's own arguments; ROLE_ENV under the given environment.
 */
export function roleLaunch (entry: { file: string, execArgv: string[] }, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): { args: string[], env: NodeJS.ProcessEnv } {
  return { args: [...entry.execArgv, ...ROLE_NODE_ARGS, ...nodeArgs, entry.file, ...args], env: { ...ROLE_ENV, ...env } }
}

/** Bounds old-space growth in this process; V8 reads this flag whenever it sets its next limit, so it holds however the process started. */
export function limitHeapGrowth (): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}
