/**
 * Progress for long work: a live bar (cli-progress) on a terminal, and plain periodic lines
 * when output is a file or CI log, so logs stay readable.
 */
import cliProgress from 'cli-progress';
import { escapeControls } from './terminal-text.ts';

export interface ProgressValues {
  readonly [key: string]: number | string;
}

export interface Progress {
  /** @param done units completed so far; `values` are shown beside the bar (e.g. loss). */
  update(done: number, values?: ProgressValues): void;
  setTotal(total: number): void;
  /** Prints a line above a live bar without breaking it (plain mode: just writes it). */
  log(line: string): void;
  /** True when a live bar is drawn (a terminal). */
  readonly interactive: boolean;
  stop(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Unit name for rates, e.g. 'ex'. */
  readonly unit: string;
  /** Force plain lines (default: a bar only when stderr is a TTY and CI is unset). */
  readonly plain?: boolean;
  /** Seconds between plain lines. @default 5 */
  readonly intervalSeconds?: number;
  readonly write?: (line: string) => void;
}

function fmt(values: ProgressValues | undefined): string {
  if (!values) return '';
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) || Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)) : v}`)
    .join(' ');
}

export function createProgress(options: ProgressOptions): Progress {
  const started = performance.now();
  const rate = (done: number) => done / Math.max(1e-9, (performance.now() - started) / 1000);
  const useBar = !options.plain && process.stderr.isTTY === true && !process.env['CI'];
  if (useBar) {
    // MultiBar (with one bar) because it can print log lines above the bar.
    const multi = new cliProgress.MultiBar(
      {
        format: `${options.label} [{bar}] {percentage}% | {value}/{total} ${options.unit} | {rate} ${options.unit}/s | {extra}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    const bar = multi.create(Math.max(1, options.total), 0, { rate: '0', extra: '' });
    return {
      interactive: true,
      update: (done, values) => bar.update(done, { rate: rate(done).toFixed(0), extra: fmt(values) }),
      setTotal: (t) => bar.setTotal(Math.max(1, t)),
      log: (line) => multi.log(`${escapeControls(line)}\n`),
      stop: () => {
        multi.update(); // flush lines logged since the last redraw
        multi.stop();
      },
    };
  }
  const write = options.write ?? ((l: string) => process.stderr.write(`${escapeControls(l)}\n`));
  const every = (options.intervalSeconds ?? 5) * 1000;
  let total = options.total;
  let last = 0;
  let lastDone = 0;
  let lastValues: ProgressValues | undefined;
  const line = (done: number, values?: ProgressValues) => {
    const pct = total > 0 ? ` ${((100 * done) / total).toFixed(1)}%` : '';
    const count = total > 0 ? `${done}/${total}` : `${done}`;
    write(`${options.label}${pct} ${count} ${options.unit} ${rate(done).toFixed(0)} ${options.unit}/s ${fmt(values)}`.trimEnd());
  };
  return {
    interactive: false,
    log: write,
    update: (done, values) => {
      lastDone = done;
      lastValues = values;
      const now = performance.now();
      if (now - last >= every) {
        last = now;
        line(done, values);
      }
    },
    setTotal: (t) => {
      total = t;
    },
    stop: () => line(lastDone, lastValues),
  };
}
