/**
 * A small HTML template with escaping by default: every `${…}` in an `html` template is escaped
 * unless it is already `SafeHtml` (another `html` template, or markup from a trusted renderer
 * wrapped with `trusted`). Model ids, feature names and vocabulary tokens come from user data,
 * so forgetting to escape one must not be possible by omission.
 */
import { escapeControls } from '../../util/terminal-text.ts';

export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for an element's content or a quoted attribute value. Control characters and Unicode's
 * bidirectional overrides are shown as `\uXXXX` first, as on the terminal (util/terminal-text.ts):
 * a browser draws a file name holding U+202E reversed, so it could read as another file.
 */
export function escapeHtml(s: string): string {
  return escapeControls(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function toHtml(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map((x: HtmlValue) => toHtml(x)).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += toHtml(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup produced by a trusted renderer (the Vega SVG renderer), inserted as it is. */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A number for a table cell: fixed digits, '—' when absent or not finite. */
export function num(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`;
}

export function int(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : Math.round(v).toLocaleString('en-US');
}

/** A whole page: inline CSS only, nothing the browser would fetch. */
export function page(title: string, body: SafeHtml): string {
  return `<!doctype html>\n${
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${trusted(CSS)}</style></head><body>${body}</body></html>`.value
  }\n`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;margin:0;padding:24px 32px;max-width:1180px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:#666;font-size:12px;word-break:break-all}
.verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:600;font-size:16px;margin:10px 0}
.pass{background:#e3f5e6;color:#17692a;border:1px solid #9bd3a6} .fail{background:#fde8e8;color:#9b1c1c;border:1px solid #f1a7a7}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px} th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
th{background:#f6f6f6;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.bad td{background:#fff3f3} .ok{color:#17692a;font-weight:600} .no{color:#9b1c1c;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start} .chart svg{max-width:100%;height:auto}
.note{color:#555;font-size:12px;max-width:900px} code{font-size:12px;background:#f3f3f3;padding:1px 4px;border-radius:3px;word-break:break-all}
ul{margin:4px 0 8px;padding-left:20px}
`;
