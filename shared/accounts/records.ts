import type { NodeRole } from '../mesh/topic.js'
/**
 * The layout of the `accounts` Hyperbee. The auth node is its only writer; gateways and the web
 * node read replicas of it. It holds no secret: passwords live in the auth node's private store,
 * API keys only as SHA-256.
 */
/** What a user may do: every user, or an admin. (Node roles are NodeRole, shared/mesh/topic.ts.) */
export type UserRole = 'user' | 'admin'

export interface UserRecord {
  id: string
  username: string
  email: string
  role: UserRole
  plan: string
  createdAt: string
  updatedAt: string
}

export interface KeyRecord {
  id: string
  userId: string
  name: string
  /** The first characters of the key, for display (`hi_AbCdEfGh`). */
  prefix: string
  createdAt: string
  lastUsedAt: string | null
  revokedAt: string | null
  /** The key that replaced this one when it was rotated. */
  rotatedTo?: string
}

/** `keys-by-user/<userId>/<keyId>` points at the key's hash. */
export interface KeyIndexRecord { hash: string }

export interface PlanRecord { name: string, requestsPerHour: number, tokensPerDay: number }

export interface WorkerRecord {
  publicKey: string
  approvedAt: string
  approvedBy: string
  revokedAt: string | null
  note?: string
}

/** A node the auth node approved for one role (`nodes/<role>/<publicKey>`). */
export interface NodeRecord {
  role: NodeRole
  publicKey: string
  approvedAt: string
  approvedBy: string
  revokedAt: string | null
  note?: string
}


export interface AuditRecord {
  id: string
  at: string
  /** Who did it: a username, `node:<key prefix>` or `system`. */
  actor: string
  action: string
  target: string
  details?: Record<string, string | number | boolean | null>
}

export const KEYS = {
  user: (id: string) => `users/${id}`,
  userByName: (name: string) => `users-by-name/${name}`,
  userByEmail: (email: string) => `users-by-email/${email}`,
  key: (hash: string) => `keys/${hash}`,
  keyByUser: (userId: string, keyId: string) => `keys-by-user/${userId}/${keyId}`,
  keysOfUser: (userId: string) => ({ gt: `keys-by-user/${userId}/`, lt: `keys-by-user/${userId}0` }),
  plan: (name: string) => `plans/${name}`,
  /** Approvals written before the node registry; read as `inference` approvals. */
  worker: (publicKey: string) => `workers/${publicKey}`,
  node: (role: NodeRole, publicKey: string) => `nodes/${role}/${publicKey}`,
  nodesOfRole: (role: NodeRole) => ({ gt: `nodes/${role}/`, lt: `nodes/${role}0` }),
  audit: (at: string, id: string) => `audit/${at}/${id}`
} as const

export const API_KEY_PREFIX = 'hi_'
/** Characters of the key shown in listings (the `hi_` prefix plus 8). */
export const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8
