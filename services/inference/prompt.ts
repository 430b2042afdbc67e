import type { ChatMessage } from '../../shared/schemas/inference.js'

/** Chat messages as one plain prompt, for base models without a chat template. */
export function flattenMessages (messages: ChatMessage[]): string {
  return messages.map(m => m.role === 'user' ? m.content : `${m.role === 'system' ? 'System' : 'Assistant'}: ${m.content}`).join('\n')
}
