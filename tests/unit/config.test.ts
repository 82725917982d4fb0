import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const slack = { SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_SIGNING_SECRET: 'secret' };

function problemsFor(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'shipmate-config-')), 'shipmate.yaml');
  writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  it('accepts the documented example file, with the token its forge needs', () => {
    expect(() => loadConfig({ ...slack, SHIPMATE_CONFIG: 'shipmate.example.yaml' })).toThrow(/GITHUB_TOKEN/);
    const config = loadConfig({
      ...slack,
      SHIPMATE_CONFIG: 'shipmate.example.yaml',
      GITHUB_TOKEN: 'ghp_exampletoken0123456789abcdefghij',
    });
    expect(config.repos[0]?.name).toBe('shop');
    expect(config.digests[0]?.timezone).toBe('Europe/Berlin');
    expect(Object.isFrozen(config.repos)).toBe(true);
  });

  it('starts in the playground without Slack credentials, and in Socket Mode with an app token', () => {
    expect(loadConfig({}).slack.mode).toBe('playground');
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-abc' }).slack.mode).toBe(
      'socket',
    );
    expect(loadConfig(slack).slack.mode).toBe('http');
  });

  it('makes a zero-config repo from SHIPMATE_REPO', () => {
    const config = loadConfig({ ...slack, SHIPMATE_REPO: 'https://github.com/acme/parcel-pricing.git' });
    expect(config.repos.map((repo) => repo.name)).toEqual(['parcel-pricing']);
  });

  it.each([
    [{ SLACK_SIGNING_SECRET: 's' }, /SLACK_BOT_TOKEN is not set/],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, /Set SLACK_SIGNING_SECRET .* or SLACK_APP_TOKEN/],
    [{ ...slack, PORT: 'eighty' }, /PORT must be a whole number/],
    [{ ...slack, SHIPMATE_SANDBOX: 'maybe' }, /SHIPMATE_SANDBOX must be "on" or "off"/],
    [{ ...slack, OPENAI_BASE_URL: 'localhost:11434' }, /OPENAI_BASE_URL must be an http\(s\) URL/],
    [
      { ...slack, SHIPMATE_CONFIG: '/missing/shipmate.yaml' },
      /SHIPMATE_CONFIG: cannot read \/missing\/shipmate.yaml/,
    ],
  ])('names the variable: %j', (env, pattern) => {
    expect(problemsFor(env).join('\n')).toMatch(pattern);
  });

  it('names the key and the file for every problem in the YAML', () => {
    const file = writeConfig(
      'repos:\n  - name: shop\n    channels: [general]\naccess:\n  writers: [alice]\nbogus: 1\n',
    );
    const problems = problemsFor({ ...slack, SHIPMATE_CONFIG: file });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file}: repos.0.url:`)),
        expect.stringMatching(new RegExp(`^${file}: repos.0.channels.0: must be a Slack id`)),
        expect.stringMatching(new RegExp(`^${file}: access.writers.0: must be a Slack id`)),
        expect.stringMatching(new RegExp(`^${file}: .*bogus`)),
      ]),
    );
  });

  it('reports YAML syntax errors with the file', () => {
    const file = writeConfig('repos: [\n');
    expect(problemsFor({ ...slack, SHIPMATE_CONFIG: file })[0]).toMatch(
      new RegExp(`^${file}: not valid YAML`),
    );
  });
});
