interface Lane<T> {
  readonly user: string
  weight: number
  readonly items: T[]
  /** Dispatches this lane may still take in its current turn. */
  deficit: number
  /** Whether this lane got its quantum for the turn it is in. */
  inTurn: boolean
}

/**
 * Deficit round robin over users: each user with waiting items gets, per round, as many
 * dispatches as its weight (fractions carry over to the next round), so one user's burst
 * never holds back the others, and a weight-4 plan gets four turns to a weight-1 plan's one.
 * Within a user, first in, first out.
 */
export class FairQueue<T> {
  private readonly lanes = new Map<string, Lane<T>>()
  private readonly round: Lane<T>[] = []
  private count = 0

  get size (): number { return this.count }

  push (user: string, weight: number, item: T): void {
    this.lane(user, weight).items.push(item)
    this.count++
  }

  /** Back to the front of its user's line (a request a worker bounced before starting it). */
  unshift (user: string, weight: number, item: T): void {
    this.lane(user, weight).items.unshift(item)
    this.count++
  }

  next (): T | undefined {
    while (this.round.length > 0) {
      const lane = this.round[0]
      if (!lane.inTurn) {
        lane.deficit += lane.weight
        lane.inTurn = true
      }
      if (lane.deficit >= 1) {
        lane.deficit--
        const item = lane.items.shift() as T
        this.count--
        if (lane.items.length === 0) this.retire(lane)
        return item
      }
      lane.inTurn = false
      this.round.push(this.round.shift() as Lane<T>)
    }
    return undefined
  }

  remove (user: string, item: T): boolean {
    const lane = this.lanes.get(user)
    const i = lane ? lane.items.indexOf(item) : -1
    if (!lane || i < 0) return false
    lane.items.splice(i, 1)
    this.count--
    if (lane.items.length === 0) this.retire(lane)
    return true
  }

  /**
   * About how many dispatches until `item` (1 = next): its own place in its user's line plus
   * what the other users get in the rounds that takes, by their weights.
   */
  position (user: string, item: T): number {
    const lane = this.lanes.get(user)
    const index = lane ? lane.items.indexOf(item) : -1
    if (!lane || index < 0) return 0
    const own = index + 1
    let others = 0
    for (const other of this.round) {
      if (other !== lane) others += Math.min(other.items.length, Math.ceil(own * other.weight / lane.weight))
    }
    return own + others
  }

  /** Every waiting item, lane by lane. */
  * items (): Generator<T> {
    for (const lane of this.round) yield * lane.items
  }

  private lane (user: string, weight: number): Lane<T> {
    let lane = this.lanes.get(user)
    if (!lane) {
      lane = { user, weight, items: [], deficit: 0, inTurn: false }
      this.lanes.set(user, lane)
      this.round.push(lane)
    }
    lane.weight = weight
    return lane
  }

  private retire (lane: Lane<T>): void {
    this.lanes.delete(lane.user)
    const i = this.round.indexOf(lane)
    if (i >= 0) this.round.splice(i, 1)
  }
}
