import { readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI_BUNDLE } from '../../shared/paths.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** What tsconfig.build.json compiles to dist/. */
const SOURCE_DIRS = ['shared', 'services', 'client-cli', 'scripts']

function * typescriptSources (dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'public') yield * typescriptSources(path)
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      yield path
    }
  }
}

/** Every source has its compiled file, written after the source's last change (tsc's incremental build re-emits only what changed), and the CLI bundle is newer than every source. */
function everySourceBuilt (): boolean {
  let bundledAt: number
  try {
    bundledAt = statSync(CLI_BUNDLE).mtimeMs
  } catch {
    return false
  }
  for (const dir of SOURCE_DIRS) {
    for (const source of typescriptSources(join(ROOT, dir))) {
      const compiled = join(ROOT, 'dist', relative(ROOT, source).replace(/\.ts$/, '.js'))
      try {
        const changedAt = statSync(source).mtimeMs
        if (statSync(compiled).mtimeMs < changedAt || bundledAt < changedAt) return false
      } catch {
        return false
      }
    }
  }
  return true
}

let fresh: boolean | null = null

/** Whether dist/ is a build of the sources as they are now (SOURCE=1 says never use it). */
export function distIsFresh (): boolean {
  fresh ??= !process.env.SOURCE && everySourceBuilt()
  return fresh
}

/**
 * The node arguments that run a program of this package (e.g. `client-cli/main`): the compiled
 * file (for the CLI, the bundle users run) when dist/ is fresh (as the installed package runs; a process starts ~0.4 s sooner without
 * the TypeScript loader), else the source through tsx, so a test never runs a stale build.
 */
export function programArgs (path: string): string[] {
  if (!distIsFresh()) return ['--import=tsx', join(ROOT, `${path}.ts`)]
  return [path === 'client-cli/main' ? CLI_BUNDLE : join(ROOT, 'dist', `${path}.js`)]
}
