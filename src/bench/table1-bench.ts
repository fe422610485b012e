/**
 * `wdp bench table1`: the paper's Table 1 on generated app-store logs — wide only, deep only and
 * joint Wide & Deep trained on the same days and compared on the next day's AUC — plus the
 * warm-start check (day 1 → warm start on day 2 vs. scratch on day 2, both judged on day 3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfigDocument, type ModelKind, type WdpConfig } from '../config/index.ts';
import { generateLogs } from '../generator/generate.ts';
import { evaluateModel } from '../evaluation/evaluate.ts';
import { loadTrainableModel } from '../model/trainable-model.ts';
import type { TowerKind } from '../model/tower/kinds.ts';
import { storeFor } from '../storage/index.ts';
import { trainModel } from '../training/train.ts';
import { machineInfo } from './machine.ts';
import { silentLogger, type Logger } from '../util/log.ts';

/** The app-store example config (examples/app-store/wdp.config.json). */
export const EXAMPLE_CONFIG = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/app-store/wdp.config.json');

export interface Table1Options {
  readonly rowsPerDay: number;
  readonly seed?: number;
  /** Training days before the held-out day. @default 3 */
  readonly trainDays?: number;
  readonly epochs?: number;
  readonly backend?: TowerKind;
  readonly configUri?: string;
  /** Reuse logs here instead of generating into a temp folder. */
  readonly dataDir?: string;
  readonly logger?: Logger;
  /** Also run the warm-start comparison. @default true */
  readonly warmStart?: boolean;
}

async function loadExampleConfig(uri: string | undefined): Promise<WdpConfig> {
  const path = uri ?? EXAMPLE_CONFIG;
  return readConfigDocument(path);
}

export async function benchTable1(options: Table1Options) {
  const log = options.logger ?? silentLogger;
  const tmp = await mkdtemp(join(tmpdir(), 'wdp-table1-'));
  const dataDir = options.dataDir ?? join(tmp, 'logs');
  const trainDays = options.trainDays ?? 3;
  try {
    if (!options.dataDir) {
      log.info(`generating ${trainDays + 1} days × ${options.rowsPerDay} rows`);
      await generateLogs(
        { days: trainDays + 1, rowsPerDay: options.rowsPerDay, seed: options.seed ?? 7, out: dataDir, startDate: '2026-01-01' },
        storeFor(dataDir),
      );
    }
    let config = await loadExampleConfig(options.configUri);
    if (options.epochs) config = { ...config, training: { ...config.training, epochs: options.epochs } };
    const day = (i: number) => join(dataDir, `dt=2026-01-${String(i).padStart(2, '0')}`);
    const train = Array.from({ length: trainDays }, (_, i) => day(i + 1));
    const holdout = day(trainDays + 1);
    const backend = options.backend ?? 'auto';

    const runKind = async (kind: ModelKind, data: string[], out: string, warmStart?: string) => {
      const t = performance.now();
      const r = await trainModel({ config, data, out, kind, backend, logger: log, progress: false, ...(warmStart ? { warmStart } : {}) });
      const seconds = (performance.now() - t) / 1000;
      return { r, seconds };
    };
    const evalOn = async (model: string, data: string) => {
      const loaded = await loadTrainableModel(model, { backend });
      try {
        return await evaluateModel(loaded, [data]);
      } finally {
        loaded.model.dispose();
      }
    };

    const table: Record<
      string,
      { auc: number; logloss: number; calibration: number; train_seconds: number; examples_per_s: number; wide_zero_fraction?: number }
    > = {};
    for (const kind of ['wide', 'deep', 'wide_deep'] as const) {
      const out = join(tmp, kind);
      const { r, seconds } = await runKind(kind, train, out);
      const m = await evalOn(out, holdout);
      table[kind] = {
        auc: +m.auc.toFixed(4),
        logloss: +m.logloss.toFixed(4),
        calibration: +m.calibration.toFixed(3),
        train_seconds: +seconds.toFixed(1),
        examples_per_s: Math.round(Number(r.manifest.training['examplesPerSecond'])),
        ...(kind !== 'deep' ? { wide_zero_fraction: +Number(r.manifest.metrics['wideZeroFraction']).toFixed(4) } : {}),
      };
      log.info(`${kind}: held-out auc ${m.auc.toFixed(4)}`);
    }

    let warm: Record<string, number> | undefined;
    if (options.warmStart !== false) {
      // Day 1 → parent; day 2 warm-started from it vs. from scratch; both judged on day 3.
      await runKind('wide_deep', [day(1)], join(tmp, 'ws-parent'));
      await runKind('wide_deep', [day(2)], join(tmp, 'ws-warm'), join(tmp, 'ws-parent'));
      await runKind('wide_deep', [day(2)], join(tmp, 'ws-scratch'));
      const w = await evalOn(join(tmp, 'ws-warm'), day(3));
      const s = await evalOn(join(tmp, 'ws-scratch'), day(3));
      warm = {
        warm_start_auc: +w.auc.toFixed(4),
        scratch_auc: +s.auc.toFixed(4),
        warm_start_logloss: +w.logloss.toFixed(4),
        scratch_logloss: +s.logloss.toFixed(4),
      };
      log.info(`warm start: day-3 auc ${w.auc.toFixed(4)} vs scratch ${s.auc.toFixed(4)}`);
    }
    return {
      data: { rows_per_day: options.rowsPerDay, train_days: trainDays, holdout_day: trainDays + 1, seed: options.seed ?? 7 },
      epochs: config.training.epochs,
      heldout: table,
      wide_deep_minus_wide: +(table['wide_deep']!.auc - table['wide']!.auc).toFixed(4),
      wide_deep_minus_deep: +(table['wide_deep']!.auc - table['deep']!.auc).toFixed(4),
      ...(warm ? { warm_start: warm } : {}),
      machine: machineInfo(),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
