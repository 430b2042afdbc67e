import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { enrollFromDir } from '../services/auth/devnet-approvals.js'
import type { AccountStore } from '../services/auth/store.js'
import type { MeshNode } from '../shared/mesh/mesh-node.js'
import { createLogger } from '../shared/log.js'

t.test('the devnet enrolment dir is watched: a node enrolled after start is approved on the change, without polling', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'enrol-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const early = 'a'.repeat(64)
  const late = 'b'.repeat(64)
  writeFileSync(join(dir, `gateway.${early}`), '')
  const approved: string[] = []
  let onApproved: () => void = () => {}
  const store = {
    async setNode (role: string, publicKey: string) {
      approved.push(`${role}.${publicKey}`)
      onApproved()
    }
  } as unknown as AccountStore
  const node = { log: createLogger('enrol-test', 'silent') } as unknown as MeshNode
  const lateApproved = new Promise<void>(resolve => { onApproved = () => { if (approved.includes(`inference.${late}`)) resolve() } })
  const stop = enrollFromDir(node, store, dir)
  t.teardown(stop)

  writeFileSync(join(dir, `inference.${late}`), '')
  writeFileSync(join(dir, 'not-a-node'), '')
  // The rescan is 30 s away: only the watch can approve it before this gives up.
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<string>(resolve => { timer = setTimeout(resolve, 10_000, 'not approved') })
  t.equal(await Promise.race([lateApproved.then(() => 'approved'), gaveUp]), 'approved', 'the late node is approved')
  clearTimeout(timer)
  t.same(approved.sort(), [`gateway.${early}`, `inference.${late}`], 'each enrolled node once, nothing else')
})
