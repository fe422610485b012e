/**
 * Every `npx wdp …` and `npm …` command in a ```sh or ```bash block of README.md and docs/*.md is
 * one a reader can paste: it parses with the real CLI's commander program (no unknown command or
 * option, no placeholder like `[--stack Wdp]` or `{...}`, inline `--request` JSON that parses) and
 * names an npm script that exists. Nothing is run: every action is replaced before parsing.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type Command, CommanderError } from 'commander';
import { buildCli } from '../../cli/main.ts';

const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The shell blocks of a Markdown file, line continuations joined. */
export function shellBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /^```(?:sh|bash)[ \t]*\n([\s\S]*?)^```/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) blocks.push(m[1]!.replace(/\\\n/g, ' '));
  return blocks;
}

/**
 * The simple commands of a shell script as word lists, the way a POSIX shell splits them for the
 * cases docs use: quotes, backslash escapes, comments, `$(…)` kept as one word, and the
 * separators `;`, `&&`, `||`, `|`, `&` and newlines. Leading `NAME=value` assignments and
 * redirections (`> f`, `2>&1`, `< f`) are dropped.
 */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  let redirectTarget = false;
  const endWord = () => {
    if (word !== null && !redirectTarget) words.push(word);
    if (word !== null) redirectTarget = false;
    word = null;
  };
  const endCommand = () => {
    endWord();
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words.shift();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (c === "'") {
      const j = script.indexOf("'", i + 1);
      if (j < 0) throw new Error(`unterminated ' in: ${script.slice(i, i + 60)}`);
      word = (word ?? '') + script.slice(i + 1, j);
      i = j;
    } else if (c === '"') {
      let s = '';
      for (i++; i < script.length && script[i] !== '"'; i++)
        s += script[i] === '\\' && /["\\$`]/.test(script[i + 1] ?? '') ? script[++i] : script[i];
      if (i >= script.length) throw new Error('unterminated "');
      word = (word ?? '') + s;
    } else if (c === '\\') {
      word = (word ?? '') + (script[++i] ?? '');
    } else if (c === '$' && script[i + 1] === '(') {
      // Command substitution: one word here (its content is another command, not ours to check).
      let depth = 0;
      let j = i + 1;
      for (; j < script.length; j++) {
        if (script[j] === '"') j = script.indexOf('"', j + 1);
        else if (script[j] === "'") j = script.indexOf("'", j + 1);
        else if (script[j] === '(') depth++;
        else if (script[j] === ')' && --depth === 0) break;
      }
      word = (word ?? '') + script.slice(i, j + 1);
      i = j;
    } else if (c === '#' && word === null) {
      const j = script.indexOf('\n', i);
      i = (j < 0 ? script.length : j) - 1;
    } else if (c === '\n' || c === ';' || c === '&' || c === '|') {
      if ((c === '&' || c === '|') && script[i + 1] === c) i++;
      endCommand();
    } else if (c === '>' || c === '<') {
      // A file descriptor written against the operator (`2>`) belongs to it, not to the command.
      if (word !== null && /^\d+$/.test(word)) word = null;
      endWord();
      if (script[i + 1] === '>' || script[i + 1] === '&') i++;
      redirectTarget = true;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return commands;
}

/** The CLI with every action replaced and every exit turned into an exception, printing nothing. */
function parsingOnlyCli(): Command {
  const program = buildCli();
  const quiet = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    // The program itself has no action: given one, it would take an unknown command as an argument.
    if (cmd !== program) cmd.action(() => {});
    for (const sub of cmd.commands) quiet(sub);
  };
  quiet(program);
  return program;
}

function checkWdp(args: string[]): void {
  try {
    parsingOnlyCli().parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')) return;
    throw e;
  }
  const at = args.indexOf('--request');
  if (at >= 0 && !args[at + 1]!.startsWith('@')) JSON.parse(args[at + 1]!);
}

const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const NPM_COMMANDS = new Set(['ci', 'install', 'test', 'start', 'run']);
function checkNpm(args: string[]): void {
  const [sub, script] = args;
  assert.ok(sub && NPM_COMMANDS.has(sub), `npm ${sub}: not a command the docs should need`);
  if (sub === 'run') assert.ok(script && script in scripts, `npm run ${script}: no such script in package.json`);
}

describe('the shell tokenizer', () => {
  it('splits like a shell for what docs use', () => {
    assert.deepEqual(
      shellCommands(`A=1 npx wdp x --r '{"a": [1]}' # note\nmkdir -p d && cp "a b"/*.p d/ ; echo $(aws q --query "S[0]" --o text) &`),
      [
        ['npx', 'wdp', 'x', '--r', '{"a": [1]}'],
        ['mkdir', '-p', 'd'],
        ['cp', 'a b/*.p', 'd/'],
        ['echo', '$(aws q --query "S[0]" --o text)'],
      ],
    );
    assert.deepEqual(shellCommands('npx wdp a --json > out.json 2>&1\nnpx wdp b < in >> log'), [
      ['npx', 'wdp', 'a', '--json'],
      ['npx', 'wdp', 'b'],
    ]);
    assert.deepEqual(shellBlocks('x\n```sh\nnpx wdp a \\\n  --b c\n```\n```\nnot sh\n```\n'), ['npx wdp a    --b c\n']);
  });
});

describe('commands in the docs can be pasted', () => {
  for (const file of DOCS) {
    const commands = shellBlocks(readFileSync(file, 'utf8')).flatMap(shellCommands);
    it(`${file}: every npx wdp / npm command parses (${commands.length} commands)`, () => {
      let checked = 0;
      for (const words of commands) {
        const line = words.join(' ');
        try {
          if (words[0] === 'npx' && words[1] === 'wdp') checkWdp(words.slice(2));
          else if (words[0] === 'npm') checkNpm(words.slice(1));
          else continue;
        } catch (e) {
          assert.fail(`${file}: \`${line}\` does not parse: ${(e as Error).message}`);
        }
        checked++;
      }
      assert.ok(checked > 0, `${file}: no npx wdp or npm command found in its sh blocks`);
    });
  }

  it('a bad command is caught (the check is not vacuous)', () => {
    assert.throws(() => checkWdp(['days', '--remote', '[--stack', 'Wdp]']), /too many arguments|unknown/);
    assert.throws(() => checkWdp(['invoke', '--remote', '--request', '{"context":{},"candidates":[{...}]}']), SyntaxError);
    assert.throws(() => checkWdp(['train', '--no-such-option']), /unknown option/);
    assert.throws(() => checkWdp(['no-such-command']), /unknown command/);
    assert.throws(() => checkNpm(['run', 'no-such-script']), /no such script/);
  });
});
