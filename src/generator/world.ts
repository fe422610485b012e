/**
 * The fixed "world" behind the synthetic app-store logs: apps, categories, developers, a
 * persistent user population and the planted (installed app → shown app) pairs. It depends only
 * on the seed and the design parameters, never on the date, so every day's log is drawn from the
 * same world and a model trained on earlier days can generalise to the next one.
 *
 * The signal is built so that both halves of Wide & Deep are needed (Cheng et al. 2016):
 *  - a low-rank affinity u_user · v_app where u_user is a function of the user's OBSERVED features
 *    (country, language, device, age bucket, installed apps) → the deep part can generalise it to
 *    unseen (user, app) pairs; crosses cannot, there are far too many pairs;
 *  - sparse, specific planted pairs and same-developer complements that convert far above their
 *    base rate → crosses of installed_apps × app_id memorise them; a mean-pooled embedding cannot.
 */
import { Rng, hash32 } from '../util/random.ts';

/**
 * Every knob of the generator in one place, so the difficulty of the data can be tuned without
 * touching the code. Logit effects are in natural-log odds.
 */
export interface GeneratorParams {
  /** Apps in the store. @default 5000 */
  readonly numApps: number;
  /** App categories. @default 24 */
  readonly numCategories: number;
  /** Developers; each app belongs to one (skewed: a few developers own many apps). @default 3000 */
  readonly numDevelopers: number;
  /** Developer portfolio skew: developer d gets apps with weight 1/(d+1)^e. @default 0.5 */
  readonly developerZipfExponent: number;
  /** Persistent user population; each day's users are drawn from it, so users recur. @default 200_000 */
  readonly numUsers: number;
  /** Rank of the latent affinity (length of u_user and v_app). @default 8 */
  readonly latentRank: number;
  /** Zipf exponent of app popularity (weight of the app at rank r is 1/(r+1)^s). @default 1.0 */
  readonly zipfExponent: number;
  /** Std of the app-specific part of v_app around its category latent. @default 0.6 */
  readonly appLatentNoiseStd: number;
  /** Std of each coordinate of the country/language/device/age latents. @default 0.6 */
  readonly demographicLatentStd: number;
  /** Weight of the mean installed-app latent in u_user. @default 1.0 */
  readonly installedLatentWeight: number;
  /** How strongly demographics steer a user's favourite categories (softmax temperature⁻¹). @default 1.5 */
  readonly tasteSharpness: number;
  /** Installed apps per user, uniform in [min, max]. @default 3, 30 */
  readonly installedMin: number;
  readonly installedMax: number;
  /** Share of a user's installed apps drawn from their favourite categories. @default 0.6 */
  readonly installedTasteShare: number;

  /** Planted (installed A, shown B) pairs. @default 10_000 */
  readonly plantedPairs: number;
  /** Planted pairs' A is drawn from the this-many most popular apps. @default 800 */
  readonly plantedSourceTop: number;
  /**
   * A is drawn with weight 1/(rank+1)^e. Below the Zipf exponent so the top app does not own
   * most pairs (and every row's pair check stays cheap). @default 0.3
   */
  readonly plantedSourceExponent: number;
  /** Planted pairs' B is drawn uniformly from the this-many most popular apps. @default 3000 */
  readonly plantedTargetTop: number;
  /** Logit uplift of a planted pair, uniform in [min, max]. @default 2.5, 3.5 */
  readonly plantedLogitMin: number;
  readonly plantedLogitMax: number;
  /** Logit uplift when the shown app's developer made one of the user's installed apps. @default 2.5 */
  readonly sameDeveloperLogit: number;

  /**
   * Where a slot's app comes from (the store's candidate generation): the partner of an
   * installed app ("people who installed A also got…", planted partners and developer siblings),
   * the user's favourite categories, or global popularity (the rest).
   * @default partner 0.15, taste 0.3
   */
  readonly candidatePartnerShare: number;
  readonly candidateTasteShare: number;

  /** Logit intercept; sets the base install rate (~8% with the defaults). @default -4.5 */
  readonly intercept: number;
  /** Multiplier of u_user · v_app / sqrt(rank). @default 0.85 */
  readonly affinityScale: number;
  /** Std of the per-app quality bias. @default 0.4 */
  readonly appBiasStd: number;
  /** Position bias: logit −positionLogSlope · ln(position). @default 0.45 */
  readonly positionLogSlope: number;
  /** Paid apps: logit −(paidLogit + paidLogSlope · ln(price)). @default 0.8, 0.35 */
  readonly paidLogit: number;
  readonly paidLogSlope: number;
  /** Rating threshold effects: below `lowRating` → lowRatingLogit; ≥ `highRating` → highRatingLogit; unrated → unratedLogit. */
  readonly lowRating: number;
  readonly lowRatingLogit: number;
  readonly highRating: number;
  readonly highRatingLogit: number;
  readonly unratedLogit: number;
  /** Amplitude of the evening-peaking hour-of-day effect. @default 0.2 */
  readonly hourAmplitude: number;
  /** New users install more: + newUserLogit · exp(−days/30). @default 0.5 */
  readonly newUserLogit: number;
  /** Device × category-group effects: low-end phones avoid heavy games, tablets like them. @default 0.6 */
  readonly deviceCategoryLogit: number;

  /** Share of apps without a rating yet (app_rating is null). @default 0.04 */
  readonly unratedAppShare: number;
  /** Share of rows whose user_sessions_per_week is missing. @default 0.03 */
  readonly missingSessionsShare: number;
}

export const DEFAULT_GENERATOR_PARAMS: GeneratorParams = Object.freeze({
  numApps: 5000,
  numCategories: 24,
  numDevelopers: 3000,
  developerZipfExponent: 0.5,
  numUsers: 200_000,
  latentRank: 8,
  zipfExponent: 1.0,
  appLatentNoiseStd: 0.6,
  demographicLatentStd: 0.6,
  installedLatentWeight: 1.0,
  tasteSharpness: 1.5,
  installedMin: 3,
  installedMax: 30,
  installedTasteShare: 0.6,
  plantedPairs: 10_000,
  plantedSourceTop: 800,
  plantedSourceExponent: 0.3,
  plantedTargetTop: 3000,
  plantedLogitMin: 2.5,
  plantedLogitMax: 3.5,
  sameDeveloperLogit: 2.5,
  candidatePartnerShare: 0.15,
  candidateTasteShare: 0.3,
  intercept: -4.5,
  affinityScale: 0.85,
  appBiasStd: 0.4,
  positionLogSlope: 0.45,
  paidLogit: 0.8,
  paidLogSlope: 0.35,
  lowRating: 3.5,
  lowRatingLogit: -0.8,
  highRating: 4.5,
  highRatingLogit: 0.3,
  unratedLogit: -0.4,
  hourAmplitude: 0.2,
  newUserLogit: 0.5,
  deviceCategoryLogit: 0.6,
  unratedAppShare: 0.04,
  missingSessionsShare: 0.03,
});

export const COUNTRIES = [
  'US',
  'IN',
  'BR',
  'ID',
  'GB',
  'DE',
  'JP',
  'MX',
  'FR',
  'RU',
  'KR',
  'TR',
  'IT',
  'ES',
  'CA',
  'PH',
  'VN',
  'NG',
  'EG',
  'AU',
] as const;
/** Primary language of each country in COUNTRIES (same order). */
const COUNTRY_LANGUAGE = [
  'en',
  'hi',
  'pt',
  'id',
  'en',
  'de',
  'ja',
  'es',
  'fr',
  'ru',
  'ko',
  'tr',
  'it',
  'es',
  'en',
  'tl',
  'vi',
  'en',
  'ar',
  'en',
] as const;
/** Relative traffic per country (same order): skewed like a real store. */
const COUNTRY_WEIGHT = [20, 18, 9, 7, 5, 5, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1] as const;
export const LANGUAGES = ['en', 'hi', 'pt', 'id', 'de', 'ja', 'es', 'fr', 'ru', 'ko', 'tr', 'it', 'tl', 'vi', 'ar'] as const;
export const DEVICE_CLASSES = ['low_end', 'mid_range', 'high_end', 'tablet'] as const;
const DEVICE_WEIGHT = [30, 40, 22, 8] as const;
export const AGE_BUCKETS = ['13-17', '18-24', '25-34', '35-44', '45-54', '55+'] as const;
const AGE_WEIGHT = [8, 24, 28, 20, 12, 8] as const;
const CATEGORY_NAMES = [
  'game_action',
  'game_puzzle',
  'game_strategy',
  'game_casual',
  'game_racing',
  'game_rpg',
  'social',
  'communication',
  'productivity',
  'tools',
  'finance',
  'shopping',
  'travel',
  'music',
  'video',
  'photography',
  'health_fitness',
  'education',
  'news',
  'food_drink',
  'lifestyle',
  'entertainment',
  'books',
  'weather',
] as const;
/** Categories that are "heavy games" for the device × category effect. */
const HEAVY_GAME_CATEGORIES = new Set(['game_action', 'game_strategy', 'game_racing', 'game_rpg']);
const PRICE_POINTS = [0.99, 1.99, 2.99, 3.99, 4.99, 6.99, 9.99, 14.99, 24.99] as const;

/** The world: per-app arrays are indexed by app index (0 = most popular). */
export interface World {
  readonly params: GeneratorParams;
  readonly seed: number;
  readonly numApps: number;
  readonly rank: number;
  readonly appIdStrings: readonly string[];
  readonly categoryNames: readonly string[];
  /** Int32Array [numApps]: category index of each app. */
  readonly appCategory: Int32Array;
  /** Int32Array [numApps]: developer index of each app. */
  readonly appDeveloper: Int32Array;
  /** Float64Array [numApps]: price in dollars, 0 = free. */
  readonly appPrice: Float64Array;
  /** Float64Array [numApps]: rating 1.0–5.0, NaN = not rated yet (written as null). */
  readonly appRating: Float64Array;
  /** Float64Array [numApps]: lifetime downloads (heavy-tailed). */
  readonly appDownloads: Float64Array;
  /** Float64Array [numApps]: per-app quality bias (logit). */
  readonly appBias: Float64Array;
  /** Float32Array [numApps × rank], row-major: v_app. */
  readonly appLatent: Float32Array;
  /** Float64Array [numApps]: cumulative popularity, for sampling. */
  readonly appPopularityCdf: Float64Array;
  /** Per category: app indices (ascending = by popularity) and their cumulative popularity. */
  readonly categoryApps: readonly Int32Array[];
  readonly categoryCdf: readonly Float64Array[];
  /**
   * Planted partners: for app A, partnerStart[A]..partnerStart[A+1] index into partnerApp /
   * partnerLogit. Sorted by A; a pair is (A, partnerApp[j]) with uplift partnerLogit[j].
   */
  readonly partnerStart: Int32Array;
  readonly partnerApp: Int32Array;
  readonly partnerLogit: Float32Array;
  /** Developer siblings for candidate generation: developerStart/developerApps, CSR by developer. */
  readonly developerStart: Int32Array;
  readonly developerApps: Int32Array;
  /** Per app: 0 = other, 1 = heavy game (device × category effect). */
  readonly appHeavyGame: Uint8Array;

  // Users, indexed by user index.
  readonly userIdStrings: readonly string[];
  /** Int32Array [numUsers] of indices into COUNTRIES, LANGUAGES, DEVICE_CLASSES, AGE_BUCKETS. */
  readonly userCountry: Int32Array;
  readonly userLanguage: Int32Array;
  readonly userDevice: Int32Array;
  readonly userAge: Int32Array;
  /** Installed apps in CSR form: installedStart[u]..installedStart[u+1] into installedApp. */
  readonly installedStart: Int32Array;
  readonly installedApp: Int32Array;
  /** The installed apps as the string[] written to Parquet (shared between rows). */
  readonly installedStrings: readonly (readonly string[])[];
  /** Float32Array [numUsers × rank], row-major: u_user, a function of observed features only. */
  readonly userLatent: Float32Array;
  /** Up to 3 favourite categories per user; Int32Array [numUsers × 3], −1 = none. */
  readonly userFavourite: Int32Array;
  /** Sessions per week (what the client reports) and activity weight for daily sampling. */
  readonly userSessions: Float64Array;
  readonly userActivityCdf: Float64Array;
  /** Epoch day of signup. */
  readonly userSignupDay: Int32Array;
}

/** Samples an index from a cumulative (unnormalised) weight array. */
export function sampleCdf(cdf: Float64Array, u: number): number {
  const target = u * cdf[cdf.length - 1]!;
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const c = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) c[i] = s += weights[i]!;
  return c;
}

function gaussianMatrix(rng: Rng, rows: number, cols: number, std: number): Float32Array {
  const m = new Float32Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal() * std;
  return m;
}

const worldCache = new Map<string, World>();

/**
 * Builds (or returns the cached) world for a seed. Building the default 200k users takes a few
 * seconds, so every day of a `generateLogs` call (and every later call) shares it.
 */
export function buildWorld(seed: number, params: GeneratorParams = DEFAULT_GENERATOR_PARAMS): World {
  const key = `${seed}:${JSON.stringify(params)}`;
  const cached = worldCache.get(key);
  if (cached) return cached;
  const world = createWorld(seed, params);
  // Keep only the latest world: it is large (users) and callers use one seed at a time.
  worldCache.clear();
  worldCache.set(key, world);
  return world;
}

function createWorld(seed: number, p: GeneratorParams): World {
  const rng = new Rng(hash32(seed ^ 0x51ed_a77f));
  const K = p.latentRank;
  const A = p.numApps;
  const C = Math.min(p.numCategories, CATEGORY_NAMES.length);
  const categoryNames = CATEGORY_NAMES.slice(0, C);

  // --- Apps (index = popularity rank; the id string is a scrambled number so it leaks nothing).
  const appIdStrings: string[] = new Array(A);
  const idPerm = new Int32Array(A);
  for (let i = 0; i < A; i++) idPerm[i] = i;
  rng.shuffle(idPerm);
  for (let i = 0; i < A; i++) appIdStrings[i] = `app_${String(idPerm[i]! + 10_000)}`;

  const popularity = new Float64Array(A);
  for (let i = 0; i < A; i++) popularity[i] = 1 / (i + 1) ** p.zipfExponent;
  const appPopularityCdf = cumulative(popularity);

  // Category sizes are skewed too (many games, few weather apps).
  const catWeight = new Float64Array(C);
  for (let c = 0; c < C; c++) catWeight[c] = 1 / Math.sqrt(c + 1);
  const catCdf = cumulative(catWeight);
  const appCategory = new Int32Array(A);
  for (let i = 0; i < A; i++) appCategory[i] = sampleCdf(catCdf, rng.next());
  const appHeavyGame = new Uint8Array(A);
  for (let i = 0; i < A; i++) appHeavyGame[i] = HEAVY_GAME_CATEGORIES.has(categoryNames[appCategory[i]!]!) ? 1 : 0;

  const categoryLatent = gaussianMatrix(rng, C, K, 1);
  const appLatent = new Float32Array(A * K);
  for (let i = 0; i < A; i++) {
    const c = appCategory[i]!;
    for (let k = 0; k < K; k++) appLatent[i * K + k] = categoryLatent[c * K + k]! + rng.normal() * p.appLatentNoiseStd;
  }

  const appBias = new Float64Array(A);
  const appPrice = new Float64Array(A);
  const appRating = new Float64Array(A);
  const appDownloads = new Float64Array(A);
  for (let i = 0; i < A; i++) {
    appBias[i] = rng.normal() * p.appBiasStd;
    // Games and productivity apps are paid more often than social apps.
    appPrice[i] = rng.next() < 0.18 ? PRICE_POINTS[Math.min(PRICE_POINTS.length - 1, Math.floor(-Math.log(1 - rng.next()) * 2))]! : 0;
    const rating = 4.0 + 0.8 * appBias[i]! + rng.normal() * 0.45;
    appRating[i] = rng.next() < p.unratedAppShare ? Number.NaN : Math.round(Math.min(5, Math.max(1, rating)) * 10) / 10;
    // Heavy tail: Zipf popularity × lognormal noise; the top app has ~1e9 downloads.
    appDownloads[i] = Math.round(1e9 * popularity[i]! * Math.exp(rng.normal() * 0.7) + 100 + rng.int(900));
  }

  const categoryApps: Int32Array[] = [];
  const categoryCdf: Float64Array[] = [];
  for (let c = 0; c < C; c++) {
    const apps: number[] = [];
    for (let i = 0; i < A; i++) if (appCategory[i] === c) apps.push(i);
    categoryApps.push(Int32Array.from(apps));
    categoryCdf.push(cumulative(apps.map((i) => popularity[i]!)));
  }

  // Developers: Zipf-sized portfolios, so some developers have many apps to cross-sell.
  const devWeight = new Float64Array(p.numDevelopers);
  for (let d = 0; d < p.numDevelopers; d++) devWeight[d] = 1 / (d + 1) ** p.developerZipfExponent;
  const devCdf = cumulative(devWeight);
  const appDeveloper = new Int32Array(A);
  for (let i = 0; i < A; i++) appDeveloper[i] = sampleCdf(devCdf, rng.next());
  const developerStart = new Int32Array(p.numDevelopers + 1);
  for (let i = 0; i < A; i++) developerStart[appDeveloper[i]! + 1]!++;
  for (let d = 0; d < p.numDevelopers; d++) developerStart[d + 1]! += developerStart[d]!;
  const developerApps = new Int32Array(A);
  const fill = developerStart.slice(0, p.numDevelopers);
  for (let i = 0; i < A; i++) developerApps[fill[appDeveloper[i]!]!++] = i;

  // --- Planted pairs: A popularity-weighted among the top apps, B uniform among the top apps,
  // unrelated to categories or latents (so they are not low-rank).
  const srcWeight = new Float64Array(Math.min(A, p.plantedSourceTop));
  for (let i = 0; i < srcWeight.length; i++) srcWeight[i] = 1 / (i + 1) ** p.plantedSourceExponent;
  const srcCdf = cumulative(srcWeight);
  const targetTop = Math.min(A, p.plantedTargetTop);
  const seen = new Set<number>();
  const pairs: { a: number; b: number; logit: number }[] = [];
  let guard = 0;
  while (pairs.length < p.plantedPairs && guard++ < p.plantedPairs * 20) {
    const a = sampleCdf(srcCdf, rng.next());
    const b = rng.int(targetTop);
    if (a === b || appDeveloper[a] === appDeveloper[b] || seen.has(a * A + b)) continue;
    seen.add(a * A + b);
    pairs.push({ a, b, logit: p.plantedLogitMin + rng.next() * (p.plantedLogitMax - p.plantedLogitMin) });
  }
  pairs.sort((x, y) => x.a - y.a || x.b - y.b);
  const partnerStart = new Int32Array(A + 1);
  for (const q of pairs) partnerStart[q.a + 1]!++;
  for (let i = 0; i < A; i++) partnerStart[i + 1]! += partnerStart[i]!;
  const partnerApp = Int32Array.from(pairs.map((q) => q.b));
  const partnerLogit = Float32Array.from(pairs.map((q) => q.logit));

  // --- Demographic latents.
  const nC = COUNTRIES.length;
  const nL = LANGUAGES.length;
  const nD = DEVICE_CLASSES.length;
  const nG = AGE_BUCKETS.length;
  const countryLatent = gaussianMatrix(rng, nC, K, p.demographicLatentStd);
  const languageLatent = gaussianMatrix(rng, nL, K, p.demographicLatentStd);
  const deviceLatent = gaussianMatrix(rng, nD, K, p.demographicLatentStd);
  const ageLatent = gaussianMatrix(rng, nG, K, p.demographicLatentStd);
  const countryCdf = cumulative(COUNTRY_WEIGHT);
  const deviceCdf = cumulative(DEVICE_WEIGHT);
  const ageCdf = cumulative(AGE_WEIGHT);
  const langIndex = new Map<string, number>(LANGUAGES.map((l, i) => [l, i]));

  // --- Users.
  const U = p.numUsers;
  const userIdStrings: string[] = new Array(U);
  const userCountry = new Int32Array(U);
  const userLanguage = new Int32Array(U);
  const userDevice = new Int32Array(U);
  const userAge = new Int32Array(U);
  const userFavourite = new Int32Array(U * 3).fill(-1);
  const userSessions = new Float64Array(U);
  const userSignupDay = new Int32Array(U);
  const userLatent = new Float32Array(U * K);
  const installedStart = new Int32Array(U + 1);
  const installedList: number[] = [];
  const installedStrings: string[][] = new Array(U);
  const demo = new Float64Array(K);
  const catScore = new Float64Array(C);
  const favCdf = new Float64Array(C);
  const epochDay2026 = Math.floor(Date.UTC(2026, 0, 1) / 86_400_000);
  const chosen = new Set<number>();
  for (let u = 0; u < U; u++) {
    userIdStrings[u] = `u${String(u).padStart(6, '0')}`;
    const country = sampleCdf(countryCdf, rng.next());
    userCountry[u] = country;
    // Most users use their country's language; the rest use English (or a random one).
    const r = rng.next();
    const lang = r < 0.8 ? COUNTRY_LANGUAGE[country]! : r < 0.95 ? 'en' : LANGUAGES[rng.int(nL)]!;
    userLanguage[u] = langIndex.get(lang)!;
    userDevice[u] = sampleCdf(deviceCdf, rng.next());
    userAge[u] = sampleCdf(ageCdf, rng.next());
    for (let k = 0; k < K; k++) {
      demo[k] =
        countryLatent[country * K + k]! +
        languageLatent[userLanguage[u]! * K + k]! +
        deviceLatent[userDevice[u]! * K + k]! +
        ageLatent[userAge[u]! * K + k]!;
    }
    // Favourite categories: softmax over demographics · category latent, so demographics
    // predict taste (and installed apps reveal it).
    let maxScore = -Infinity;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += demo[k]! * categoryLatent[c * K + k]!;
      catScore[c] = (p.tasteSharpness * s) / Math.sqrt(K);
      if (catScore[c]! > maxScore) maxScore = catScore[c]!;
    }
    let acc = 0;
    for (let c = 0; c < C; c++) favCdf[c] = acc += Math.exp(catScore[c]! - maxScore) * catWeight[c]!;
    const nFav = 1 + rng.int(3);
    for (let f = 0; f < nFav; f++) userFavourite[u * 3 + f] = sampleCdf(favCdf, rng.next());

    const nInstalled = p.installedMin + rng.int(p.installedMax - p.installedMin + 1);
    chosen.clear();
    let tries = 0;
    while (chosen.size < nInstalled && tries++ < nInstalled * 10) {
      let app: number;
      if (rng.next() < p.installedTasteShare) {
        const c = userFavourite[u * 3 + rng.int(nFav)]!;
        app =
          categoryApps[c]!.length > 0 ? categoryApps[c]![sampleCdf(categoryCdf[c]!, rng.next())]! : sampleCdf(appPopularityCdf, rng.next());
      } else {
        app = sampleCdf(appPopularityCdf, rng.next());
      }
      chosen.add(app);
    }
    const apps = [...chosen];
    installedStrings[u] = apps.map((a) => appIdStrings[a]!);
    for (const a of apps) installedList.push(a);
    installedStart[u + 1] = installedList.length;

    // u_user: demographics + mean installed-app latent — only observed features.
    for (let k = 0; k < K; k++) {
      let m = 0;
      for (const a of apps) m += appLatent[a * K + k]!;
      userLatent[u * K + k] = demo[k]! + (p.installedLatentWeight * m) / apps.length;
    }
    userSessions[u] = Math.round(Math.min(200, Math.exp(1.3 + rng.normal() * 0.8)) * 10) / 10;
    userSignupDay[u] = epochDay2026 - Math.floor(Math.exp(rng.next() * Math.log(3000)));
  }
  const userActivityCdf = cumulative(userSessions);

  return {
    params: p,
    seed,
    numApps: A,
    rank: K,
    appIdStrings,
    categoryNames,
    appCategory,
    appDeveloper,
    appPrice,
    appRating,
    appDownloads,
    appBias,
    appLatent,
    appPopularityCdf,
    categoryApps,
    categoryCdf,
    partnerStart,
    partnerApp,
    partnerLogit,
    developerStart,
    developerApps,
    appHeavyGame,
    userIdStrings,
    userCountry,
    userLanguage,
    userDevice,
    userAge,
    installedStart,
    installedApp: Int32Array.from(installedList),
    installedStrings,
    userLatent,
    userFavourite,
    userSessions,
    userActivityCdf,
    userSignupDay,
  };
}
