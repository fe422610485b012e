#!/usr/bin/env node
// The import-boundary check of `npm test`: the rules in .dependency-cruiser.cjs (layers, no aws-cdk-lib
// outside cdk/, no unreachable or orphan module), plus what dependency-cruiser's rules cannot say: no
// cycle between folders of src/ (src/data → src/features → src/data is one, even when no single module
// cycle exists). Exits 1 naming every finding.
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const ruleSet = require('../.dependency-cruiser.cjs');
const ROOTS = ['src', 'lambdas', 'cdk', 'cli', 'local', 'bin', 'scripts', 'test'];

const result = await cruise(ROOTS, {
  validate: true,
  ruleSet,
  tsPreCompilationDeps: true,
  doNotFollow: { path: 'node_modules' },
  exclude: { path: '^cdk\\.out/' },
});
const { output } = result;
if (typeof output === 'string') throw new Error('dependency-cruiser returned a report string, expected a result object');

const problems = [];
for (const v of output.summary.violations) {
  problems.push(`${v.rule.name}: ${v.from}${v.to && v.to !== v.from ? ` → ${v.to}` : ''}`);
}

// Folder graph of src/: every directory is a node (src/model and src/model/tower are two), an edge per
// import between different directories.
const dirOf = (p) => p.slice(0, p.lastIndexOf('/'));
const edges = new Map();
const example = new Map();
for (const m of output.modules) {
  if (!m.source.startsWith('src/')) continue;
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('src/')) continue;
    const a = dirOf(m.source);
    const b = dirOf(d.resolved);
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a).add(b);
    if (!example.has(`${a}|${b}`)) example.set(`${a}|${b}`, `${m.source} → ${d.resolved}`);
  }
}
for (const cycle of stronglyConnected(edges).filter((c) => c.length > 1)) {
  const inCycle = new Set(cycle);
  const links = [];
  for (const a of cycle) for (const b of edges.get(a) ?? []) if (inCycle.has(b)) links.push(example.get(`${a}|${b}`));
  problems.push(`folder-cycle: ${cycle.join(' ⇄ ')}\n    ${links.join('\n    ')}`);
}

if (problems.length > 0) {
  process.stderr.write(`import-boundary check: ${problems.length} finding(s)\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(
  `import-boundary check: ${output.summary.totalCruised} modules, ${output.summary.totalDependenciesCruised} imports, layers and folders acyclic\n`,
);

/** Tarjan's strongly connected components of a directed graph given as adjacency sets. */
function stronglyConnected(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}
