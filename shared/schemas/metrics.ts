import { z } from 'zod'
import { defineMethod } from '../mesh/method.js'
import { roleSchema } from './mesh.js'

export const nodeStatusSchema = z.enum(['up', 'degraded', 'down'])
export type NodeStatus = z.infer<typeof nodeStatusSchema>

/** One node of the mesh as the metrics node knows it (down nodes stay listed for a while). */
export const meshNodeHealth = z.object({
  /** The node's RPC public key (hex). */
  publicKey: z.string().max(128),
  /** The short form used as the `node` label on /metrics. */
  node: z.string().max(64),
  role: roleSchema,
  status: nodeStatusSchema,
  version: z.string().max(64).nullable(),
  uptimeSeconds: z.number().nullable(),
  startedAt: z.string().max(64).nullable(),
  /** When it last answered a health probe or a scrape (ISO time); null if never. */
  lastSeen: z.string().max(64).nullable(),
  /** Milliseconds since lastSeen, measured by the metrics node when it answered. */
  lastSeenAgoMs: z.number().nullable(),
  /** The models an inference node serves (from its health details). */
  models: z.array(z.string().max(256)).max(1000),
  /** Whether its last metrics scrape worked; the reason when not. */
  scrape: z.object({ ok: z.boolean(), error: z.string().max(500).optional(), at: z.string().max(64).nullable() }),
  self: z.boolean()
})
export type MeshNodeHealth = z.infer<typeof meshNodeHealth>

export const systemHealthResponse = z.object({
  generatedAt: z.string(),
  /** Overall: up when every node is up, degraded when some are degraded or down, down when none is up. */
  status: nodeStatusSchema,
  nodes: z.array(meshNodeHealth).max(10_000),
  counts: z.record(z.string(), z.object({ up: z.number(), degraded: z.number(), down: z.number() }))
})
export type SystemHealthResponse = z.infer<typeof systemHealthResponse>

export const systemHealth = defineMethod('metrics.systemHealth', {
  request: z.strictObject({}),
  response: systemHealthResponse,
  maxRequestBytes: 1024,
  timeoutMs: 5_000
})
