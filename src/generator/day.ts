/**
 * One day of synthetic impression logs, as in-memory columns, together with the true logit
 * split into its parts so the data's difficulty can be measured (see truth.ts).
 *
 * A day is a sequence of store "requests": a user (drawn by activity from the persistent
 * population) opens the store at some hour and is shown 1–10 apps at positions 1…k. Each shown
 * app comes from the store's candidate generation (partners of installed apps, favourite
 * categories, or global popularity), and is installed with probability σ(base + affinity + memo).
 */
import { Rng, hash32 } from '../util/random.ts';
import {
  AGE_BUCKETS,
  COUNTRIES,
  DEFAULT_GENERATOR_PARAMS,
  DEVICE_CLASSES,
  LANGUAGES,
  buildWorld,
  sampleCdf,
  type GeneratorParams,
  type World,
} from './world.ts';

/** The columns of one day, one entry per row (all arrays have the same length). */
export interface DayColumns {
  readonly impression_id: string[];
  readonly user_id: string[];
  readonly country: string[];
  readonly language: string[];
  readonly device_class: string[];
  readonly age_bucket: string[];
  /** Shared per user: do not mutate. */
  readonly installed_apps: (readonly string[])[];
  /** null when the client did not report it. */
  readonly user_sessions_per_week: (number | null)[];
  readonly user_days_since_signup: Int32Array;
  readonly app_id: string[];
  readonly app_category: string[];
  readonly app_price: Float64Array;
  /** null for apps without a rating yet. */
  readonly app_rating: (number | null)[];
  readonly app_downloads: Float64Array;
  /** 1-based slot in the result list. */
  readonly position: Int32Array;
  readonly hour_of_day: Int32Array;
  /** The label: 1 = the user installed the shown app. */
  readonly installed: Int32Array;
}

/** The true model behind the labels; every array is Float64Array [rows] unless noted. */
export interface DayTruth {
  /** Intercept, app bias, position, price, rating, hour, new-user and device × category effects. */
  readonly base: Float64Array;
  /** affinityScale · u_user·v_app / √rank: low-rank, generalisable (what deep is for). */
  readonly affinity: Float64Array;
  /** Planted-pair and same-developer uplifts: sparse, memorisable (what wide crosses are for). */
  readonly memo: Float64Array;
  /** base + affinity + memo. */
  readonly logit: Float64Array;
  /** σ(logit): the Bayes-optimal prediction. */
  readonly prob: Float64Array;
  /** Int32Array [rows]: user index and shown-app index in the world. */
  readonly userIndex: Int32Array;
  readonly appIndex: Int32Array;
  /** Labels before any shuffleLabels permutation. */
  readonly trueLabel: Int32Array;
}

export interface GenerateDayOptions {
  readonly seed: number;
  /** UTC date, YYYY-MM-DD. */
  readonly date: string;
  readonly rows: number;
  /** Permute the day's labels (features unchanged). @default false */
  readonly shuffleLabels?: boolean;
  /** @default DEFAULT_GENERATOR_PARAMS */
  readonly params?: GeneratorParams;
}

export interface GeneratedDay {
  readonly date: string;
  readonly numRows: number;
  readonly columns: DayColumns;
  readonly truth: DayTruth;
  readonly world: World;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a YYYY-MM-DD date; throws on anything else. */
export function epochDayOf(date: string): number {
  const m = DATE_RE.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a valid YYYY-MM-DD date: "${date}"`);
  }
  return Math.floor(ms / 86_400_000);
}

export function dateOfEpochDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Relative traffic per hour of day (UTC-ish): quiet nights, evening peak. */
const HOUR_WEIGHT = [3, 2, 1.5, 1, 1, 1.5, 2.5, 4, 5, 5, 5, 5.5, 6, 6, 5.5, 5.5, 6, 7, 8, 9, 9.5, 8.5, 6.5, 4.5];
const HOUR_CDF = (() => {
  const c = new Float64Array(24);
  let s = 0;
  for (let h = 0; h < 24; h++) c[h] = s += HOUR_WEIGHT[h]!;
  return c;
})();
const MAX_SLOTS = 10;

/**
 * Generates one day. Rows depend only on (seed, date, params): the day's random stream is seeded
 * from both, so generating days 1–3 together or day 3 alone gives identical rows for day 3.
 *
 * @example
 * const day = generateDayWithTruth({ seed: 7, date: '2026-01-01', rows: 100_000 });
 * day.columns.installed; // Int32Array of 0/1
 * day.truth.prob;        // Bayes-optimal probabilities
 */
export function generateDayWithTruth(opts: GenerateDayOptions): GeneratedDay {
  const p = opts.params ?? DEFAULT_GENERATOR_PARAMS;
  const n = opts.rows;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`rows must be a non-negative integer, got ${n}`);
  const epochDay = epochDayOf(opts.date);
  const w = buildWorld(opts.seed, p);
  const daySeed = hash32(hash32(opts.seed >>> 0) ^ Math.imul(epochDay, 0x9e3779b1));
  const rng = new Rng(daySeed);
  const K = w.rank;
  const invSqrtK = 1 / Math.sqrt(K);
  const datePrefix = `imp-${opts.date.replaceAll('-', '')}-`;

  const cols: DayColumns = {
    impression_id: new Array<string>(n),
    user_id: new Array<string>(n),
    country: new Array<string>(n),
    language: new Array<string>(n),
    device_class: new Array<string>(n),
    age_bucket: new Array<string>(n),
    installed_apps: new Array<readonly string[]>(n),
    user_sessions_per_week: new Array<number | null>(n),
    user_days_since_signup: new Int32Array(n),
    app_id: new Array<string>(n),
    app_category: new Array<string>(n),
    app_price: new Float64Array(n),
    app_rating: new Array<number | null>(n),
    app_downloads: new Float64Array(n),
    position: new Int32Array(n),
    hour_of_day: new Int32Array(n),
    installed: new Int32Array(n),
  };
  const base = new Float64Array(n);
  const affinity = new Float64Array(n);
  const memo = new Float64Array(n);
  const logit = new Float64Array(n);
  const prob = new Float64Array(n);
  const userIndex = new Int32Array(n);
  const appIndex = new Int32Array(n);

  const slotApps = new Int32Array(MAX_SLOTS);
  const lowEnd = DEVICE_CLASSES.indexOf('low_end');
  const highEnd = DEVICE_CLASSES.indexOf('high_end');
  const tablet = DEVICE_CLASSES.indexOf('tablet');

  let row = 0;
  while (row < n) {
    const u = sampleCdf(w.userActivityCdf, rng.next());
    const hour = sampleCdf(HOUR_CDF, rng.next());
    const slots = Math.min(n - row, 1 + rng.int(MAX_SLOTS));
    const iStart = w.installedStart[u]!;
    const iEnd = w.installedStart[u + 1]!;
    let nFav = 0;
    while (nFav < 3 && w.userFavourite[u * 3 + nFav]! >= 0) nFav++;
    const hourEffect = p.hourAmplitude * Math.cos((2 * Math.PI * (hour - 20)) / 24);
    const daysSinceSignup = Math.max(0, epochDay - w.userSignupDay[u]!);
    const newUserEffect = p.newUserLogit * Math.exp(-daysSinceSignup / 30);
    const device = w.userDevice[u]!;

    for (let s = 0; s < slots; s++) {
      const app = pickCandidate(w, p, rng, u, iStart, iEnd, nFav, slotApps, s);
      slotApps[s] = app;
      const position = s + 1;

      // --- base: effects both halves can learn (per-feature or simple crosses).
      let b = p.intercept + w.appBias[app]! + hourEffect + newUserEffect - p.positionLogSlope * Math.log(position);
      const price = w.appPrice[app]!;
      if (price > 0) b -= p.paidLogit + p.paidLogSlope * Math.log(price);
      const rating = w.appRating[app]!;
      if (Number.isNaN(rating)) b += p.unratedLogit;
      else if (rating < p.lowRating) b += p.lowRatingLogit;
      else if (rating >= p.highRating) b += p.highRatingLogit;
      if (w.appHeavyGame[app] === 1) {
        if (device === lowEnd) b -= p.deviceCategoryLogit;
        else if (device === tablet) b += p.deviceCategoryLogit * 0.6;
        else if (device === highEnd) b += p.deviceCategoryLogit * 0.3;
      }

      // --- affinity: low-rank u·v.
      let dot = 0;
      for (let k = 0; k < K; k++) dot += w.userLatent[u * K + k]! * w.appLatent[app * K + k]!;
      const a = p.affinityScale * dot * invSqrtK;

      // --- memo: planted pairs (summed) and same developer (once).
      let m = 0;
      let sameDev = false;
      const dev = w.appDeveloper[app]!;
      for (let i = iStart; i < iEnd; i++) {
        const inst = w.installedApp[i]!;
        if (w.appDeveloper[inst] === dev) sameDev = true;
        m += plantedLogit(w, inst, app);
      }
      if (sameDev) m += p.sameDeveloperLogit;

      const z = b + a + m;
      const pr = 1 / (1 + Math.exp(-z));
      base[row] = b;
      affinity[row] = a;
      memo[row] = m;
      logit[row] = z;
      prob[row] = pr;
      userIndex[row] = u;
      appIndex[row] = app;

      cols.impression_id[row] = datePrefix + row.toString(36).padStart(6, '0');
      cols.user_id[row] = w.userIdStrings[u]!;
      cols.country[row] = COUNTRIES[w.userCountry[u]!]!;
      cols.language[row] = LANGUAGES[w.userLanguage[u]!]!;
      cols.device_class[row] = DEVICE_CLASSES[device]!;
      cols.age_bucket[row] = AGE_BUCKETS[w.userAge[u]!]!;
      cols.installed_apps[row] = w.installedStrings[u]!;
      cols.user_sessions_per_week[row] = rng.next() < p.missingSessionsShare ? null : w.userSessions[u]!;
      cols.user_days_since_signup[row] = daysSinceSignup;
      cols.app_id[row] = w.appIdStrings[app]!;
      cols.app_category[row] = w.categoryNames[w.appCategory[app]!]!;
      cols.app_price[row] = price;
      cols.app_rating[row] = Number.isNaN(rating) ? null : rating;
      cols.app_downloads[row] = w.appDownloads[app]!;
      cols.position[row] = position;
      cols.hour_of_day[row] = hour;
      cols.installed[row] = rng.next() < pr ? 1 : 0;
      row++;
    }
  }

  const trueLabel = cols.installed.slice();
  if (opts.shuffleLabels) {
    // A separate stream, so a shuffled day has exactly the features of the unshuffled one.
    new Rng(hash32(daySeed ^ 0x5bd1e995)).shuffle(cols.installed);
  }
  return {
    date: opts.date,
    numRows: n,
    columns: cols,
    truth: { base, affinity, memo, logit, prob, userIndex, appIndex, trueLabel },
    world: w,
  };
}

/** Uplift of the planted pair (installed, shown), 0 when not planted (binary search in A's partners). */
export function plantedLogit(w: World, installed: number, shown: number): number {
  let lo = w.partnerStart[installed]!;
  let hi = w.partnerStart[installed + 1]!;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const b = w.partnerApp[mid]!;
    if (b === shown) return w.partnerLogit[mid]!;
    if (b < shown) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/**
 * The store's candidate generation for one slot: never an installed app or one already shown in
 * this request (up to a few retries; then the duplicate is allowed, as real stores sometimes do).
 */
function pickCandidate(
  w: World,
  p: GeneratorParams,
  rng: Rng,
  u: number,
  iStart: number,
  iEnd: number,
  nFav: number,
  slotApps: Int32Array,
  filled: number,
): number {
  let app = 0;
  for (let attempt = 0; attempt < 6; attempt++) {
    const r = rng.next();
    app = -1;
    if (r < p.candidatePartnerShare && iEnd > iStart) {
      // "Because you installed A": a planted partner of A, or another app by A's developer.
      const a = w.installedApp[iStart + rng.int(iEnd - iStart)]!;
      const pS = w.partnerStart[a]!;
      const nPartners = w.partnerStart[a + 1]! - pS;
      const dev = w.appDeveloper[a]!;
      const dS = w.developerStart[dev]!;
      const nSiblings = w.developerStart[dev + 1]! - dS - 1;
      const pick = rng.int(nPartners + nSiblings);
      if (pick < nPartners) app = w.partnerApp[pS + pick]!;
      else if (nSiblings > 0) {
        app = w.developerApps[dS + (pick - nPartners)]!;
        if (app === a) app = w.developerApps[dS + nSiblings]!;
      }
    } else if (r < p.candidatePartnerShare + p.candidateTasteShare && nFav > 0) {
      const c = w.userFavourite[u * 3 + rng.int(nFav)]!;
      const apps = w.categoryApps[c]!;
      if (apps.length > 0) app = apps[sampleCdf(w.categoryCdf[c]!, rng.next())]!;
    }
    if (app < 0) app = sampleCdf(w.appPopularityCdf, rng.next());
    let clash = false;
    for (let i = iStart; i < iEnd && !clash; i++) clash = w.installedApp[i] === app;
    for (let s = 0; s < filled && !clash; s++) clash = slotApps[s] === app;
    if (!clash) return app;
  }
  return app;
}
