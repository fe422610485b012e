/**
 * What a clean `npm ci` would warn about, checked from the files that decide it. The project's
 * .npmrc sets `loglevel=error` (for one engines declaration npm cannot be told to accept), so these
 * tests stand in for the warnings that setting hides.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };

interface LockEntry {
  readonly version?: string;
  readonly hasInstallScript?: boolean;
  readonly optional?: boolean;
  readonly engines?: { readonly node?: string } | readonly string[];
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };
const installed = Object.entries(lock.packages)
  .filter(([path]) => path.startsWith('node_modules/'))
  .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), ...entry }));

/** The oldest release of each Node line the README supports (Node 20 is the one tested here and in CI). */
const SUPPORTED_NODE = ['20.19.0', '22.13.0', '24.0.0'];

test('.npmrc holds only settings this npm knows (an unknown key warns on every npm command)', () => {
  const keys = readFileSync('.npmrc', 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map((l) => l.split('=')[0]!.trim());
  assert.deepEqual(keys, ['loglevel']);
});

test('every dependency with an install script is allowed or denied in package.json allowScripts', () => {
  const unreviewed = installed.filter((p) => p.hasInstallScript && !(p.name in pkg.allowScripts)).map((p) => p.name);
  assert.deepEqual(unreviewed, [], 'npm ci would list these under "install scripts not yet covered by allowScripts"');
  // onnxruntime-node's script only downloads the CUDA provider; the CPU binary ships in the package.
  assert.equal(pkg.allowScripts['onnxruntime-node'], false);
  // The GPU image installs tfjs-node-gpu, whose script fetches libtensorflow: it must run there.
  assert.equal(pkg.allowScripts['@tensorflow/tfjs-node-gpu'], true);
});

test('engines: the Node running the tests is supported, and only the known exception excludes a supported Node', () => {
  assert.ok(semver.satisfies(process.version, pkg.engines.node), `${process.version} vs engines ${pkg.engines.node}`);
  for (const v of SUPPORTED_NODE) assert.ok(semver.satisfies(v, pkg.engines.node), `${v} vs engines ${pkg.engines.node}`);
  const excluding = installed
    .filter((p) => !p.optional && p.engines && !Array.isArray(p.engines) && typeof (p.engines as { node?: string }).node === 'string')
    .flatMap((p) => {
      const range = (p.engines as { node: string }).node;
      return SUPPORTED_NODE.filter((v) => !semver.satisfies(v, range)).map((v) => `${p.name}@${p.version} (${range}) excludes ${v}`);
    });
  // aws-local-stepfunctions 3.0.0 is its only release; local/polyfill.ts supplies the one Node 22
  // API it calls (Promise.withResolvers), and the local end-to-end tests run it on Node 20.
  assert.deepEqual(excluding, ['aws-local-stepfunctions@3.0.0 (>=22.0.0) excludes 20.19.0']);
});
