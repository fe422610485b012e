/** The one rule for values from data in printed text (src/util/terminal-text.ts): no raw C0/C1 control, DEL included. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeControls, quoted } from '../../src/util/terminal-text.ts';

test('quoted: JSON quoting, with DEL and C1 controls escaped too (JSON.stringify leaves them raw)', () => {
  assert.equal(quoted('game_puzzle'), '"game_puzzle"');
  assert.equal(quoted('a\u001b[2J\r'), '"a\\u001b[2J\\r"');
  assert.equal(quoted('\u009b31m\u007f'), '"\\u009b31m\\u007f"');
  assert.equal(quoted('say "hi"'), '"say \\"hi\\""');
  assert.equal(quoted(''), '""', 'an empty token shows as one');
  // Whatever it escapes, it still parses back to the value.
  for (const v of ['\u0000\u0085\u009f', 'é ✓ 😀', '\u001b]8;;https://x/\u0007a\u001b]8;;\u0007']) assert.equal(JSON.parse(quoted(v)), v);
});

test('escapeControls: every control but newline and tab as \\uXXXX; printable text, quotes and Unicode untouched', () => {
  assert.equal(escapeControls('line 1\n\tline 2'), 'line 1\n\tline 2');
  assert.equal(escapeControls('x\ry\u001b[2J\u0007\u009b\u007f'), 'x\\u000dy\\u001b[2J\\u0007\\u009b\\u007f');
  assert.equal(escapeControls('"a" → b ✓ \u00a0é'), '"a" → b ✓ \u00a0é', 'U+00A0 and above are printable');
  const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join('');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  assert.doesNotMatch(escapeControls(all).replace(/[\n\t]/g, ''), /[\u0000-\u001f\u007f-\u009f]/);
});
