import type { ToolCall, ToolCallDelta } from './schemas/generation.js'

/** Joins streamed tool-call pieces (by index: id and name first, then argument fragments) into whole calls. */
export class ToolCallAssembler {
  private readonly calls = new Map<number, { id: string, name: string, arguments: string }>()

  add (deltas: ToolCallDelta[]): void {
    for (const d of deltas) {
      const call = this.calls.get(d.index) ?? { id: '', name: '', arguments: '' }
      if (d.id) call.id = d.id
      if (d.function?.name) call.name += d.function.name
      if (d.function?.arguments) call.arguments += d.function.arguments
      this.calls.set(d.index, call)
    }
  }

  done (): ToolCall[] {
    return [...this.calls.entries()].sort(([a], [b]) => a - b)
      .filter(([, c]) => c.name !== '')
      .map(([index, c]) => ({ id: c.id || `call_${index}`, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }))
  }
}
