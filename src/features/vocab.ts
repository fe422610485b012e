/**
 * Vocabularies: categorical tokens → dense ids, fitted on training data in one streaming pass.
 * id 0 is the OOV slot (unseen, rare, or missing tokens); kept tokens are ids 1..n.
 */

/** Counts tokens as they stream past; `build` turns the counts into a Vocabulary. */
export class VocabCounter {
  readonly #counts = new Map<string, number>();

  add(token: string): void {
    this.#counts.set(token, (this.#counts.get(token) ?? 0) + 1);
  }

  /** Number of distinct tokens seen so far. */
  get distinct(): number {
    return this.#counts.size;
  }

  /**
   * Tokens with count ≥ minCount, at most maxSize of them, by descending count then token
   * (code-unit order, not locale order, so the result is the same on every machine).
   */
  build(opts: { minCount: number; maxSize: number }): Vocabulary {
    const kept: [string, number][] = [];
    for (const e of this.#counts) if (e[1] >= opts.minCount) kept.push(e);
    kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (kept.length > opts.maxSize) kept.length = opts.maxSize;
    return new Vocabulary(kept.map((e) => e[0]));
  }
}

/** A fitted vocabulary. `size` counts the OOV slot: ids are [0, size). */
export class Vocabulary {
  /** Kept tokens; token tokens[i] has id i + 1. */
  readonly tokens: readonly string[];
  readonly #ids: Map<string, number>;

  constructor(tokens: readonly string[]) {
    this.tokens = tokens;
    this.#ids = new Map(tokens.map((t, i) => [t, i + 1]));
    if (this.#ids.size !== tokens.length) throw new Error('vocabulary tokens must be distinct');
  }

  /** token → id (1..n); for hot loops that want one Map lookup and no method call. */
  get ids(): ReadonlyMap<string, number> {
    return this.#ids;
  }

  get size(): number {
    return this.tokens.length + 1;
  }

  /** id of a token; 0 (OOV) for unknown or missing tokens. */
  id(token: string | null | undefined): number {
    return token == null ? 0 : (this.#ids.get(token) ?? 0);
  }
}
