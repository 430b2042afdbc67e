import { EventEmitter } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { HyperinferError } from '../errors.js'
import type { MeshNode } from '../mesh/mesh-node.js'
import { accountsInfo } from '../schemas/auth.js'
import type { Bee } from '../store/bees.js'
import { writeSecretFile } from '../store/private-files.js'
import { hashApiKey, looksLikeApiKey } from './api-key.js'
import { NodeRegistry } from './node-registry.js'
import type { KeyRecord, NodeRecord, PlanRecord, UserRole, UserRecord, WorkerRecord } from './records.js'

export interface PlanLimits { requestsPerHour: number, tokensPerDay: number }

export interface KeyLookup {
  userId: string
  username: string
  keyId: string
  keyName: string
  plan: string
  role: UserRole
  limits: PlanLimits
  /** False once the key is revoked (or rotated away): refuse the request. */
  live: boolean
  revokedAt: string | null
}

export interface AccountReplicaOptions {
  /** How long open() looks for the auth node when no accounts key is remembered. */
  timeoutMs?: number
  /**
   * The pinned auth node (its public key): the accounts key is asked of it alone, over a
   * connection that proves its identity. Without one the first auth node found is trusted.
   */
  authKey?: Buffer
}

/** Fallback when the replica has not yet seen the plan table. */
const FALLBACK_LIMITS: PlanLimits = { requestsPerHour: 100, tokensPerDay: 100_000 }
const KEY_FILE = 'accounts-key'
/** Which auth node the remembered accounts key came from. */
const KEY_SOURCE_FILE = 'accounts-auth-key'

/**
 * A read replica of the auth node's `accounts` bee. It finds the auth node by discovery, asks for
 * the bee key (remembered in the data dir, so a restart works while the auth node is down),
 * follows the bee, and keeps an in-memory index fed by the bee's live history: every read is
 * local and synchronous; revocations apply as soon as their block arrives.
 *
 * Emits 'update' with the seq of each applied entry.
 */
export class AccountReplica extends EventEmitter {
  private readonly node: MeshNode
  private readonly opts: AccountReplicaOptions
  private readonly users = new Map<string, UserRecord>()
  private readonly keys = new Map<string, KeyRecord>()
  private readonly plans = new Map<string, PlanRecord>()
  /** Approved nodes per role, live. */
  readonly nodes = new NodeRegistry()
  private bee: Bee<unknown> | null = null
  private history: (AsyncIterable<{ seq: number, key: string, value: unknown, type: 'put' | 'del' }> & { destroy (): void }) | null = null
  private appliedSeq = 0
  private closed = false

  constructor (node: MeshNode, opts: AccountReplicaOptions = {}) {
    super()
    this.node = node
    this.opts = opts
  }

  /** The seq of the last entry applied to the index (0 before any). */
  get seq (): number { return this.appliedSeq }

  get key (): Buffer | null { return this.bee?.key ?? null }

  async open (): Promise<this> {
    if (this.bee) return this
    const key = this.rememberedKey() ?? await this.askAuthNode()
    writeSecretFile(join(this.node.dataDir, KEY_FILE), key + '\n')
    if (this.opts.authKey) writeSecretFile(join(this.node.dataDir, KEY_SOURCE_FILE), this.opts.authKey.toString('hex') + '\n')
    this.bee = await this.node.followBee<unknown>(Buffer.from(key, 'hex'))
    this.follow()
    return this
  }

  /** A remembered key counts only if it came from the auth node pinned now. */
  private rememberedKey (): string | null {
    const keyFile = join(this.node.dataDir, KEY_FILE)
    if (!existsSync(keyFile)) return null
    if (this.opts.authKey) {
      const sourceFile = join(this.node.dataDir, KEY_SOURCE_FILE)
      const source = existsSync(sourceFile) ? readFileSync(sourceFile, 'utf8').trim() : null
      if (source !== this.opts.authKey.toString('hex')) {
        this.node.log.warn('the remembered accounts key did not come from the pinned auth node: asking it again')
        return null
      }
    }
    return readFileSync(keyFile, 'utf8').trim()
  }

  /** The account behind an API key, from local data; null when the key is unknown. */
  lookupKey (apiKey: string): KeyLookup | null {
    if (!looksLikeApiKey(apiKey)) return null
    return this.lookupKeyHash(hashApiKey(apiKey))
  }

  lookupKeyHash (hash: string): KeyLookup | null {
    const key = this.keys.get(hash)
    const user = key ? this.users.get(key.userId) : undefined
    if (!key || !user) return null
    return {
      userId: user.id,
      username: user.username,
      keyId: key.id,
      keyName: key.name,
      plan: user.plan,
      role: user.role,
      limits: this.limits(user.plan),
      live: key.revokedAt === null,
      revokedAt: key.revokedAt
    }
  }

  getUser (id: string): UserRecord | null {
    return this.users.get(id) ?? null
  }

  /** A plan's limits as the auth node published them (the default plan's for an unknown name). */
  limits (plan: string): PlanLimits {
    const record = this.plans.get(plan) ?? this.plans.get('default')
    return record ? { requestsPerHour: record.requestsPerHour, tokensPerDay: record.tokensPerDay } : FALLBACK_LIMITS
  }

  isWorkerApproved (publicKeyHex: string): boolean {
    return this.nodes.isApproved('inference', publicKeyHex)
  }

  /** Resolves once the index has applied entries up to `seq` (e.g. the auth node's length - 1). */
  async waitForSeq (seq: number, timeoutMs = 10_000): Promise<void> {
    if (this.appliedSeq >= seq) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('update', onUpdate)
        reject(new HyperinferError('TIMEOUT', `accounts replica at seq ${this.appliedSeq}, wanted ${seq}`))
      }, timeoutMs)
      const onUpdate = (applied: number): void => {
        if (applied < seq) return
        clearTimeout(timer)
        this.off('update', onUpdate)
        resolve()
      }
      this.on('update', onUpdate)
    })
  }

  close (): void {
    this.closed = true
    this.history?.destroy()
  }

  private async askAuthNode (): Promise<string> {
    const timeoutMs = this.opts.timeoutMs ?? 15_000
    const authKey = this.opts.authKey ?? (await this.node.discovery.waitFor('auth', { timeoutMs }))[0].publicKey
    const info = await this.node.client(authKey).call(accountsInfo, {}, { timeoutMs })
    return info.key
  }

  private follow (): void {
    const bee = this.bee as Bee<unknown>
    const history = bee.createHistoryStream({ live: true }) as unknown as NonNullable<AccountReplica['history']>
    this.history = history
    void (async () => {
      try {
        for await (const entry of history) this.apply(entry)
      } catch (err) {
        if (!this.closed) this.node.log.warn({ err }, 'accounts replica stopped following')
      }
    })()
  }

  private apply (entry: { seq: number, key: string, value: unknown, type: 'put' | 'del' }): void {
    const slash = entry.key.indexOf('/')
    const kind = entry.key.slice(0, slash)
    const id = entry.key.slice(slash + 1)
    if (kind === 'nodes') this.nodes.applyNode(entry.key, entry.type === 'del' ? null : entry.value as NodeRecord)
    if (kind === 'workers') this.nodes.applyWorker(id, entry.type === 'del' ? null : entry.value as WorkerRecord)
    const map = kind === 'users' ? this.users : kind === 'keys' ? this.keys : kind === 'plans' ? this.plans : null
    if (map) {
      if (entry.type === 'del') map.delete(id)
      else (map as Map<string, unknown>).set(id, entry.value)
    }
    this.appliedSeq = entry.seq
    this.emit('update', entry.seq)
  }
}
