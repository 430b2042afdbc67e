import { createHash } from 'node:crypto'

export const ROLES = ['auth', 'gateway', 'inference', 'metrics', 'web'] as const
export type NodeRole = (typeof ROLES)[number]

export interface NetworkId { name: string; secret?: string }

/** The DHT topic a role announces on: hash(network name, optional secret, role). */
export function roleTopic (network: NetworkId, role: NodeRole): Buffer {
  return createHash('sha256')
    .update('hyperinfer/topic/v1\0')
    .update(network.name).update('\0')
    .update(network.secret ?? '').update('\0')
    .update(role)
    .digest()
}
