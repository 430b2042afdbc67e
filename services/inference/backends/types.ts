import type { FinishReason, Generation, GenerationChunk, ToolCall } from '../../../shared/schemas/generation.js'
import type { ModelInfo } from '../../../shared/schemas/inference.js'

export type BackendType = 'llama' | 'ollama' | 'openai'

/**
 * What a backend is asked for: the generation with the backend's own name for the model (without
 * any mesh prefix) and maxTokens resolved against the backend's limit.
 */
export type GenerateRequest = Generation

export interface GenerateResult {
  promptTokens: number
  completionTokens: number
  /** Never 'error': failures are thrown. */
  finishReason: Exclude<FinishReason, 'error'>
  /** The calls the model made, assembled (finishReason 'tool_calls'). */
  toolCalls?: ToolCall[]
  /** Prompt tokens not evaluated again: a prefix the previous request on the same state already had. */
  cachedPromptTokens?: number
}

/** A model as its backend knows it (upstream name); the worker adds the mesh name. */
export type BackendModel = Omit<ModelInfo, 'backend' | 'backendType'>

export interface EmbedResult { embeddings: number[][], promptTokens: number }

/**
 * One source of models. `generate` yields pieces (text, tool-call pieces) as they come and returns
 * the counts; when `signal` aborts it stops the upstream work and *returns* what was produced
 * (finishReason 'cancelled') rather than throwing. Expected failures are thrown as HyperinferError.
 */
export interface Backend {
  readonly type: BackendType
  readonly name: string
  /** Connects or loads models; failures leave models listed as unavailable rather than throwing. */
  start (): Promise<void>
  /** Rejects when the backend could not say what it serves (its upstream did not answer). */
  listModels (): Promise<BackendModel[]>
  generate (request: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerationChunk, GenerateResult, void>
  embed? (model: string, input: string[], signal: AbortSignal): Promise<EmbedResult>
  close (): Promise<void>
}
