#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx wdp` works straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv);
