import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createScrubber } from '../../src/scrub-secrets.js';

// Fake credentials, assembled so that secret scanners do not flag this file.
const slackBot = ['xoxb', '2214719083', '5129983441027', 'Qm7Hk2VtR9xWc4LpZs8NdJ3b'].join('-');
const slackUser = [
  'xoxp',
  '2214719083',
  '5129983441027',
  '6123456789012',
  '9c8e7a6b5d4f3e2a1b0c9d8e7f6a5b4c',
].join('-');
const slackApp = [
  'xapp',
  '1',
  'A05QW7K8ZPR',
  '6123456789012',
  `3f9a1c7e5b2d8046a1f3c5e7b9d2f4a6${'c8e0b1d3'.repeat(4)}`,
].join('-');
const signingSecret = ['8f3b2c9d4e5a6f70', '81920a1b2c3d4e5f'].join('');
const openAiProject = ['sk', 'proj', 'Xy7Qm2Lk9Vb4Nz8Rt3Wp6Hc1Df5Gs0Ja_K2mP9qR4sT7uV1wX3yZ6-aB8cD0eF'].join(
  '-',
);
const openAiLegacy = ['sk', 'R8kXq2LmVb7NzT4wYp1HT3BlbkFJc9Df3Gs6Jk0Aa5EeQw2Zx7Lp'].join('-');
const githubBody = 'R8kXq2LmVb7NzT4wYp1Hc9Df3Gs6Jk0Aa5Ee';
const github = ['ghp', githubBody].join('_');
const githubPat = [
  'github',
  'pat',
  '11ABCDEFG0aB3cD5eF7gH9',
  `Jk2Lm4Np6Qr8St0Uv1Wx3Yz5Ab7Cd9Ef2Gh4Ij6Kl8Mn0Op1Qr3St5Uv7Wx9Yz1A`,
].join('_');
/** A key with characters that percent-encoding and base64url change. */
const symbolKey = ['k7/Qm+2Lk9', 'Vb4Nz8Rt3=='].join('=');
const secrets = [slackBot, signingSecret, slackApp, openAiProject, github, symbolKey];
const scrub = createScrubber(secrets);

const base64 = (text: string) => Buffer.from(text).toString('base64');
const base64url = (text: string) => Buffer.from(text).toString('base64url');
/** base64url keeping its `=` padding (the text is lengthened by a byte where there would be none). */
const base64urlPadded = (text: string) =>
  base64(Buffer.byteLength(text) % 3 === 0 ? `${text}.` : text)
    .replaceAll('+', '-')
    .replaceAll('/', '_');
const hex = (text: string) => Buffer.from(text).toString('hex');
const percentEveryByte = (text: string) => hex(text).replace(/../g, '%$&');
const envFile = (secret: string) =>
  `LOG_LEVEL=debug\nSLACK_BOT_TOKEN=${secret}\nPORT=3000\nSHIPMATE_REPO=https://github.com/acme/shop.git\n`;

/** Whether the secret can still be read from the text: as is, split, or in any encoding handled. */
function exposes(text: string, secret: string): boolean {
  const squeezed = text.replace(/[\s\u00AD\u200B-\u200D\u2060\uFEFF]|\\[nrt]/g, '');
  const decoded = squeezed.replace(/%([0-9A-Fa-f]{2})/g, (_, code: string) =>
    String.fromCharCode(Number.parseInt(code, 16)),
  );
  for (const view of [text, squeezed, decoded]) {
    if (view.includes(secret)) return true;
    for (const [run] of view.matchAll(/[A-Za-z0-9+/_-]{8,}/g))
      for (let shift = 0; shift < 4; shift++)
        if (Buffer.from(run.slice(shift), 'base64').toString('latin1').includes(secret)) return true;
    for (const [run] of view.matchAll(/[0-9A-Fa-f]{16,}/g))
      for (let shift = 0; shift < 2; shift++)
        if (Buffer.from(run.slice(shift), 'hex').toString('latin1').includes(secret)) return true;
  }
  return false;
}

describe('secret scrubber: encoded configured secrets', () => {
  const encodings: [string, (secret: string) => string][] = [
    ['base64', (s) => `value ${base64(s)} end`],
    [
      'base64 at offset 0 (Basic x-access-token:)',
      (s) => `Authorization: Basic ${base64(`x-access-token:${s}`)}`,
    ],
    ['base64 at offset 1 (Basic oauth2:)', (s) => `Authorization: Basic ${base64(`oauth2:${s}`)}`],
    ['base64 at offset 2 (Basic user:)', (s) => `Authorization: Basic ${base64(`user:${s}:x`)}`],
    ['base64 of a multi-line .env file', (s) => `env: ${base64(envFile(s))}`],
    ['base64 of a .env file wrapped at 76 columns', (s) => base64(envFile(s)).replace(/.{76}/g, '$&\n')],
    ['base64 in a JSON log line', (s) => JSON.stringify({ msg: `header ${base64(`x-access-token:${s}`)}` })],
    ['base64url without padding', (s) => `state=${base64url(`{"token":"${s}"}`)}`],
    ['base64url with padding', (s) => `state=${base64urlPadded(`{"token":"${s}"}`)}`],
    ['hex, lower case', (s) => `dump ${hex(s)}`],
    ['hex, upper case', (s) => `dump ${hex(`token=${s}`).toUpperCase()}`],
    ['encodeURIComponent', (s) => `https://hooks.example.com/cb?token=${encodeURIComponent(s)}&ok=1`],
    ['every byte as %XX, upper case', (s) => `?t=${percentEveryByte(s).toUpperCase()}`],
    ['every byte as %xx, lower case', (s) => `?t=${percentEveryByte(s)}`],
    ['percent-encoded base64', (s) => `?auth=${encodeURIComponent(base64(`user:${s}`))}`],
  ];
  const cases = encodings.flatMap(([name, encode]) =>
    secrets.map((secret) => [`${name}: ${secret.slice(0, 4)}…`, encode(secret), secret] as const),
  );

  it.each(cases)('%s', (_name, input, secret) => {
    expect(exposes(input, secret)).toBe(true);
    const output = scrub(input);
    expect(output).toContain('[redacted]');
    expect(exposes(output, secret)).toBe(false);
  });

  it.each([
    [`Authorization: Basic ${base64(`x-access-token:${github}`)}`, 'Authorization: Basic [redacted]'],
    [`?t=${percentEveryByte(github)}&next=1`, '?t=[redacted]&next=1'],
    [`a ${hex(github).toUpperCase()} b`, 'a [redacted] b'],
  ])('keeps the text around an encoded secret: %s', (input, expected) => {
    expect(scrub(input)).toBe(expected);
  });
});

describe('secret scrubber: split token shapes', () => {
  const unconfigured = createScrubber([]);
  const tokens: [string, number][] = [
    [slackBot, 5],
    [slackUser, 5],
    [slackApp, 5],
    [github, 4],
    [['gho', githubBody].join('_'), 4],
    [['ghu', githubBody].join('_'), 4],
    [['ghs', githubBody].join('_'), 4],
    [['ghr', githubBody].join('_'), 4],
    [githubPat, 11],
    [openAiLegacy, 3],
    [openAiProject, 8],
  ];
  const separators: [string, string][] = [
    ['space', ' '],
    ['newline', '\n'],
    ['CRLF', '\r\n'],
    ['tab', '\t'],
    ['U+200B', '\u200B'],
    ['U+200C', '\u200C'],
    ['U+200D', '\u200D'],
    ['U+2060', '\u2060'],
    ['U+FEFF', '\uFEFF'],
    ['U+00AD', '\u00AD'],
  ];
  /** The token with the separator inside its prefix, right after the prefix and mid-key. */
  const split = (token: string, prefix: number, separator: string) => {
    const middle = Math.floor((prefix + token.length) / 2);
    return [token.slice(0, 2), token.slice(2, prefix), token.slice(prefix, middle), token.slice(middle)].join(
      separator,
    );
  };
  const cases = tokens.flatMap(([token, prefix]) =>
    separators.map(
      ([name, separator]) => [`${token.slice(0, prefix)}… by ${name}`, token, prefix, separator] as const,
    ),
  );

  it.each(cases)('%s', (_name, token, prefix, separator) => {
    const input = `token ${split(token, prefix, separator)} was posted`;
    expect(unconfigured(input)).toBe('token [redacted] was posted');
  });

  it.each(cases)('%s, inside a JSON log line', (_name, token, prefix, separator) => {
    const input = JSON.stringify({ msg: `token ${split(token, prefix, separator)} was posted` });
    expect(unconfigured(input)).toBe(JSON.stringify({ msg: 'token [redacted] was posted' }));
  });
});

describe('secret scrubber: split configured secrets', () => {
  it.each([
    ['a space', `${signingSecret.slice(0, 11)} ${signingSecret.slice(11)}`],
    ['a newline', `${signingSecret.slice(0, 20)}\n${signingSecret.slice(20)}`],
    ['spaces every 4 characters', signingSecret.replace(/.{4}(?!$)/g, '$& ')],
    ['zero-width spaces everywhere', [...signingSecret].join('\u200B')],
    ['word joiners and soft hyphens', [...signingSecret].join('\u2060\u00AD')],
  ])('%s', (_name, split) => {
    const output = scrub(`secret: ${split} end`);
    expect(output).toBe('secret: [redacted] end');
  });
});

describe('secret scrubber: ordinary text stays byte-identical', () => {
  const unrelated = Buffer.from(Array.from({ length: 96 }, (_, i) => (i * 73 + 41) % 256));
  it.each([
    ['prose about sk-learn', 'The sk-learn package is great for quick baselines.'],
    ['long prose', 'the sk-learn package is really great and very popular with data scientists everywhere'],
    [
      'sk-learn in code',
      'from sklearn.svm import SVC  # a.k.a. sk-learn\nmodel = SVC(kernel="rbf", C=1.0)\n',
    ],
    [
      'sk-learn on a command line',
      'pip install sk-learn --upgrade --no-cache-dir --disable-pip-version-check',
    ],
    ['sk-learn before numbers', 'sk-learn 1.5 ran the 0 to 100 benchmark on MacOS 14 in 3 minutes'],
    ['a prefix before identifiers', 'npm i sk-foo v2 x86_64 utf8 sha256 base64 md5 es2022'],
    ['locale codes', 'locales: cs-CZ sk-SK sl-SI sv-SE'],
    [
      'bare prefixes',
      'Prefixes: xoxb- for bots, xapp- for apps, ghp_ and github_pat_ for GitHub, sk- for OpenAI.',
    ],
    ['a prefix before words', 'Slack bot tokens start with xoxb- followed by numbers and a random part'],
    ['git sha', 'commit 3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c\nAuthor: Dev <dev@example.com>'],
    ['uuid', 'job 550e8400-e29b-41d4-a716-446655440000 finished in 3.2s'],
    ['sha-256', `checksum ${createHash('sha256').update('shipmate').digest('hex')}`],
    ['base64 of a JSON claim', base64('{"user":"alice","roles":["admin","dev"],"exp":1735689600}')],
    ['base64 of binary data', unrelated.toString('base64')],
    ['wrapped base64', unrelated.toString('base64').replace(/.{40}/g, '$&\n')],
    ['unrelated Basic auth', 'Authorization: Basic dXNlcjpwYXNzd29yZA=='],
    ['percent-encoded query', 'https://example.com/search?q=secret%20scrubbing%3F&lang=en'],
    ['emoji with joiners', 'family: 👨\u200D👩\u200D👧, flag: 🏳️\u200D🌈'],
    ['soft hyphens in prose', 'super\u00ADcali\u00ADfragilistic expi\u00ADali\u00ADdocious'],
    [
      'a JSON log line',
      JSON.stringify({ level: 30, msg: 'worker started\n\tqueue: 3 jobs', app: 'shipmate' }),
    ],
    ['escapes and paths', 'C:\\new\\table\\readme.txt and "\\u00e9t\\u00e9"'],
    ['a short configured-looking word', 'status: OK, port 3000, region eu-west-1'],
  ])('%s', (_name, input) => {
    expect(scrub(input)).toBe(input);
  });

  it('ignores configured secrets shorter than 8 characters, in every form', () => {
    const short = createScrubber(['hunter2']);
    const input = `hunter2 ${base64('hunter2')} ${hex('hunter2')}`;
    expect(short(input)).toBe(input);
  });
});

describe('secret scrubber: earlier behaviour', () => {
  it.each([
    [
      'aws secret keeps its key name',
      'aws_secret_access_key = abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN',
      'aws_secret_access_key = [redacted]',
    ],
    [
      'url credentials keep the scheme',
      'https://user:pa55\u200Bword@git.example.com/x.git',
      'https://[redacted]git.example.com/x.git',
    ],
    ['plain configured literal', `the value ${signingSecret} leaked`, 'the value [redacted] leaked'],
    ['plain token', `token ${github}, done`, 'token [redacted], done'],
  ])('%s', (_name, input, expected) => {
    expect(scrub(input)).toBe(expected);
  });
});

describe('secret scrubber: private keys', () => {
  it('redacts PEM and OpenPGP private key blocks, also when the end has not arrived yet', () => {
    const scrub = createScrubber();
    for (const kind of ['RSA PRIVATE KEY', 'PRIVATE KEY', 'PGP PRIVATE KEY BLOCK']) {
      const block = `-----BEGIN ${kind}-----\nlQOYBF1xk2sBCADd8vKq\n-----END ${kind}-----`;
      expect(scrub(`key: ${block} done`)).toBe('key: [redacted] done');
      expect(scrub(`key: ${block.slice(0, 50)}`)).toBe('key: [redacted]');
    }
  });
});
