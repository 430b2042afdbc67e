import { z } from 'zod'
import { workerCapacity } from './capacity.js'

/**
 * The `details` of each role's health answer. Nodes write them with these types; readers go
 * through `servedModels` and `capacityInHealth`, which accept what other or older nodes send and
 * fall back to nothing, since a mesh runs mixed versions.
 */
const modelNames = z.array(z.string().max(256)).max(10_000)

export const inferenceHealthDetails = z.object({ models: modelNames, capacity: workerCapacity })
export const gatewayHealthDetails = z.object({ models: modelNames, unapprovedWorkers: z.number().int().min(0) })
export const metricsHealthDetails = z.object({ ready: z.boolean(), nodesKnown: z.number().int().min(0) })
export const webHealthDetails = z.object({ url: z.string(), accountsReplica: z.boolean() })

export type InferenceHealthDetails = z.infer<typeof inferenceHealthDetails>
export type GatewayHealthDetails = z.infer<typeof gatewayHealthDetails>
export type MetricsHealthDetails = z.infer<typeof metricsHealthDetails>
export type WebHealthDetails = z.infer<typeof webHealthDetails>

const MAX_MODELS = 1_000
const MAX_MODEL_NAME = 256
const anyModels = z.object({ models: z.array(z.unknown()) })
// Older nodes listed models as objects; an entry of no known shape is skipped, not the whole list.
const modelEntry = z.union([z.string(), z.object({ name: z.string() }), z.object({ id: z.string() })])

/** The models a node says it serves (workers and gateways), from any version's health details. */
export function servedModels (details: unknown): string[] {
  const parsed = anyModels.safeParse(details)
  if (!parsed.success) return []
  const names: string[] = []
  for (const entry of parsed.data.models) {
    const model = modelEntry.safeParse(entry)
    if (!model.success) continue
    const name = typeof model.data === 'string' ? model.data : 'name' in model.data ? model.data.name : model.data.id
    names.push(name.slice(0, MAX_MODEL_NAME))
    if (names.length === MAX_MODELS) break
  }
  return names
}

/** A worker's load as its health details carry it, or null when they carry none this version reads. */
export function capacityInHealth (details: unknown): InferenceHealthDetails['capacity'] | null {
  const parsed = inferenceHealthDetails.pick({ capacity: true }).safeParse(details)
  return parsed.success ? parsed.data.capacity : null
}
