#!/usr/bin/env node
// Draws the synthesized state machines as Mermaid into README.md and docs/workflow.md, between
// their workflow-diagram markers. `--check` changes nothing and exits 1 when a file is stale.
//   node scripts/workflow-diagram.mjs [--check]
import { register } from 'tsx/esm/api';

register();
const { synthesizedDefinitions } = await import('../local/definition.ts');
const { writeDiagrams } = await import('../local/workflow-diagram.ts');
const check = process.argv.includes('--check');
const changed = await writeDiagrams(await synthesizedDefinitions(), check);
if (changed.length === 0) process.stderr.write('workflow diagrams are up to date\n');
else process.stderr.write(`${check ? 'stale' : 'updated'}: ${changed.join(', ')}\n`);
if (check && changed.length > 0) process.exitCode = 1;
