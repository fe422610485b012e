/**
 * `wdp bench load --shape small|paper`: the scoring server under sustained concurrent load, with
 * a share of requests moving a random subset of features between `context` and the candidates,
 * so nearly every such request is a context set never seen before (issue 9, finding 4: each
 * used to keep a plan with its own ONNX session, and memory grew without bound).
 *
 * The server is `wdp serve`'s code (src/scoring/serve.ts: each request becomes a Function URL
 * event through the Lambda's handler) in a child process, not the handler called in-process:
 * the RSS measured is then the server's alone, not mixed with the load generator's request
 * bodies (~1 MB of JSON each at the paper shape), and the requests take the whole HTTP path.
 * Traffic stays on 127.0.0.1, and the run is bounded: warm-up + `seconds`, then in-flight
 * requests get at most REQUEST_TIMEOUT_MS, then the child is stopped.
 *
 * Reported: requests and errors (by HTTP status, or 'timeout' / 'network'), latency p50/p99 of
 * the measured phase, the server's RSS (VmRSS from /proc) at start (model loaded, no traffic),
 * after the warm-up, its peak and at the end of the measured phase (sampled every 200 ms), the
 * plan cache's counters, and the machine (CPU model and SIMD flags).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ScorerOptions } from '../scoring/scorer.ts';
import type { PlanCacheStats } from '../scoring/serving-model.ts';
import type { SplitTowerKind } from '../scoring/split-tower.ts';
import { Rng } from '../util/random.ts';
import { type MachineInfo, machineInfo } from './machine.ts';
import { benchRequest, ensureModel } from './score-bench.ts';
import { benchSplit } from './score-model.ts';
import { BENCH_SHAPES, type BenchShapeName } from './train-bench.ts';

export interface LoadBenchOptions {
  readonly shape: BenchShapeName;
  /** @default 'auto' */
  readonly backend?: SplitTowerKind;
  /** Concurrent callers. @default 16 */
  readonly concurrency?: number;
  /** Measured phase. @default 60 */
  readonly seconds?: number;
  /**
   * Keep the measured phase going past `seconds` until this many requests have been answered
   * (bounded by the per-request timeout), so a short run on a loaded machine still measures
   * something. @default 0
   */
  readonly minRequests?: number;
  /** Load before the measured phase (fills the plan cache). @default 10 */
  readonly warmupSeconds?: number;
  /** Candidates per request. @default 1000 (as `wdp bench score`) */
  readonly candidates?: number;
  /** Share of requests that move a random subset of features between context and candidates. @default 0.25 */
  readonly varyShare?: number;
  /** The server's plan cache size. @default the scorer's default */
  readonly planCacheSize?: number;
  /** Let ORT's idle threads spin in the server. @default the scorer's default */
  readonly allowSpinning?: boolean;
  /** Folder for the generated model (kept and reused, shared with `wdp bench score`). */
  readonly modelDir?: string;
  readonly seed?: number;
  readonly log?: (m: string) => void;
}

export interface LoadBenchResult {
  readonly shape: BenchShapeName;
  readonly server: string;
  readonly concurrency: number;
  readonly warmup_seconds: number;
  readonly seconds: number;
  readonly candidates: number;
  readonly vary_share: number;
  /** Requests completed in the measured phase (after the warm-up). */
  readonly requests: number;
  readonly requests_per_s: number;
  readonly warmup_requests: number;
  /** Distinct context feature sets sent (warm-up and measured). */
  readonly distinct_context_sets: number;
  /** Failed requests over the whole run, by HTTP status or 'timeout' / 'network'. */
  readonly errors: Record<string, number>;
  readonly error_count: number;
  /** Up to 3 distinct error bodies, clipped. */
  readonly error_samples: string[];
  readonly latency_p50_ms: number;
  readonly latency_p99_ms: number;
  readonly rss_mb: { readonly start: number; readonly after_warmup: number; readonly peak: number; readonly end: number };
  /** end / after_warmup − 1 (the acceptance bound is 0.10). */
  readonly rss_end_vs_after_warmup: number;
  /** [seconds since the first request, RSS MB] every 5 s, to tell a plateau from a trend. */
  readonly rss_timeline_mb: [number, number][];
  /** The server's V8 heap and buffers when the run ends (the rest of its RSS is native: ORT, code). */
  readonly server_memory_at_end_mb: {
    readonly heap_used: number;
    readonly heap_total: number;
    readonly array_buffers: number;
    readonly external: number;
  };
  readonly plan_cache: PlanCacheStats;
  readonly machine: MachineInfo;
}

/** Longest wait for one response; a request past it counts as a 'timeout' error. */
const REQUEST_TIMEOUT_MS = 60_000;
const SAMPLE_MS = 200;

/** Messages between the bench and its server child. */
type ToChild = { type: 'start'; modelUri: string; scorerOptions: ScorerOptions } | { type: 'stats' };
type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'stats'; planCache: PlanCacheStats; memory: NodeJS.MemoryUsage }
  | { type: 'failed'; error: string };

/**
 * The server child's main: loads the model, serves it on 127.0.0.1 (a free port) and answers
 * 'stats' with the plan cache's counters. Exits when the bench disconnects.
 */
export function loadServerMain(): void {
  const send = (m: FromChild) => process.send?.(m);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToChild) => {
    if (m.type === 'start') {
      void (async () => {
        try {
          const { Scorer } = await import('../scoring/scorer.ts');
          const { serve } = await import('../scoring/serve.ts');
          // Loaded here first, so 'ready' means loaded; the handler gets the same cached scorer.
          const scorer = await Scorer.load(m.modelUri, m.scorerOptions);
          const { port } = await serve({ modelUri: m.modelUri, port: 0, host: '127.0.0.1', scorerOptions: m.scorerOptions });
          process.on('message', (q: ToChild) => {
            if (q.type === 'stats') send({ type: 'stats', planCache: scorer.planCacheStats(), memory: process.memoryUsage() });
          });
          send({ type: 'ready', port });
        } catch (e) {
          send({ type: 'failed', error: (e as Error).message });
        }
      })();
    }
  });
}

/** The child's resident set in MB, from /proc (0 where there is none). */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

function pct(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Request bodies as strings, built from per-candidate JSON fragments so that a body with a new
 * context set costs a string join, not a JSON.stringify of a thousand objects.
 */
class Bodies {
  readonly #userFeatures: string[];
  readonly #itemFeatures: string[];
  readonly #context: Record<string, unknown>;
  /** Candidate 0's item features: the value an item feature takes when it moves into the context. */
  readonly #first: Record<string, unknown>;
  /** fragment[feature][i] = `"feature":value` of candidate i (context features repeated per candidate). */
  readonly #fragment = new Map<string, string[]>();
  readonly #base: string;
  readonly #n: number;
  readonly sets = new Set<string>();

  constructor(shape: BenchShapeName, n: number) {
    const sp = benchSplit(BENCH_SHAPES[shape]);
    this.#userFeatures = [...sp.userCats, ...sp.userNums];
    this.#itemFeatures = [...sp.itemCats, ...sp.itemNums];
    const req = benchRequest(shape, n);
    this.#context = req.context;
    this.#first = req.candidates[0]!;
    this.#n = n;
    for (const f of this.#itemFeatures)
      this.#fragment.set(
        f,
        req.candidates.map((c) => `${JSON.stringify(f)}:${JSON.stringify(c[f])}`),
      );
    for (const f of this.#userFeatures)
      this.#fragment.set(f, new Array<string>(n).fill(`${JSON.stringify(f)}:${JSON.stringify(req.context[f])}`));
    this.#base = this.#body(new Set(this.#userFeatures));
  }

  /** The usual request, or (with probability `vary`) one with a random context set. */
  next(rng: Rng, vary: number): string {
    if (rng.next() >= vary) {
      this.sets.add('base');
      return this.#base;
    }
    // Each item feature joins the context with p = 1/4 (its value: candidate 0's), each user
    // feature leaves it with p = 1/8 (repeated on every candidate): 2^(all features) sets.
    const ctx = new Set<string>();
    for (const f of this.#userFeatures) if (rng.next() >= 1 / 8) ctx.add(f);
    for (const f of this.#itemFeatures) if (rng.next() < 1 / 4) ctx.add(f);
    return this.#body(ctx);
  }

  #body(ctx: ReadonlySet<string>): string {
    const all = [...this.#userFeatures, ...this.#itemFeatures];
    this.sets.add(all.map((f) => (ctx.has(f) ? '1' : '0')).join(''));
    const context = all
      .filter((f) => ctx.has(f))
      .map((f) => {
        const v = this.#userFeatures.includes(f) ? this.#context[f] : this.#first[f];
        return `${JSON.stringify(f)}:${JSON.stringify(v)}`;
      });
    const per = all.filter((f) => !ctx.has(f)).map((f) => this.#fragment.get(f)!);
    const cands = new Array<string>(this.#n);
    for (let i = 0; i < this.#n; i++) cands[i] = `{${per.map((p) => p[i]).join(',')}}`;
    return `{"context":{${context.join(',')}},"candidates":[${cands.join(',')}]}`;
  }
}

function post(agent: Agent, port: number, body: string): Promise<{ status: number | 'timeout' | 'network'; text: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ status: 'network', text: e.message }));
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      req.destroy();
      resolve({ status: 'timeout', text: `no response in ${REQUEST_TIMEOUT_MS} ms` });
    });
    req.on('error', (e) => resolve({ status: 'network', text: e.message }));
    req.end(body);
  });
}

export async function benchLoad(options: LoadBenchOptions): Promise<LoadBenchResult> {
  const { shape, log } = options;
  const concurrency = options.concurrency ?? 16;
  const seconds = options.seconds ?? 60;
  // 30 s: at the paper shape RSS climbs while the plan cache first fills and ONNX Runtime's arenas grow, and holds from
  // ~20 s on (measured on a quiet 2-core VM); a shorter warm-up measures that climb, not a leak.
  const warmupSeconds = options.warmupSeconds ?? 30;
  const n = options.candidates ?? 1000;
  const vary = options.varyShare ?? 0.25;
  const dir = options.modelDir ?? join(tmpdir(), `wdp-bench-score-${shape}`);
  await ensureModel(shape, dir, log);

  // The child runs this module through tsx, as `npx wdp` does.
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `import(${JSON.stringify(pathToFileURL(self).href)}).then((m) => m.loadServerMain())`],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pid = child.pid!;
  const waitFor = <T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type === type) {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve(m as Extract<FromChild, { type: T }>);
        } else if (m.type === 'failed') {
          child.off('exit', onExit);
          reject(new Error(`the scoring server failed to start: ${m.error}`));
        }
      };
      const onExit = (code: number | null) =>
        reject(new Error(`the scoring server exited (${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const ready = waitFor('ready');
    const scorerOptions: ScorerOptions = {
      backend: options.backend ?? 'auto',
      maxCandidates: Math.max(n, 1000),
      ...(options.planCacheSize !== undefined ? { planCacheSize: options.planCacheSize } : {}),
      ...(options.allowSpinning !== undefined ? { allowSpinning: options.allowSpinning } : {}),
    };
    child.send({ type: 'start', modelUri: dir, scorerOptions } satisfies ToChild);
    const { port } = await ready;
    const rssStart = rssMb(pid);
    log?.(`server pid ${pid} on 127.0.0.1:${port}, RSS ${rssStart} MB; ${concurrency} callers, ${warmupSeconds} s warm-up + ${seconds} s`);

    const bodies = new Bodies(shape, n);
    const t0 = performance.now();
    const warmEnd = t0 + warmupSeconds * 1000;
    const end = warmEnd + seconds * 1000;
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    const samples = new Set<string>();
    let warmupRequests = 0;
    let rssAfterWarmup = 0;
    let peak = 0;
    let rssEnd = 0;
    const timeline: [number, number][] = [];
    const sampler = setInterval(() => {
      const now = performance.now();
      const r = rssMb(pid);
      const at = Math.floor((now - t0) / 5000) * 5;
      if (timeline.length === 0 || timeline[timeline.length - 1]![0] < at) timeline.push([at, r]);
      if (now >= warmEnd) {
        if (!rssAfterWarmup) rssAfterWarmup = r;
        peak = Math.max(peak, r);
      }
    }, SAMPLE_MS);
    const minRequests = options.minRequests ?? 0;
    let answered = 0;
    const caller = async (k: number) => {
      const rng = new Rng((options.seed ?? 1) * 1000 + k);
      while (performance.now() < end || answered < minRequests) {
        const body = bodies.next(rng, vary);
        const t = performance.now();
        const r = await post(agent, port, body);
        const ms = performance.now() - t;
        if (r.status !== 200) {
          errors[String(r.status)] = (errors[String(r.status)] ?? 0) + 1;
          if (samples.size < 3) samples.add(r.text.slice(0, 300));
        } else if (t >= warmEnd) {
          latencies.push(ms);
          answered++;
        } else warmupRequests++;
      }
    };
    const callers = Promise.all(Array.from({ length: concurrency }, (_, k) => caller(k)));
    // The end sample is taken when the measured phase ends, before in-flight requests drain.
    await new Promise((r) => setTimeout(r, Math.max(0, end - performance.now())));
    rssEnd = rssMb(pid);
    peak = Math.max(peak, rssEnd);
    await callers;
    const measuredSeconds = (performance.now() - warmEnd) / 1000;
    clearInterval(sampler);
    const stats = waitFor('stats');
    child.send({ type: 'stats' } satisfies ToChild);
    const { planCache, memory } = await stats;
    const mb = (b: number) => Math.round(b / 2 ** 20);
    latencies.sort((a, b) => a - b);
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    return {
      shape,
      server: 'wdp serve (src/scoring/serve.ts) in a child process on 127.0.0.1',
      concurrency,
      warmup_seconds: warmupSeconds,
      seconds,
      candidates: n,
      vary_share: vary,
      requests: latencies.length,
      requests_per_s: +(latencies.length / Math.max(seconds, measuredSeconds)).toFixed(2),
      warmup_requests: warmupRequests,
      distinct_context_sets: bodies.sets.size,
      errors,
      error_count: errorCount,
      error_samples: [...samples],
      latency_p50_ms: +pct(latencies, 0.5).toFixed(2),
      latency_p99_ms: +pct(latencies, 0.99).toFixed(2),
      rss_mb: { start: rssStart, after_warmup: rssAfterWarmup, peak, end: rssEnd },
      rss_end_vs_after_warmup: rssAfterWarmup ? +(rssEnd / rssAfterWarmup - 1).toFixed(4) : 0,
      rss_timeline_mb: timeline,
      server_memory_at_end_mb: {
        heap_used: mb(memory.heapUsed),
        heap_total: mb(memory.heapTotal),
        array_buffers: mb(memory.arrayBuffers),
        external: mb(memory.external),
      },
      plan_cache: planCache,
      machine: machineInfo(),
    };
  } finally {
    agent.destroy();
    if (child.exitCode === null) child.kill();
  }
}
