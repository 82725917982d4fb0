import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Slack's syntax for naming people and pinging many: https://docs.slack.dev/messaging/formatting-message-text */
const slackSyntax = /<@|<!(here|channel|everyone|subteam)/;

describe('the boundaries of src/', () => {
  it('keep Slack’s mention syntax inside src/slack/ (decision 0009)', () => {
    const offenders = sourceFiles(join(root, 'src'))
      .map((file) => relative(root, file))
      .filter((file) => !file.startsWith('src/slack/'))
      .filter((file) => slackSyntax.test(readFileSync(join(root, file), 'utf8')));
    expect(offenders, 'use mention() from src/jobs/mentions.ts instead').toEqual([]);
  });

  it('are the ones .dependency-cruiser.cjs checks, and it finds no violation', async () => {
    const { cruise } = await import('dependency-cruiser');
    const config = (await import(join(root, '.dependency-cruiser.cjs'))).default;
    const result = await cruise(['src'], {
      ...config.options,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      baseDir: root,
    });
    const output = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;
    const violations = output.summary.violations.map(
      (violation: { rule: { name: string }; from: string; to: string }) =>
        `${violation.rule.name}: ${violation.from} → ${violation.to}`,
    );
    expect(violations).toEqual([]);
    // The rules are real: the layering and the cycle check are among them.
    expect(config.forbidden.map((rule: { name: string }) => rule.name)).toEqual(
      expect.arrayContaining(['no-circular', 'agent-room', 'handlers-layer', 'slack-layer']),
    );
  });
});
