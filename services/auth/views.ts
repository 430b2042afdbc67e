import type { KeyRecord, NodeRecord, UserRecord } from '../../shared/accounts/records.js'
import type { KeyView, NodeView, UserView } from '../../shared/schemas/auth.js'

export function userView (user: UserRecord): UserView {
  return { id: user.id, username: user.username, email: user.email, role: user.role, plan: user.plan, createdAt: user.createdAt }
}

export function keyView (key: KeyRecord): KeyView {
  return { id: key.id, name: key.name, prefix: key.prefix, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt, revokedAt: key.revokedAt }
}

export function nodeView (node: NodeRecord): NodeView {
  return { role: node.role, publicKey: node.publicKey, approvedAt: node.approvedAt, approvedBy: node.approvedBy, revokedAt: node.revokedAt, ...(node.note ? { note: node.note } : {}) }
}
