/**
 * `wdp quantize MODEL --out DIR`: a copy of MODEL with its int8 serving tower
 * (tower-int8.safetensors, `serving.quantize: "int8"` in its config); `--check DATA…` compares
 * the copy's int8 tower with its float32 one on those logs, with Validate's thresholds.
 *
 * A copy rather than an edit in place: adding a file means rewriting manifest.json and then
 * manifest.sha256, and a crash between the two would leave the original folder unloadable.
 */
import { type Command, Option } from 'commander';
import { INT8_OPS, type Int8Ops } from '../../src/model/tower/onnx-export.ts';
import { int, printJson, say } from '../shared.ts';

export function addQuantizeCommand(program: Command): void {
  program
    .command('quantize')
    .description('copy a model with an int8 serving tower (per-channel int8 weights, activations quantized per request)')
    .argument('<model>', 'model folder (local path, file:// or s3://)')
    .requiredOption('--out <uri>', 'where to write the quantized copy: a new folder, never the source (which is not modified)')
    .option('--force', 'replace a model already at --out (locally swapped in only once complete)', false)
    .option('--check <uri...>', 'holdout logs: compare int8 with float32 on them (|ΔAUC|, Spearman, top-K overlap)')
    .option('--max-rows <n>', 'rows compared at most (default: the thresholds’ int8MaxRows)', int('--max-rows', 2))
    .option('--group-size <n>', 'consecutive rows per "request" for Spearman and top-K (default 100)', int('--group-size', 2))
    .option('--top-k <k>', 'K of the top-K overlap (default 10)', int('--top-k'))
    .addOption(new Option('--int8-ops <ops>', 'ONNX form of the int8 GEMMs').choices(INT8_OPS).default('fused'))
    .option('--json', 'print JSON on stdout', false)
    .action(
      async (
        model: string,
        o: {
          out: string;
          force: boolean;
          check?: string[];
          maxRows?: number;
          groupSize?: number;
          topK?: number;
          int8Ops: Int8Ops;
          json: boolean;
        },
      ) => {
        const { INT8_TOWER_FILE } = await import('../../src/model/artifact.ts');
        const { writeQuantizedCopy } = await import('../../src/model/quantize-copy.ts');
        // The --check logs are listed before the copy is written: a mistyped path must not leave
        // an int8 copy nobody checked at --out (which the corrected command would then refuse).
        if (o.check) await (await import('../../src/data/log-files.ts')).listLogFiles(o.check);
        const m = await writeQuantizedCopy(model, o.out, { existing: o.force ? 'replace' : 'refuse' });
        say(
          `wrote ${o.out}: ${INT8_TOWER_FILE} (${m.files[INT8_TOWER_FILE]!.bytes} bytes, sha256 ${m.files[INT8_TOWER_FILE]!.sha256.slice(0, 12)}…)`,
        );
        let result: Record<string, unknown> = {
          model,
          out: o.out,
          modelId: m.modelId,
          file: INT8_TOWER_FILE,
          bytes: m.files[INT8_TOWER_FILE]!.bytes,
        };
        if (o.check) {
          const { compareInt8OnHoldout, int8Checks } = await import('../../src/workflow/steps/int8-check.ts');
          const { DEFAULT_THRESHOLDS } = await import('../../src/workflow/steps/thresholds.ts');
          const t = {
            ...DEFAULT_THRESHOLDS,
            ...(o.maxRows ? { int8MaxRows: o.maxRows } : {}),
            ...(o.groupSize ? { int8GroupSize: o.groupSize } : {}),
            ...(o.topK ? { int8TopK: o.topK } : {}),
          };
          const c = await compareInt8OnHoldout(o.out, o.check, {
            maxRows: t.int8MaxRows,
            groupSize: t.int8GroupSize,
            topK: t.int8TopK,
            int8Ops: o.int8Ops,
          });
          const checks = int8Checks(t, c);
          for (const k of checks) say(k.message);
          const passed = checks.every((k) => k.passed);
          if (!passed) say(`the int8 tower fails the thresholds: serve ${model} (float32) instead of ${o.out}`);
          result = { ...result, passed, comparison: c, checks };
          if (!passed) process.exitCode = 1;
        }
        if (o.json) printJson(result);
      },
    );
}
