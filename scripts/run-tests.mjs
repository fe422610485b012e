#!/usr/bin/env node
// Runs the type checks (both projects), the linter/formatter check (biome) and the import-boundary
// check (scripts/check-imports.mjs), then every test/**/*.test.ts with
// node's test runner (through tsx).
// Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test');
if (only.length === 0) {
  // Two projects: the runtime code (tsconfig.json), and cdk/ with its tests (cdk/tsconfig.json).
  for (const project of ['tsconfig.json', 'cdk/tsconfig.json']) {
    const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', project], { stdio: 'inherit' });
    if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  }
  const lint = spawnSync(process.execPath, ['node_modules/@biomejs/biome/bin/biome', 'ci', '.'], { stdio: 'inherit' });
  if (lint.status !== 0) {
    process.stderr.write('biome found lint or format problems: `npx biome check --write .` fixes most\n');
    process.exit(lint.status ?? 1);
  }
  const imports = spawnSync(process.execPath, ['scripts/check-imports.mjs'], { stdio: 'inherit' });
  if (imports.status !== 0) process.exit(imports.status ?? 1);
}
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim(),
    // As bin/wdp.mjs does: the SDK's Node 20 banner says nothing the README does not (Node versions).
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true',
  },
});
process.exit(run.status ?? 1);
