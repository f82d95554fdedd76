/**
 * FPTT-K's chunks of a sequence (SPEC §4): chunk p of K covers steps [⌊pT/K⌋, ⌊(p+1)T/K⌋), so
 * uneven lengths differ by at most one step. K = T is pure online FPTT; BPTT is K = 1. Shared by
 * the Trainer and the memory estimate (the CPU reference cuts its sequences on its own, so that
 * the end-to-end test compares two independent codings of this rule).
 */
export function chunkBounds(T: number, K: number): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p < K; p++) out.push([Math.floor((p * T) / K), Math.floor(((p + 1) * T) / K)]);
  return out;
}
