import { ROLES, type NodeRole } from '../../shared/mesh/topic.js'
import { randomBytes } from 'node:crypto'
import type Hyperbee from 'hyperbee'
import { HyperinferError } from '../../shared/errors.js'
import { displayPrefix, generateApiKey, hashApiKey } from '../../shared/accounts/api-key.js'
import {
  KEYS, type AuditRecord, type KeyIndexRecord, type KeyRecord, type NodeRecord, type PlanRecord, type UserRole,
  type UserRecord, type WorkerRecord
} from '../../shared/accounts/records.js'
import type { Bee } from '../../shared/store/bees.js'

type Value = UserRecord | KeyRecord | KeyIndexRecord | PlanRecord | WorkerRecord | NodeRecord | AuditRecord | { id: string }
type Batch = Hyperbee.Batch<Value>

/** Kept in the auth node's private bee, never replicated. */
export interface CredentialRecord { hash: string, changedAt: number }

/** A live session (`sessions/<userId>/<sessionId>` in the private bee): logout deletes it. */
export interface SessionRecord { expiresAt: number }

type PrivateValue = CredentialRecord | SessionRecord

export type AuditInput = Omit<AuditRecord, 'id' | 'at'>

export function newId (): string {
  return randomBytes(12).toString('hex')
}

/**
 * The auth node's writes. Every operation is one locked batch on the `accounts` bee (the lock makes
 * insert-if-absent safe), with its audit entry in the same batch.
 */
export class AccountStore {
  readonly accounts: Bee<Value>
  private readonly credentials: Bee<PrivateValue>
  /** Told of every approval or revocation once it is written. */
  onNodeChange: (record: NodeRecord) => void = () => {}

  constructor (accounts: Bee<Value>, credentials: Bee<PrivateValue>) {
    this.accounts = accounts
    this.credentials = credentials
  }

  async getUser (id: string): Promise<UserRecord | null> {
    return (await this.accounts.get(KEYS.user(id)))?.value as UserRecord | undefined ?? null
  }

  async findUser (login: string): Promise<UserRecord | null> {
    const index = login.includes('@') ? KEYS.userByEmail(login.toLowerCase()) : KEYS.userByName(login)
    const ref = (await this.accounts.get(index))?.value as { id: string } | undefined
    return ref ? this.getUser(ref.id) : null
  }

  async getCredential (userId: string): Promise<CredentialRecord | null> {
    return (await this.credentials.get(`credentials/${userId}`))?.value as CredentialRecord | undefined ?? null
  }

  /** A new password ends every session of the user, in the same batch. */
  async setCredential (userId: string, hash: string): Promise<CredentialRecord> {
    const record = { hash, changedAt: Date.now() }
    const batch = this.credentials.batch()
    await batch.lock()
    try {
      for await (const { key } of readInBatch(batch, sessionRange(userId))) await batch.del(key)
      await batch.put(`credentials/${userId}`, record)
      await batch.flush()
    } catch (err) {
      await batch.close()
      throw err
    }
    return record
  }

  /** Records a session at login and forgets the user's expired ones (so they never pile up). */
  async addSession (userId: string, sessionId: string, expiresAt: number): Promise<void> {
    const batch = this.credentials.batch()
    await batch.lock()
    try {
      const now = Date.now()
      for await (const { key, value } of readInBatch(batch, sessionRange(userId))) {
        if ((value as SessionRecord).expiresAt <= now) await batch.del(key)
      }
      await batch.put(sessionKey(userId, sessionId), { expiresAt })
      await batch.flush()
    } catch (err) {
      await batch.close()
      throw err
    }
  }

  async hasSession (userId: string, sessionId: string): Promise<boolean> {
    const record = (await this.credentials.get(sessionKey(userId, sessionId)))?.value as SessionRecord | undefined
    return record !== undefined && record.expiresAt > Date.now()
  }

  async endSession (userId: string, sessionId: string): Promise<void> {
    await this.credentials.del(sessionKey(userId, sessionId))
  }

  async createUser (input: { username: string, email: string, passwordHash: string, role: UserRole }): Promise<UserRecord> {
    const id = newId()
    const now = new Date().toISOString()
    const user: UserRecord = { id, username: input.username, email: input.email.toLowerCase(), role: input.role, plan: 'default', createdAt: now, updatedAt: now }
    // The credential goes first: a crash before the accounts batch leaves only an unreachable credential.
    await this.setCredential(id, input.passwordHash)
    try {
      await this.write(async batch => {
        if (await batch.get(KEYS.userByName(user.username))) throw new HyperinferError('CONFLICT', `username "${user.username}" is taken`, { details: { field: 'username' } })
        if (await batch.get(KEYS.userByEmail(user.email))) throw new HyperinferError('CONFLICT', 'an account with this email exists', { details: { field: 'email' } })
        await batch.put(KEYS.user(id), user)
        await batch.put(KEYS.userByName(user.username), { id })
        await batch.put(KEYS.userByEmail(user.email), { id })
        await this.audit(batch, { actor: user.username, action: 'user.register', target: `user:${user.username}`, details: { role: user.role } })
      })
    } catch (err) {
      await this.credentials.del(`credentials/${id}`).catch(() => {})
      throw err
    }
    return user
  }

  async updateUser (username: string, change: Partial<Pick<UserRecord, 'plan' | 'role'>>, actor: string): Promise<UserRecord> {
    return this.write(async batch => {
      const ref = (await batch.get(KEYS.userByName(username)))?.value as { id: string } | undefined
      const current = ref ? (await batch.get(KEYS.user(ref.id)))?.value as UserRecord | undefined : undefined
      if (!current) throw new HyperinferError('NOT_FOUND', `no user named "${username}"`)
      const user: UserRecord = { ...current, ...change, updatedAt: new Date().toISOString() }
      await batch.put(KEYS.user(user.id), user)
      for (const [field, value] of Object.entries(change)) {
        await this.audit(batch, { actor, action: `user.set-${field}`, target: `user:${username}`, details: { from: current[field as 'plan' | 'role'], to: value as string } })
      }
      return user
    })
  }

  async listUsers (after: string | undefined, limit: number): Promise<UserRecord[]> {
    const users: UserRecord[] = []
    const range = { gt: after ? KEYS.userByName(after) : 'users-by-name/', lt: 'users-by-name0', limit }
    for await (const { value } of this.accounts.createReadStream(range)) {
      const user = await this.getUser((value as { id: string }).id)
      if (user) users.push(user)
    }
    return users
  }

  async createKey (user: UserRecord, name: string): Promise<{ record: KeyRecord, key: string }> {
    return this.write(async batch => {
      const created = await this.putNewKey(batch, user, name)
      await this.audit(batch, { actor: user.username, action: 'key.create', target: `key:${created.record.id}`, details: { name, prefix: created.record.prefix } })
      return created
    })
  }

  async listKeys (userId: string): Promise<KeyRecord[]> {
    const keys: KeyRecord[] = []
    for await (const { value } of this.accounts.createReadStream(KEYS.keysOfUser(userId))) {
      const record = (await this.accounts.get(KEYS.key((value as KeyIndexRecord).hash)))?.value as KeyRecord | undefined
      if (record) keys.push(record)
    }
    return keys
  }

  async revokeKey (user: UserRecord, keyId: string): Promise<KeyRecord> {
    return this.write(async batch => {
      const revoked = await this.revokeIn(batch, user, keyId)
      await this.audit(batch, { actor: user.username, action: 'key.revoke', target: `key:${keyId}`, details: { prefix: revoked.prefix } })
      return revoked
    })
  }

  /** A new key with the old one's name; the old one revoked in the same batch. */
  async rotateKey (user: UserRecord, keyId: string): Promise<{ revoked: KeyRecord, created: { record: KeyRecord, key: string } }> {
    return this.write(async batch => {
      const old = await this.ownKey(batch, user, keyId)
      if (old.record.revokedAt) throw new HyperinferError('CONFLICT', `key ${keyId} is revoked already: create a new one`)
      const created = await this.putNewKey(batch, user, old.record.name)
      const revoked = await this.revokeIn(batch, user, keyId, created.record.id)
      await this.audit(batch, { actor: user.username, action: 'key.rotate', target: `key:${keyId}`, details: { newKey: created.record.id, prefix: created.record.prefix } })
      return { revoked, created }
    })
  }

  /** Moves `lastUsedAt` forward (never back, never into the future); returns how many changed. */
  async touchKeys (entries: { userId: string, keyId: string, lastUsedAt: string }[]): Promise<number> {
    const latest = Date.now() + 60_000
    return this.write(async batch => {
      let updated = 0
      for (const entry of entries) {
        const index = (await batch.get(KEYS.keyByUser(entry.userId, entry.keyId)))?.value as KeyIndexRecord | undefined
        const record = index ? (await batch.get(KEYS.key(index.hash)))?.value as KeyRecord | undefined : undefined
        const at = Date.parse(entry.lastUsedAt)
        if (!index || !record || at > latest) continue
        if (record.lastUsedAt && Date.parse(record.lastUsedAt) >= at) continue
        await batch.put(KEYS.key(index.hash), { ...record, lastUsedAt: new Date(at).toISOString() })
        updated++
      }
      return updated
    })
  }

  async writePlans (plans: Record<string, { requestsPerHour: number, tokensPerDay: number }>): Promise<void> {
    await this.write(async batch => {
      for (const [name, limits] of Object.entries(plans)) {
        const current = (await batch.get(KEYS.plan(name)))?.value as PlanRecord | undefined
        if (current?.requestsPerHour === limits.requestsPerHour && current.tokensPerDay === limits.tokensPerDay) continue
        await batch.put(KEYS.plan(name), { name, ...limits })
      }
    })
  }

  /** Workers are the nodes approved for `inference` (older approvals under workers/ included). */
  async listWorkers (): Promise<WorkerRecord[]> {
    return (await this.listNodes('inference')).map(({ role: _role, ...worker }) => worker)
  }

  async setWorker (publicKey: string, approved: boolean, actor: string, note?: string): Promise<WorkerRecord> {
    const { role: _role, ...worker } = await this.setNode('inference', publicKey, approved, actor, note)
    return worker
  }

  async listNodes (role?: NodeRole): Promise<NodeRecord[]> {
    const nodes: NodeRecord[] = []
    for (const each of role ? [role] : ROLES) {
      const seen = new Set<string>()
      for await (const { value } of this.accounts.createReadStream(KEYS.nodesOfRole(each))) {
        nodes.push(value as NodeRecord)
        seen.add((value as NodeRecord).publicKey)
      }
      if (each !== 'inference') continue
      for await (const { value } of this.accounts.createReadStream({ gt: 'workers/', lt: 'workers0' })) {
        const worker = value as WorkerRecord
        if (!seen.has(worker.publicKey)) nodes.push({ role: 'inference', ...worker })
      }
    }
    return nodes
  }

  /** Approves (or revokes) a node's key for one role; approving an approved node changes nothing. */
  async setNode (role: NodeRole, publicKey: string, approved: boolean, actor: string, note?: string): Promise<NodeRecord> {
    const record = await this.write(async batch => {
      const legacy = role === 'inference' ? (await batch.get(KEYS.worker(publicKey)))?.value as WorkerRecord | undefined : undefined
      const current = (await batch.get(KEYS.node(role, publicKey)))?.value as NodeRecord | undefined ??
        (legacy ? { role, ...legacy } : undefined)
      const now = new Date().toISOString()
      if (!approved && !current) throw new HyperinferError('NOT_FOUND', `${role} node ${publicKey.slice(0, 12)}… was never approved`)
      if (approved && current && !current.revokedAt) return current
      const record: NodeRecord = approved
        ? { role, publicKey, approvedAt: now, approvedBy: actor, revokedAt: null, ...(note ? { note } : {}) }
        : { ...(current as NodeRecord), revokedAt: current?.revokedAt ?? now }
      await batch.put(KEYS.node(role, publicKey), record)
      // Workers keep their audit names from before the registry.
      const action = `${role === 'inference' ? 'worker' : 'node'}.${approved ? 'approve' : 'revoke'}`
      await this.audit(batch, { actor, action, target: `${role}:${publicKey}` })
      return record
    })
    this.onNodeChange(record)
    return record
  }

  async recordAudit (entry: AuditInput): Promise<void> {
    await this.write(batch => this.audit(batch, entry))
  }

  async readAudit (before: string | undefined, limit: number): Promise<AuditRecord[]> {
    const entries: AuditRecord[] = []
    const range = { gt: 'audit/', lt: before ? `audit/${before}` : 'audit0', limit, reverse: true }
    for await (const { value } of this.accounts.createReadStream(range)) entries.push(value as AuditRecord)
    return entries
  }

  private async write<T> (fn: (batch: Batch) => Promise<T>): Promise<T> {
    const batch = this.accounts.batch()
    await batch.lock()
    try {
      const result = await fn(batch)
      await batch.flush()
      return result
    } catch (err) {
      await batch.close()
      throw err
    }
  }

  private async audit (batch: Batch, entry: AuditInput): Promise<void> {
    const record: AuditRecord = { id: newId(), at: new Date().toISOString(), ...entry }
    await batch.put(KEYS.audit(record.at, record.id), record)
  }

  private async putNewKey (batch: Batch, user: UserRecord, name: string): Promise<{ record: KeyRecord, key: string }> {
    const key = generateApiKey()
    const hash = hashApiKey(key)
    const record: KeyRecord = {
      id: newId(), userId: user.id, name, prefix: displayPrefix(key), createdAt: new Date().toISOString(), lastUsedAt: null, revokedAt: null
    }
    await batch.put(KEYS.key(hash), record)
    await batch.put(KEYS.keyByUser(user.id, record.id), { hash })
    return { record, key }
  }

  /** Another user's key answers NOT_FOUND, like a key that does not exist. */
  private async ownKey (batch: Batch, user: UserRecord, keyId: string): Promise<{ hash: string, record: KeyRecord }> {
    const index = (await batch.get(KEYS.keyByUser(user.id, keyId)))?.value as KeyIndexRecord | undefined
    const record = index ? (await batch.get(KEYS.key(index.hash)))?.value as KeyRecord | undefined : undefined
    if (!index || !record) throw new HyperinferError('NOT_FOUND', `you have no key with id ${keyId}; list yours with \`hyperinfer keys list\``)
    return { hash: index.hash, record }
  }

  private async revokeIn (batch: Batch, user: UserRecord, keyId: string, rotatedTo?: string): Promise<KeyRecord> {
    const { hash, record } = await this.ownKey(batch, user, keyId)
    if (record.revokedAt) return record
    const revoked: KeyRecord = { ...record, revokedAt: new Date().toISOString(), ...(rotatedTo ? { rotatedTo } : {}) }
    await batch.put(KEYS.key(hash), revoked)
    return revoked
  }
}

function sessionKey (userId: string, sessionId: string): string {
  return `sessions/${userId}/${sessionId}`
}

function sessionRange (userId: string): { gt: string, lt: string } {
  return { gt: `sessions/${userId}/`, lt: `sessions/${userId}0` }
}

/** Hyperbee batches can read ranges (the declared types say otherwise). */
function readInBatch (batch: Hyperbee.Batch<PrivateValue>, range: { gt: string, lt: string }): AsyncIterable<{ key: string, value: PrivateValue }> {
  return (batch as unknown as Bee<PrivateValue>).createReadStream(range) as AsyncIterable<{ key: string, value: PrivateValue }>
}
