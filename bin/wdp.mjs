#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx wdp` works straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
// The AWS SDK prints a 9-line NodeVersionSupportWarning on Node 20 (SDK releases after January 2027
// will need Node 22); the README states which Node versions wdp supports and why, and the lockfile
// pins SDK releases that run on 20. Set the variable to anything else to see the warning again.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Host settings are read from the environment here, at the edge: the library never reads process.env.
// WDP_ORT_SPIN=0 stops ONNX Runtime's idle threads spin-waiting (for busy, shared machines).
const { configureOnnxRuntime } = await import('../src/model/tower/onnx-runtime.ts');
configureOnnxRuntime({ allowSpinning: process.env.WDP_ORT_SPIN !== '0' });
const { main } = await import('../cli/main.ts');
await main(process.argv);
