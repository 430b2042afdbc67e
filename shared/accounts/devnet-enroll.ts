import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { devnetFile, readDevnetInfo, type DevnetInfo } from '../config/network.js'
import { HyperinferError } from '../errors.js'
import type { NodeRole } from '../mesh/topic.js'

/**
 * How the local devnet approves its own nodes and nothing else: each node it starts leaves
 * `<role>.<publicKey>` in a dir under the home that only this user can write, and the devnet's
 * auth node approves what it finds there. A stranger announcing on a topic is never approved.
 */
export function enrollDir (home: string): string {
  return join(home, 'devnet-enroll')
}

export function enrollNode (home: string, role: NodeRole, publicKey: Buffer): void {
  const dir = enrollDir(home)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(join(dir, `${role}.${publicKey.toString('hex')}`), '', { mode: 0o600 })
}

/** The devnet's auth node writes its key into devnet.json, where every node and client pins it. */
export function publishAuthKey (home: string, authKey: Buffer, accountsKey: Buffer): void {
  const info = readDevnetInfo(home)
  if (!info) return
  const updated: DevnetInfo = { ...info, authKey: authKey.toString('hex'), accountsKey: accountsKey.toString('hex') }
  // Renamed into place: other processes read the file while it is written.
  const tmp = `${devnetFile(home)}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(updated, null, 2) + '\n')
  renameSync(tmp, devnetFile(home))
}

/** Nodes of the devnet start beside its auth node: wait until it has published its key. */
export async function waitForDevnetAuthKey (home: string, timeoutMs: number): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let key: string | undefined
    try {
      key = readDevnetInfo(home)?.authKey
    } catch {
      // Caught mid-write by another process: read again.
    }
    if (key) return Buffer.from(key, 'hex')
    if (Date.now() > deadline) {
      throw new HyperinferError('UNAVAILABLE', `the devnet's auth node did not publish its key in ${home}/devnet.json within ${timeoutMs} ms`)
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}
