/**
 * Text from data (a category token, a column or feature name, a file or object name, a request
 * key, a model id) made safe to print on a terminal.
 *
 * Why: a terminal acts on control characters in what it prints. A token holding ESC sequences
 * (`\u001b[2J` clears the screen, an OSC 8 sequence makes a link, `\u001b]0;…` retitles the
 * window), a C1 control (U+009B is CSI on its own in many terminals) or a bare `\r` (rewrites the
 * line, hiding what came before it) would let whoever wrote a log file, an object key or a
 * scoring request rewrite the user's screen through an error message. Unicode's bidirectional
 * formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE and kin, as in "Trojan Source") do not
 * drive the terminal but reorder what it shows: `model_\u202Eedom` reads as `model_mode` backwards,
 * so a file name can look like another; they are escaped too, as are the line and paragraph
 * separators U+2028/U+2029.
 *
 * Two tools, one rule (every C0 and C1 control, DEL and those Unicode formatting characters, shown
 * as a `\uXXXX` escape):
 *   - quoted(value): a value named in a message, JSON-quoted (`"a\u001b[2J"`), so it is also
 *     delimited (an empty or space-padded token shows as one);
 *   - escapeControls(text): a whole line or message as it reaches stderr (cli/shared.ts say,
 *     util/log.ts, the CLI's error printer, progress lines), so a path that forgot to quote is safe
 *     too. `\n` and `\t` stay: they are the messages' own layout.
 * JSON output (`--json`) goes through jsonText (JSON.stringify escapes C0 but not DEL or C1);
 * HTML reports escape their own text. Commands wdp suggests for a shell quote paths with
 * shellQuoted.
 */

/**
 * C0 controls but tab and newline, DEL, C1 controls; the bidirectional marks, embeddings,
 * overrides and isolates (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and U+2028, U+2029.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw: DEL, C1 and the Unicode formatting characters above (it escapes C0 itself). */
const NOT_JSON_ESCAPED = /[\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const unicodeEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `value` JSON-quoted for a message, with DEL, C1 controls and bidi formatting escaped as well.
 * @example quoted('a\u001b[2J') === '"a\\u001b[2J"'
 */
export function quoted(value: string): string {
  return JSON.stringify(value).replace(NOT_JSON_ESCAPED, unicodeEscape);
}

/**
 * `text` with every control character but `\n` and `\t` written as a `\uXXXX` escape: for a
 * message or line as it is printed.
 * @example escapeControls('x\rY\n') === 'x\\u000dY\n'
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, unicodeEscape);
}

/**
 * `text` with the same characters as escapeControls shown as `[U+XXXX]`, no backslash: for text
 * that passes through another escaping layer which would read `\u202e` back as the character
 * (Vega builds its labels' aria text as expressions).
 * @example controlsAsCodePoints('a\u202Eb') === 'a[U+202E]b'
 */
export function controlsAsCodePoints(text: string): string {
  return text.replace(CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/**
 * `value` as JSON text (2-space indented) that holds no raw DEL or C1 control: JSON.stringify
 * escapes C0 only. The `\uXXXX` escapes it adds are valid JSON and parse back to the same value.
 */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? 'null').replace(NOT_JSON_ESCAPED, unicodeEscape);
}

/** Characters a POSIX shell word may hold unquoted. */
const SHELL_PLAIN = /^[\w@%+=:,./-]+$/;
/** Any control, tab and newline included (they would end or split a pasted command), and bidi formatting. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const hexBytes = (c: string) => [...Buffer.from(c, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/**
 * `path` quoted for a command wdp suggests the user paste into a shell (bash, zsh): plain words as
 * they are; otherwise single-quoted, so `$`, backticks and `!` stay literal (JSON's double quotes
 * would let them expand); with control characters, ANSI-C quoting (`$'…'`, every control as its
 * UTF-8 bytes `\xNN`), so none reaches the terminal raw and the word still names the same path.
 */
export function shellQuoted(path: string): string {
  if (SHELL_PLAIN.test(path)) return path;
  // search(), not test(): a global regex's test() keeps its lastIndex from one call to the next.
  if (path.search(ANY_CONTROL) === -1) return `'${path.replace(/'/g, `'\\''`)}'`;
  // Every control as its UTF-8 bytes (one for C0 and DEL, two for C1, three for the bidi formatting).
  return `$'${path.replace(/[\\']/g, (c) => `\\${c}`).replace(ANY_CONTROL, hexBytes)}'`;
}
