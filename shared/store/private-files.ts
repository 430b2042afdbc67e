import { chmodSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Logger } from '../log.js'

const PRIVATE_DIR = 0o700
const PRIVATE_FILE = 0o600
const GROUP_OR_OTHER = 0o077

/**
 * A node's data dir holds its identity secret key, password hashes and session secrets: only its
 * owner may read it. Files made from now on in this process are private too (the umask also
 * covers what Corestore and RocksDB create); files left readable by an older version are
 * repaired, with a warning naming how many.
 */
export function preparePrivateDir (dir: string, log?: Logger): void {
  restrictUmask()
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR })
  const repaired = repairModes(dir)
  if (repaired > 0) {
    log?.warn({ dir, repaired }, `${repaired} file(s) or dir(s) in ${dir} were readable by other users: now 0600 (files) / 0700 (dirs)`)
  }
}

/** Writes a file only its owner can read, in a dir only its owner can enter (created if missing). */
export function writeSecretFile (file: string, data: string, flag: 'w' | 'wx' = 'w'): void {
  mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR })
  writeFileSync(file, data, { mode: PRIVATE_FILE, flag })
  chmodSync(file, PRIVATE_FILE)
}

/** Makes every file 0600 and every dir 0700 under `root` (itself included); returns how many changed. */
export function repairModes (root: string): number {
  let changed = 0
  const visit = (path: string): void => {
    const stat = lstatSync(path, { throwIfNoEntry: false })
    if (!stat || stat.isSymbolicLink()) return
    const wanted = stat.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE
    if ((stat.mode & 0o777) !== wanted && (stat.mode & GROUP_OR_OTHER) !== 0) {
      chmodSync(path, wanted)
      changed++
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name))
  }
  visit(root)
  return changed
}

function restrictUmask (): void {
  try {
    process.umask(process.umask() | GROUP_OR_OTHER)
  } catch {
    // Worker threads cannot change the umask; repairModes still runs at every start.
  }
}
