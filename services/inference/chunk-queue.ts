/**
 * Turns callbacks (push, end, fail) into an async iterator, for libraries that report progress
 * through callbacks (node-llama-cpp's onTextChunk).
 */
export class ChunkQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private waiting: (() => void) | null = null
  private ended = false
  private error: unknown = null

  push (item: T): void {
    this.items.push(item)
    this.wake()
  }

  end (): void {
    this.ended = true
    this.wake()
  }

  fail (err: unknown): void {
    this.error = err
    this.ended = true
    this.wake()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<T, void, void> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift() as T
        continue
      }
      if (this.error !== null) throw this.error
      if (this.ended) return
      await new Promise<void>(resolve => { this.waiting = resolve })
    }
  }

  private wake (): void {
    const waiting = this.waiting
    this.waiting = null
    waiting?.()
  }
}
