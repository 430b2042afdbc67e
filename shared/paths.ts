import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The checkout's root (where package.json is), whether this code runs as TypeScript from the
 * source tree or compiled under dist/: assets (config/, web pages, the bundled model next to the
 * checkout) are found from here, never relative to the running file.
 */
function findPackageRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)))

/** The `hyperinfer` command as installed (package.json's bin): the bundle `npm run build` writes after tsc. */
export const CLI_BUNDLE = join(PACKAGE_ROOT, 'dist', 'cli', 'main.mjs')

/** True when this code runs compiled (from dist/, or bundled as the CLI's .mjs): spawn siblings as .js, without tsx. */
export const COMPILED = !import.meta.url.endsWith('.ts')

/** A program of this package, e.g. `services/gateway/main`, as the file and node flags to run it with (by default compiled when this code is). */
export function programEntry (path: string, compiled = COMPILED): { file: string, execArgv: string[] } {
  return compiled
    ? { file: join(PACKAGE_ROOT, 'dist', `${path}.js`), execArgv: [] }
    : { file: join(PACKAGE_ROOT, `${path}.ts`), execArgv: ['--import=tsx'] }
}
