import { describe, expect, it } from 'vitest';
import { bindArguments, parseArguments } from '../../src/scripts/arguments.js';
import { toFtsQuery, toSearchQuery, toTsQuery } from '../../src/scripts/fts-query.js';
import { draftFromCommand, looksLikeScript, pickScriptCommand } from '../../src/scripts/propose-draft.js';
import { capOutput, codeBlock } from '../../src/scripts/run-script.js';
import { parseScriptFile, renderScriptFile } from '../../src/scripts/script-file.js';
import { checkScript, parseParameterLines, usageLine } from '../../src/scripts/script-rules.js';

describe('parseArguments', () => {
  it.each([
    ['', {}],
    ['dir=src', { dir: 'src' }],
    ["dir='two words' Plan=pro", { dir: 'two words', plan: 'pro' }],
    ['note="it\'s $(rm -rf /)"', { note: "it's $(rm -rf /)" }],
    ["dir='$(rm -rf /)'", { dir: '$(rm -rf /)' }],
    ['empty= other=""', { empty: '', other: '' }],
  ])('reads %s', (text, expected) => {
    expect(parseArguments(text)).toEqual({ ok: true, values: expected });
  });

  it.each([
    ['dir', /could not read `dir`/],
    ['dir=a dir=b', /given twice/],
    ["dir='unclosed", /could not read/],
    ["dir='a'b=c", /Put a space/],
    ['=x', /could not read/],
  ])('refuses %s', (text, problem) => {
    const parsed = parseArguments(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toMatch(problem);
  });
});

describe('bindArguments', () => {
  const parameters = [
    { name: 'dir', description: 'Directory to scan', default: 'src' },
    { name: 'plan', description: 'Plan name' },
  ];

  it('passes values as PARAM_ and plain uppercase variables, defaults filled in', () => {
    expect(bindArguments('count', parameters, { plan: 'pro' })).toEqual({
      ok: true,
      env: { PARAM_DIR: 'src', DIR: 'src', PARAM_PLAN: 'pro', PLAN: 'pro' },
    });
  });

  it.each([
    [{}, /Missing `plan`/],
    [{ plan: 'x', colour: 'red' }, /no parameter `colour`/],
  ])('gives the usage line for %j', (values, problem) => {
    const bound = bindArguments('count', parameters, values);
    expect(bound.ok).toBe(false);
    if (!bound.ok) {
      expect(bound.usage).toMatch(problem);
      expect(bound.usage).toContain('Usage: `run count [dir=src] plan=<plan>`');
    }
  });
});

describe('search queries', () => {
  it.each([
    ['signups plan', 'all', '"signups"* AND "plan"*', "'signups':* & 'plan':*"],
    ['signups plan', 'any', '"signups"* OR "plan"*', "'signups':* | 'plan':*"],
    ['weekly-signups', 'all', '"weekly"* AND "signups"*', "'weekly':* & 'signups':*"],
    [
      'a" OR name:* NEAR(x',
      'all',
      '"a"* AND "or"* AND "name"* AND "near"* AND "x"*',
      "'a':* & 'or':* & 'name':* & 'near':* & 'x':*",
    ],
    ["it's ! & | <-> :* \\' (x)", 'any', '"it"* OR "s"* OR "x"*', "'it':* | 's':* | 'x':*"],
    ['$PARAM_DIR', 'all', '"param"* AND "dir"*', "'param':* & 'dir':*"],
    ['Zählung über', 'all', '"zählung"* AND "über"*', "'zählung':* & 'über':*"],
  ] as const)('turns %j into safe FTS5 and tsquery text', (text, mode, fts, tsquery) => {
    const query = toSearchQuery(text, mode);
    expect(query && toFtsQuery(query)).toBe(fts);
    expect(query && toTsQuery(query)).toBe(tsquery);
  });

  it.each(['  ', '***', "'&|!"])('has no words in %j', (text) => {
    expect(toSearchQuery(text, 'any')).toBeUndefined();
  });

  it('drops common words when asked', () => {
    expect(toSearchQuery('how many signups are in the fixtures?', 'any', { dropStopwords: true })).toEqual({
      words: ['many', 'signups', 'fixtures'],
      mode: 'any',
    });
  });
});

describe('checkScript', () => {
  const good = {
    name: 'count-js',
    scope: 'shop',
    description: 'Counts',
    interpreter: 'bash',
    body: 'ls\n',
    parameters: [],
  };

  it('accepts a good script and normalizes it', () => {
    const checked = checkScript({
      ...good,
      name: 'Count-JS',
      body: '#!/bin/bash\r\nls',
      description: ' two\n words ',
    });
    expect(checked).toEqual({ ok: true, fields: { ...good, body: 'ls\n', description: 'two words' } });
  });

  it.each([
    [{ name: 'x' }, /not usable/],
    [{ name: '-dash' }, /not usable/],
    [{ name: 'a'.repeat(50) }, /not usable/],
    [{ name: 'has space' }, /not usable/],
    [{ description: '' }, /description/],
    [{ interpreter: 'ruby' }, /interpreter must be one of sh, bash, node, python3/],
    [{ body: '   ' }, /empty/],
    [{ body: 'x'.repeat(64 * 1024 + 1) }, /larger than 64 KiB/],
    [{ parameters: [{ name: 'path', description: 'p' }] }, /replace the PATH environment variable/],
    [{ parameters: [{ name: 'ld_preload', description: 'p' }] }, /LD_PRELOAD/],
    [{ parameters: [{ name: 'Bad-Name', description: 'p' }] }, /not usable/],
    [
      {
        parameters: [
          { name: 'a', description: '' },
          { name: 'a', description: '' },
        ],
      },
      /listed twice/,
    ],
  ])('refuses a script with %o', (change, problem) => {
    const checked = checkScript({ ...good, ...change });
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.problems.join(' ')).toMatch(problem);
  });
});

describe('parameter lines', () => {
  it('reads name, description and default', () => {
    expect(
      parseParameterLines('dir: Directory to scan (default: src)\n\nplan: Plan name (required)\nflag'),
    ).toEqual({
      parameters: [
        { name: 'dir', description: 'Directory to scan', default: 'src' },
        { name: 'plan', description: 'Plan name' },
        { name: 'flag', description: '' },
      ],
      problems: [],
    });
  });

  it('reports a line it cannot read', () => {
    expect(parseParameterLines('- not a param').problems).toHaveLength(1);
  });

  it('shows an empty default as an ellipsis in the usage line', () => {
    expect(usageLine('x', [{ name: 'tag', description: 't', default: '' }])).toContain('`run x [tag=…]`');
  });
});

describe('script files', () => {
  it.each(['sh', 'bash', 'node', 'python3'] as const)('round-trips a %s script', (interpreter) => {
    const script = {
      name: 'count-js',
      description: 'Counts files',
      interpreter,
      parameters: [
        { name: 'dir', description: 'Directory to scan', default: 'src' },
        { name: 'plan', description: 'Plan' },
      ],
      body: 'echo one\n# shipmate: description: not a header any more\n',
    };
    const file = renderScriptFile(script);
    const parsed = parseScriptFile(file.path.split('/').pop()!, file.content);
    expect(parsed).toEqual({ ok: true, script });
  });

  it.each([
    ['README.md', '# hi'],
    ['Upper.sh', 'echo'],
  ])('refuses %s', (name, content) => {
    expect(parseScriptFile(name, content).ok).toBe(false);
  });
});

describe('proposing a script from shell commands', () => {
  it.each([
    ['rg -n TODO src', false],
    ['ls -la', false],
    ['for f in src/*; do\n  wc -l "$f"\ndone', true],
    ["python3 - <<'EOF'\nprint(1)\nEOF", true],
    ['cat > count.sh <<EOF\necho hi\nEOF', true],
    ['python3 scripts/report.py --all', true],
    ['chmod +x run.sh && ./run.sh', true],
    ["node -e 'console.log(1)'", true],
  ])('%j looks like a script: %s', (command, expected) => {
    expect(looksLikeScript(command)).toBe(expected);
  });

  it('picks the last script-like shell command, none when the run already saved one', () => {
    const calls = [
      { name: 'shell', input: { command: 'for a in 1; do\necho $a\ndone' } },
      { name: 'shell', input: { command: "python3 - <<'EOF'\nprint(2)\nEOF" } },
      { name: 'shell', input: { command: 'ls' } },
      { name: 'edit_file', input: { path: 'x' } },
    ];
    expect(pickScriptCommand(calls)).toContain('print(2)');
    expect(pickScriptCommand([...calls, { name: 'save_script', input: {} }])).toBeUndefined();
    expect(pickScriptCommand([{ name: 'shell', input: 'not an object' }])).toBeUndefined();
  });

  it.each([
    ["python3 - <<'EOF'\nprint(2)\nEOF", { interpreter: 'python3', body: 'print(2)\n' }],
    [
      "cat > tally.py <<'EOF'\nprint(3)\nEOF\npython3 tally.py",
      { interpreter: 'python3', body: 'print(3)\n', name: 'tally' },
    ],
    ["node -e 'console.log(1)'", { interpreter: 'node', body: 'console.log(1)\n' }],
    ['for a in 1; do\necho $a\ndone', { interpreter: 'bash', body: 'for a in 1; do\necho $a\ndone\n' }],
  ])('drafts %j', (command, expected) => {
    expect(
      draftFromCommand(command, { request: 'Count the signups by plan from the fixtures.' }),
    ).toMatchObject({
      name: 'count-signups-plan-fixtures',
      description: 'Count the signups by plan from the fixtures.',
      ...expected,
    });
  });
});

describe('output', () => {
  it('fences output longer than any backtick run inside it', () => {
    expect(codeBlock('a ``` b')).toBe('````\na ``` b\n````');
  });

  it('keeps the end of long output and says how much was cut', () => {
    const text = Array.from({ length: 100 }, (_, index) => `line ${index}`).join('\n');
    const capped = capOutput(text, 50);
    expect(capped.cut).toBe(true);
    expect(capped.text).toMatch(/^… \[\d+ characters cut\]\n/);
    expect(capped.text.endsWith('line 99')).toBe(true);
    expect(capOutput('short', 50)).toEqual({ text: 'short', cut: false });
  });
});
