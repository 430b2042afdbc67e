/** How many leading items two sequences share (tokens of two prompts, say). */
export function commonPrefixLength<T> (a: readonly T[], b: readonly T[]): number {
  const length = Math.min(a.length, b.length)
  let i = 0
  while (i < length && a[i] === b[i]) i++
  return i
}
