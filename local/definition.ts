/**
 * The synthesized state machines as plain ASL, for the local runner. The synthesis itself is
 * cdk/state-machine-definitions.ts, run in a child process: the runner never loads aws-cdk-lib,
 * and cdk/ stays out of the runtime's import graph.
 *
 * Synthesis takes seconds, so its output is cached at
 * `<repo>/node_modules/.cache/wdp/state-machines-<key>.json`, where the key hashes every `.ts`
 * under cdk/ and src/ and package-lock.json: any change to what the definitions are built from
 * re-synthesizes.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowError } from '../src/workflow/errors.ts';

export type Asl = { StartAt: string; States: Record<string, AslState> } & Record<string, unknown>;
export type AslState = { Type: string; Resource?: string; Next?: string; End?: boolean } & Record<string, unknown>;

export interface SynthesizedDefinitions {
  readonly retraining: Asl;
  readonly batchScoring: Asl;
  /** `synthesized` by this process, or read from the `cached` output of an earlier synthesis. */
  readonly origin: 'synthesized' | 'cached';
  /** The cache file the definitions were read from or written to. */
  readonly cacheFile: string;
}

const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const SYNTH_SCRIPT = path.join(REPO_ROOT, 'cdk', 'state-machine-definitions.ts');
const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'wdp');

/** Every `.ts` under `dir`, as paths relative to the repository, sorted. */
async function typeScriptFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(REPO_ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

/** sha256 over the sources the definitions are built from (paths and contents) and the bucket name. */
async function cacheKey(bucketName: string): Promise<string> {
  const hash = createHash('sha256').update(`bucket ${bucketName}\n`);
  const files = [...(await typeScriptFiles('cdk')), ...(await typeScriptFiles('src')), 'package-lock.json'];
  for (const file of files) {
    const bytes = await readFile(path.join(REPO_ROOT, file));
    hash.update(`${file} ${bytes.length}\n`).update(bytes);
  }
  return hash.digest('hex');
}

function isAsl(value: unknown): value is Asl {
  if (value === null || typeof value !== 'object') return false;
  const { StartAt, States } = value as Record<string, unknown>;
  return typeof StartAt === 'string' && States !== null && typeof States === 'object';
}

async function readDefinitions(file: string): Promise<{ retraining: Asl; batchScoring: Asl }> {
  const doc = JSON.parse(await readFile(file, 'utf8')) as { retraining?: unknown; batchScoring?: unknown };
  const { retraining, batchScoring } = doc;
  if (!isAsl(retraining) || !isAsl(batchScoring)) throw new WorkflowError(`${file} does not hold both state machine definitions`);
  return { retraining, batchScoring };
}

/**
 * Runs a synthesis script (`script <out.json> <bucketName>`) in a child process; when it fails,
 * its stderr becomes the error. Exported for tests; the runner always runs SYNTH_SCRIPT.
 */
export function runSynthesisScript(script: string, file: string, bucketName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, file, bucketName],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const how = error.code !== undefined && error.code !== null ? `exit code ${error.code}` : (error.signal ?? error.message);
        reject(
          new WorkflowError(
            `synthesizing the state machines (${path.relative(REPO_ROOT, script)}) failed with ${how}:\n${stderr.trim() || error.message}`,
          ),
        );
      },
    );
  });
}

async function loadOrSynthesize(bucketName: string): Promise<SynthesizedDefinitions> {
  const cacheFile = path.join(CACHE_DIR, `state-machines-${await cacheKey(bucketName)}.json`);
  try {
    return { ...(await readDefinitions(cacheFile)), origin: 'cached', cacheFile };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(CACHE_DIR, { recursive: true });
  // Written beside the cache file and renamed into place: two processes may synthesize at once,
  // and a reader must never see a half-written file.
  const temp = `${cacheFile}.${process.pid}-${randomUUID()}.tmp`;
  try {
    await runSynthesisScript(SYNTH_SCRIPT, temp, bucketName);
    const definitions = await readDefinitions(temp);
    await rename(temp, cacheFile);
    return { ...definitions, origin: 'synthesized', cacheFile };
  } finally {
    await rm(temp, { force: true });
  }
}

let cached: Promise<SynthesizedDefinitions> | undefined;

/**
 * Both definitions as ASL, synthesized at most once per process and once per source change.
 * @param bucketName what `Ref` to the bucket resolves to (only informative locally)
 */
export function synthesizedDefinitions(bucketName = 'local-bucket'): Promise<SynthesizedDefinitions> {
  cached ??= loadOrSynthesize(bucketName);
  cached.catch(() => (cached = undefined));
  return cached;
}
