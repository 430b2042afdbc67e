import type { ChatMessage } from '../../shared/schemas/inference.js'

const LABEL: Record<Exclude<ChatMessage['role'], 'user'>, string> = { system: 'System', assistant: 'Assistant', tool: 'Tool' }

/** Chat messages as one plain prompt, for base models without a chat template. */
export function flattenMessages (messages: ChatMessage[]): string {
  return messages.map(m => m.role === 'user' ? m.content : `${LABEL[m.role]}: ${m.content}`).join('\n')
}
