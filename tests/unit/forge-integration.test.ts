import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkCitations } from '../../src/agent/citations.js';
import { loadConfig } from '../../src/config.js';
import { checkForges } from '../../src/doctor/forge-check.js';
import { ConfigError } from '../../src/errors.js';
import { BitbucketProvider } from '../../src/forge/bitbucket-provider.js';
import { fileLinkFor, forgeOf, webBaseUrl } from '../../src/forge/forge-of.js';
import { authorizationEnv, pushSentence } from '../../src/forge/git-commands.js';
import { GiteaProvider } from '../../src/forge/gitea-provider.js';
import { GitLabProvider } from '../../src/forge/gitlab-provider.js';
import { createProviderFor } from '../../src/forge/provider-for.js';
import { GitHubProvider, PlainGitProvider, requestReference } from '../../src/forge/providers.js';
import { asksForReviewComments } from '../../src/forge/review-comments.js';
import { GitHubStandIn } from '../support/github-stand-in.js';

const dir = mkdtempSync(join(tmpdir(), 'shipmate-forges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tokens = {
  GITHUB_TOKEN: 'ghp_unitForgeToken0123456789abcdefghij',
  GITLAB_TOKEN: 'glpat-unitForgeToken0123456789',
  GITEA_TOKEN: 'gitea0123456789abcdef0123456789abcdef',
  BITBUCKET_TOKEN: 'ATCTT3xFfGN0unitForgeToken0123456789',
};

let files = 0;
function configWith(repoLines: string[], env: Record<string, string> = tokens) {
  files += 1;
  const file = join(dir, `shipmate-${files}.yaml`);
  writeFileSync(file, ['repos:', '  - name: shop', '    url: /srv/git/shop.git', ...repoLines].join('\n'));
  return { file, load: () => loadConfig({ SHIPMATE_CONFIG: file, ...env }) };
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('a repo names its forge', () => {
  it.each([
    ['github', 'acme/shop'],
    ['gitlab', 'acme/platform/shop'],
    ['gitea', 'acme/shop'],
    ['bitbucket', 'acme/shop'],
  ] as const)('accepts `%s: %s` and reads it back with forgeOf', (key, path) => {
    const config = configWith([`    ${key}: ${path}`]).load();
    expect(forgeOf(config.repos[0]!)).toEqual({ kind: key, path });
  });

  it('names no forge for a plain git repo', () => {
    const config = configWith([]).load();
    expect(forgeOf(config.repos[0]!)).toBeUndefined();
    expect(createProviderFor(config)(config.repos[0]!)).toBeInstanceOf(PlainGitProvider);
  });

  it('refuses two forges on one repo, naming the key and the file', () => {
    const { file, load } = configWith(['    github: acme/shop', '    gitlab: acme/shop']);
    expect(problemsOf(load)).toEqual([
      `${file}: repos.0.gitlab: name one forge per repository, not \`github:\` and \`gitlab:\``,
    ]);
  });

  it.each([
    ['gitlab', 'shop', 'must look like group/name or group/subgroup/name'],
    ['gitea', 'acme/shop/extra', 'must look like owner/name'],
    ['bitbucket', 'acme', 'must look like workspace/repo'],
  ])('refuses `%s: %s` with what it must look like', (key, path, message) => {
    const { file, load } = configWith([`    ${key}: ${path}`]);
    expect(problemsOf(load)).toEqual([`${file}: repos.0.${key}: ${message}`]);
  });

  it.each([
    ['github', 'GITHUB_TOKEN'],
    ['gitlab', 'GITLAB_TOKEN'],
    ['gitea', 'GITEA_TOKEN'],
    ['bitbucket', 'BITBUCKET_TOKEN'],
  ])('stops at start with one line naming %s’s token variable when it is missing', (key, variable) => {
    const env = Object.fromEntries(Object.entries(tokens).filter(([name]) => name !== variable));
    const { file, load } = configWith([`    ${key}: acme/shop`], env);
    const problems = problemsOf(load);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(
        `^${variable} is not set, but shop names a \`${key}:\` repository in ${file}: set ${variable} to a token with `,
      ),
    );
  });

  it('checks each forge’s API URL and keeps every forge token out of what it writes', () => {
    const bad = configWith(['    gitlab: acme/shop'], { ...tokens, GITLAB_API_URL: 'gitlab.example.com' });
    expect(problemsOf(bad.load)).toEqual([
      'GITLAB_API_URL must be an http(s) URL (got "gitlab.example.com").',
    ]);
    const config = configWith(['    gitea: acme/shop'], {
      ...tokens,
      GITEA_API_URL: 'https://git.example.com/api/v1',
    }).load();
    expect(config.gitea).toEqual({ token: tokens.GITEA_TOKEN, apiUrl: 'https://git.example.com/api/v1' });
    expect(config.secrets).toEqual(expect.arrayContaining(Object.values(tokens)));
  });
});

describe('the provider for each forge', () => {
  it.each([
    ['github: acme/shop', GitHubProvider, 'pull request #3'],
    ['gitlab: acme/platform/shop', GitLabProvider, 'merge request !3'],
    ['gitea: acme/shop', GiteaProvider, 'pull request #3'],
    ['bitbucket: acme/shop', BitbucketProvider, 'pull request #3'],
  ] as const)('`%s` gets its own provider and words', (line, type, reference) => {
    const config = configWith([`    ${line}`]).load();
    const provider = createProviderFor(config)(config.repos[0]!);
    expect(provider).toBeInstanceOf(type);
    expect(requestReference(provider.terms, 3)).toBe(reference);
  });
});

describe('citations link to the file on the repo’s forge', () => {
  const config = {
    github: { token: undefined, apiUrl: undefined },
    gitlab: { token: undefined, apiUrl: 'https://git.example.com/api/v4' },
    gitea: { token: undefined, apiUrl: 'https://code.example.com/api/v1/' },
    bitbucket: { token: undefined, apiUrl: undefined },
  };
  it.each([
    ['github', 'acme/shop', 'https://github.com/acme/shop/blob/abc123/src/cart.ts#L42', '#L3-L5'],
    [
      'gitlab',
      'acme/platform/shop',
      'https://git.example.com/acme/platform/shop/-/blob/abc123/src/cart.ts#L42',
      '#L3-5',
    ],
    ['gitea', 'acme/shop', 'https://code.example.com/acme/shop/src/commit/abc123/src/cart.ts#L42', '#L3-L5'],
    [
      'bitbucket',
      'acme/shop',
      'https://bitbucket.org/acme/shop/src/abc123/src/cart.ts#lines-42',
      '#lines-3:5',
    ],
  ])('on %s', (kind, path, line, range) => {
    const out = linkCitations('See src/cart.ts:42 and `lib/a.js:3-5`.\n```\nsrc/x.ts:1\n```', {
      commit: 'abc123',
      link: fileLinkFor(config, { [kind]: path }),
    });
    expect(out).toContain(`[src/cart.ts:42](${line})`);
    expect(out).toContain(`[lib/a.js:3-5](`);
    expect(out).toContain(`/lib/a.js${range})`);
    expect(out).toContain('```\nsrc/x.ts:1\n```');
  });

  it('leaves citations alone for a plain git repo', () => {
    expect(linkCitations('See src/cart.ts:42.', { commit: 'abc', link: fileLinkFor(config, {}) })).toBe(
      'See src/cart.ts:42.',
    );
  });

  it.each([
    ['github', undefined, 'https://github.com'],
    ['github', 'https://api.github.com', 'https://github.com'],
    ['github', 'https://ghe.example.com/api/v3', 'https://ghe.example.com'],
    ['gitlab', undefined, 'https://gitlab.com'],
    ['gitlab', 'https://gitlab.com/api/v4', 'https://gitlab.com'],
    ['gitlab', 'https://git.example.com/gitlab/api/v4/', 'https://git.example.com/gitlab'],
    ['gitea', undefined, 'https://gitea.com'],
    ['gitea', 'https://codeberg.org/api/v1', 'https://codeberg.org'],
    ['bitbucket', 'https://api.bitbucket.org/2.0', 'https://bitbucket.org'],
    ['bitbucket', 'http://127.0.0.1:4000/2.0', 'http://127.0.0.1:4000'],
  ] as const)('the web address of %s from %s is %s', (kind, apiUrl, web) => {
    expect(webBaseUrl(kind, apiUrl)).toBe(web);
  });
});

describe('push credentials per forge', () => {
  it.each([
    ['github', 'x-access-token'],
    ['gitlab', 'oauth2'],
    ['gitea', 'shipmate'],
    ['bitbucket', 'x-token-auth'],
  ] as const)('%s gets the token as basic auth with user %s, only in GIT_CONFIG_* env', (forge, user) => {
    const env = authorizationEnv('tok-en', forge);
    expect(Object.keys(env).every((key) => key.startsWith('GIT_CONFIG_'))).toBe(true);
    expect(env.GIT_CONFIG_KEY_0).toBe('http.extraHeader');
    // A redirect would carry the header to the host it names: never followed.
    expect([env.GIT_CONFIG_KEY_1, env.GIT_CONFIG_VALUE_1]).toEqual(['http.followRedirects', 'false']);
    const basic = /^Authorization: Basic (.+)$/.exec(env.GIT_CONFIG_VALUE_0 ?? '')?.[1] ?? '';
    expect(Buffer.from(basic, 'base64').toString()).toBe(`${user}:tok-en`);
  });

  it.each([
    [
      'gitlab',
      'remote: GitLab: You are not allowed to push code to protected branches on this project.',
      /^GitLab refused the push to `shipmate\/x` because the branch is protected/,
    ],
    [
      'gitlab',
      "remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://gitlab.com/a/b.git/'",
      /^GitLab refused my push credentials for `shipmate\/x`; check that GITLAB_TOKEN may push/,
    ],
    [
      'gitea',
      "fatal: unable to access 'https://git.example.com/a/b.git/': The requested URL returned error: 403",
      /^Gitea accepted GITEA_TOKEN but it may not push to this repository \(shipmate does not work from forks\)/,
    ],
    [
      'bitbucket',
      "remote: Repository not found\nfatal: repository 'https://bitbucket.org/a/b.git/' not found",
      /^Bitbucket has no repository at the configured `url` that BITBUCKET_TOKEN can see/,
    ],
    [
      'github',
      "fatal: unable to access 'https://github.com/a/b.git/': The requested URL returned error: 429",
      /^GitHub is rate limiting git pushes right now/,
    ],
    [
      'github',
      ' ! [rejected]        shipmate/x -> shipmate/x (fetch first)',
      /^`shipmate\/x` moved on the remote since I last pushed/,
    ],
  ] as const)('a %s push refusal is one sentence naming the forge and the fix', (forge, said, sentence) => {
    expect(pushSentence(said, 'shipmate/x', forge)).toMatch(sentence);
  });

  it('keeps git’s own words for a failure it does not know', () => {
    expect(
      pushSentence('fatal: the remote end hung up unexpectedly', 'shipmate/x', 'gitlab'),
    ).toBeUndefined();
  });
});

describe('asking for the review comments', () => {
  it.each([
    ['address the review comments', true],
    ['please fix the reviewers’ feedback', true],
    ['handle the MR comments', true],
    ['what did the reviewers say?', true],
    ['fix the typo on the pricing page', false],
    ['review the checkout code', false],
  ])('“%s” → %s', (text, asks) => {
    expect(asksForReviewComments(text)).toBe(asks);
  });
});

describe('the doctor checks each configured forge through its provider', () => {
  let github: GitHubStandIn;
  beforeAll(async () => {
    github = await new GitHubStandIn({ token: tokens.GITHUB_TOKEN }).start();
    github.addRepo('acme/shop');
  });
  afterAll(() => github.stop());

  it('says which repository the token reaches and which it does not', async () => {
    const repo = (name: string, path: string) =>
      ({ name, url: '/x', github: path, channels: [], checks: [], allowedDomains: [] }) as never;
    const forges = { token: undefined, apiUrl: undefined };
    const results = await checkForges({
      repos: [repo('shop', 'acme/shop'), repo('gone', 'acme/gone')],
      github: { token: tokens.GITHUB_TOKEN, apiUrl: github.apiUrl },
      gitlab: forges,
      gitea: forges,
      bitbucket: forges,
    });
    expect(results.map((result) => [result.name, result.status])).toEqual([
      ['github acme/shop', 'ok'],
      ['github acme/gone', 'fail'],
    ]);
    expect(results[1]!.fix).toMatch(/the token cannot see acme\/gone/);
    expect(JSON.stringify(results)).not.toContain(tokens.GITHUB_TOKEN);
  });
});
