/** `wdp evaluate`: score held-out logs with a model; AUC, logloss, calibration, optional plots. */
import { type Command, Option } from 'commander';
import { TOWER_KINDS, type TowerKind } from '../../src/model/tower/kinds.ts';
import { printJson, svgPath, writeOutputFile } from '../shared.ts';

/** The predictions' batches as one array (the plots take whole curves). */
function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

export function addEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('score held-out logs with a model: rows, AUC, logloss, calibration')
    .requiredOption('--model <uri>', 'model folder')
    .requiredOption('--data <uri...>', 'log files or prefixes')
    .addOption(new Option('--backend <backend>', 'tower backend').choices(TOWER_KINDS).default('auto'))
    .option('--plot <file.svg>', 'write ROC and calibration curves as SVG', svgPath)
    .option('--json', 'print JSON on stdout', false)
    .action(async (o: { model: string; data: string[]; backend: TowerKind; plot?: string; json: boolean }) => {
      const { loadTrainableModel } = await import('../../src/model/trainable-model.ts');
      const { evaluateModel } = await import('../../src/evaluation/evaluate.ts');
      const loaded = await loadTrainableModel(o.model, { backend: o.backend });
      try {
        const seen: { p: Float32Array[]; y: Float32Array[] } = { p: [], y: [] };
        const m = await evaluateModel(
          loaded,
          o.data,
          o.plot
            ? {
                onPredictions: (p, y) => {
                  seen.p.push(p.slice());
                  seen.y.push(y.slice());
                },
              }
            : {},
        );
        const out = {
          model: o.model,
          modelId: loaded.manifest.modelId,
          kind: loaded.manifest.kind,
          rows: m.rows,
          skippedRows: m.skippedRows,
          auc: m.auc,
          logloss: m.logloss,
          calibration: m.calibration,
          accuracy: m.accuracy,
          meanPrediction: m.meanPrediction,
          positiveRate: m.positiveRate,
        };
        if (o.json) printJson(out);
        else {
          process.stdout.write(
            `rows         ${m.rows}${m.skippedRows ? ` (${m.skippedRows} bad rows skipped)` : ''}\n` +
              `auc          ${m.auc.toFixed(4)}\nlogloss      ${m.logloss.toFixed(4)}\n` +
              `calibration  ${m.calibration.toFixed(3)}  (mean prediction ${m.meanPrediction.toFixed(4)} / observed rate ${m.positiveRate.toFixed(4)})\n` +
              `accuracy     ${m.accuracy.toFixed(4)}\n`,
          );
        }
        // After the metrics are printed: a plot that cannot be written must not lose them.
        if (o.plot) {
          const { evaluationPlotSvg } = await import('../../src/evaluation/plots.ts');
          await writeOutputFile(
            o.plot,
            await evaluationPlotSvg(
              concat(seen.p),
              concat(seen.y),
              `${loaded.manifest.kind} ${loaded.manifest.modelId}: AUC ${m.auc.toFixed(4)}, calibration ${m.calibration.toFixed(3)}`,
            ),
          );
          process.stderr.write(`plot written to ${o.plot}\n`);
        }
      } finally {
        loaded.model.dispose();
      }
    });
}
