/** `n word` with the English plural when n ≠ 1: members(1) → "1 member", members(20) → "20 members". */
export function members(n: number): string {
  return `${n} ${n === 1 ? "member" : "members"}`;
}
