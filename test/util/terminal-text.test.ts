/** The one rule for values from data in printed text (src/util/terminal-text.ts): no raw C0/C1 control, DEL included. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { controlsAsCodePoints, escapeControls, jsonText, quoted, shellQuoted } from '../../src/util/terminal-text.ts';

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

test('bidirectional formatting (Trojan Source) and line separators are escaped by all four, and still parse or expand back', () => {
  const sneaky = 'model_\u202Eedom\u2066x\u2069\u200f\u2028';
  assert.equal(escapeControls(sneaky), 'model_\\u202eedom\\u2066x\\u2069\\u200f\\u2028');
  assert.equal(quoted(sneaky), '"model_\\u202eedom\\u2066x\\u2069\\u200f\\u2028"');
  assert.equal(JSON.parse(quoted(sneaky)), sneaky);
  assert.deepEqual(JSON.parse(jsonText({ sneaky })), { sneaky });
  assert.doesNotMatch(jsonText({ sneaky }), /[\u202e\u2066\u2069\u200f\u2028]/);
  assert.equal(shellQuoted(`/x/${sneaky}`), "$'/x/model_\\xe2\\x80\\xaeedom\\xe2\\x81\\xa6x\\xe2\\x81\\xa9\\xe2\\x80\\x8f\\xe2\\x80\\xa8'");
  assert.equal(
    controlsAsCodePoints(sneaky),
    'model_[U+202E]edom[U+2066]x[U+2069][U+200F][U+2028]',
    'no backslash for a layer that would unescape it',
  );
  // Other Unicode (accents, arrows, emoji, the no-break space) is left as it is.
  assert.equal(escapeControls('é → ✓ 😀 \u00a0'), 'é → ✓ 😀 \u00a0');
});

test('jsonText: the JSON of a value, DEL and C1 escaped too, parsing back to the same value', () => {
  const value = { token: 'a\u009b31m\u007f\u001b[2J', n: 1, list: ['é ✓'] };
  const text = jsonText(value);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  assert.doesNotMatch(text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f]/);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(jsonText(undefined), 'null');
});

test('shellQuoted: plain paths as they are; any other path is one shell word naming exactly it, with no control character raw', () => {
  assert.equal(shellQuoted('/tmp/models/v1'), '/tmp/models/v1');
  assert.equal(shellQuoted("/tmp/a b/it's $HOME `id`"), "'/tmp/a b/it'\\''s $HOME `id`'");
  const paths = ['/x/\u202Eevil', '/tmp/a b', "/x/it's", '/x/$(id)/`id`/$HOME/!!', '/x/\u001b[2J\r\n/y', "/x/\u009b31m/é\\'z", '/x/\u007f'];
  const bash = spawnSync('bash', ['--version']);
  for (const p of paths) {
    const q = shellQuoted(p);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    assert.doesNotMatch(q, /[\u0000-\u001f\u007f-\u009f]/, q);
    if (bash.status !== 0) continue;
    // What a shell makes of the suggested word is the path itself.
    const r = spawnSync('bash', ['-c', `printf %s ${q}`], { encoding: 'utf8' });
    assert.equal(r.stdout, p, q);
  }
});
