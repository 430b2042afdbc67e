export { openAICompat } from './openai.js'
export { ollamaCompat } from './ollama.js'
export { gatewayUpstream, type CompatUpstream, type GatewayTransport } from './gateway-upstream.js'
export type { CompatOptions, KeyPolicy } from './request.js'
