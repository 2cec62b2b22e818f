/**
 * Seeded pseudo-random numbers (sfc32 seeded through splitmix32), so that a run with the same `seed`
 * makes the same random choices (latencies, fault injection, random drains, generated upstream).
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability `p` (0 never draws, 1 always true). */
  chance(p: number): boolean;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A fast, seedable generator. `seed` is any finite number; only its low 32 bits and sign matter. */
export function createRandom(seed: number): Random {
  const init = splitmix32(Math.trunc(seed));
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32();
  const next = (): number => next32() / 4294967296;
  return {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => (p <= 0 ? false : p >= 1 ? true : next() < p),
  };
}

/** A random 32-bit seed for runs that did not ask for one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
