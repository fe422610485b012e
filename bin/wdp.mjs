#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx wdp` works straight after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
// Host settings are read from the environment here, at the edge: the library never reads process.env.
// WDP_ORT_SPIN=0 stops ONNX Runtime's idle threads spin-waiting (for busy, shared machines).
const { configureOnnxRuntime } = await import('../src/model/tower/onnx-runtime.ts');
configureOnnxRuntime({ allowSpinning: process.env.WDP_ORT_SPIN !== '0' });
const { main } = await import('../cli/main.ts');
await main(process.argv);
