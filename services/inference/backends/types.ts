import type { ChatMessage, FinishReason, ModelInfo } from '../../../shared/schemas/inference.js'

export type BackendType = 'llama' | 'ollama' | 'openai'

/** What a backend is asked for: the request with the upstream model name and resolved limits. */
export interface GenerateRequest {
  /** The backend's own name for the model (without any mesh prefix). */
  model: string
  prompt?: string
  messages?: ChatMessage[]
  maxTokens: number
  temperature?: number
  topP?: number
  stop?: string[]
  seed?: number
}

export interface GenerateResult {
  promptTokens: number
  completionTokens: number
  finishReason: FinishReason
}

/** A model as its backend knows it (upstream name); the worker adds the mesh name. */
export type BackendModel = Omit<ModelInfo, 'backend' | 'backendType'>

export interface EmbedResult { embeddings: number[][], promptTokens: number }

/**
 * One source of models. `generate` yields text pieces as they come and returns the counts; when
 * `signal` aborts it stops the upstream work and *returns* what was produced (finishReason
 * 'cancelled') rather than throwing. Expected failures are thrown as HyperinferError.
 */
export interface Backend {
  readonly type: BackendType
  readonly name: string
  /** Connects or loads models; failures leave models listed as unavailable rather than throwing. */
  start (): Promise<void>
  listModels (): Promise<BackendModel[]>
  generate (request: GenerateRequest, signal: AbortSignal): AsyncGenerator<string, GenerateResult, void>
  embed? (model: string, input: string[], signal: AbortSignal): Promise<EmbedResult>
  close (): Promise<void>
}
