/**
 * Small seeded PRNGs. Math.random cannot be seeded, and training, sample data and benchmarks
 * must be reproducible from a seed.
 */

/** mulberry32: a fast 32-bit generator, good enough for shuffles, init and synthetic data. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    // Mix the seed so nearby seeds give unrelated streams.
    this.#state = hash32((seed >>> 0) ^ 0x9e3779b9) || 1;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t as never;
    }
  }
}

/** A 32-bit integer hash (lowbias32), for mixing seeds. */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}
