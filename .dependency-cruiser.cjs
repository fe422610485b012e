/**
 * The layers, as rules dependency-cruiser checks (`node scripts/check-imports.mjs`, part of `npm test`;
 * `npx depcruise --config .dependency-cruiser.cjs src lambdas cdk cli local bin scripts test` shows the
 * same findings). Cycles between folders of src/ are checked by that script, which dependency-cruiser's
 * module-level rules cannot express.
 *
 *   bin ─▶ cli ─▶ local ─▶ lambdas ─▶ src          cdk ─▶ src (names, schemas)    test ─▶ anything
 */
/** Modules something runs directly: what everything in src/ must be reachable from. */
const ENTRY_POINTS = [
  '^bin/wdp\\.mjs$',
  '^cli/main\\.ts$',
  '^lambdas/[^/]+\\.ts$',
  '^cdk/app\\.ts$',
  '^cdk/[^/]+-definitions\\.ts$',
  '^scripts/',
  // Bundled by `wdp bench score` with esbuild (a path, not an import) to time a cold start.
  '^src/scoring/cold-start-entry\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'src-is-the-library',
      comment: 'src/ is the library: it must not reach up into the apps, the infrastructure or the tests.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(lambdas|cdk|cli|local|bin|test|scripts)/' },
    },
    {
      name: 'lambdas-are-thin',
      comment: 'Lambda handlers call src/; they know nothing of the CLI, the local runner or the CDK app.',
      severity: 'error',
      from: { path: '^lambdas/' },
      to: { path: '^(cdk|cli|local|bin|test|scripts)/' },
    },
    {
      name: 'cdk-describes-only',
      comment: 'The CDK app may name handlers and share constants with src/, never run the CLI or the local runner.',
      severity: 'error',
      from: { path: '^cdk/' },
      to: { path: '^(cli|local|bin|test|scripts)/' },
    },
    {
      name: 'runtime-without-cdk',
      comment: 'Only cdk/ (and its tests) may load aws-cdk-lib, constructs or cdk-nag: nothing that runs a model needs them.',
      severity: 'error',
      from: { pathNot: '^(cdk|test/cdk)/' },
      to: { path: 'node_modules/(aws-cdk-lib|constructs|cdk-nag)/' },
    },
    {
      name: 'no-unused-module',
      comment: 'A module in src/ that no entry point reaches is dead code (tests alone do not keep it alive).',
      severity: 'error',
      from: { path: ENTRY_POINTS },
      to: { path: '^src/', pathNot: ['\\.d\\.ts$', ...ENTRY_POINTS], reachable: false },
    },
    {
      name: 'no-orphans',
      comment: 'A file nothing imports and that imports nothing is dead.',
      severity: 'error',
      from: { orphan: true, pathNot: ['\\.d\\.ts$', '(^|/)\\.[^/]+\\.(c|m)?js$', '\\.test\\.ts$', '^scripts/', '^bin/'] },
      to: {},
    },
  ],
};
