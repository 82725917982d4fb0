import type { Config, RepoConfig } from '../config.js';
import type { CommandRoute } from '../jobs/command-job.js';
import { mention } from '../jobs/mentions.js';
import type { GrantStore } from './grant-store.js';

/**
 * The network allowlist the sandbox enforces. sandbox-runtime keeps one allowlist per
 * process, so only domains every repo allows are opened: a repo never gets network
 * another repo asked for.
 */
export function effectiveDomains(config: Pick<Config, 'repos'>): string[] {
  const [first, ...rest] = config.repos.map((repo) => new Set(repo.allowedDomains));
  if (!first) return [];
  return [...first].filter((domain) => rest.every((domains) => domains.has(domain))).sort();
}

/** `@shipmate permissions`: what each repository may do beyond the defaults. */
export function createPermissionsCommand(
  config: Readonly<Config>,
  grants?: Pick<GrantStore, 'domainsFor'>,
): CommandRoute<'permissions'> {
  return async () => {
    const open = effectiveDomains(config);
    const lines = await Promise.all(config.repos.map((repo) => repoLine(repo, grants)));
    const writers =
      config.access.writers.length > 0
        ? `Write actions (push, PR, shared scripts) are limited to ${config.access.writers.map((id) => mention(id)).join(', ')}.`
        : 'Everyone may use write actions (push, PR, shared scripts): `access.writers` is not set.';
    const network =
      open.length > 0
        ? `Commands may reach: ${open.map((d) => `\`${d}\``).join(', ')} (domains every repository allows).`
        : 'Commands run with no network.';
    return {
      reply: {
        markdown: [
          '**Sandbox permissions**',
          ...(lines.length > 0 ? lines : ['- No repository is configured.']),
          '',
          network,
          writers,
          'Beyond these, a writer can allow a host when I ask in a thread (Allow once / Always for this repo / Deny); nothing in a message can widen the sandbox by itself.',
        ].join('\n'),
      },
    };
  };
}

/** One repository's line: what the config allows, and what writers allowed in Slack. */
async function repoLine(
  repo: RepoConfig,
  grants: Pick<GrantStore, 'domainsFor'> | undefined,
): Promise<string> {
  const asked =
    repo.allowedDomains.length > 0 ? repo.allowedDomains.map((d) => `\`${d}\``).join(', ') : 'none';
  const extras = [
    repo.allowLifecycleScripts ? 'install scripts allowed' : 'install scripts off',
    repo.allowWorkflowChanges ? 'CI workflow changes allowed' : 'CI workflow files never committed',
  ].join('; ');
  const granted = (await grants?.domainsFor(repo.name)) ?? [];
  const always =
    granted.length > 0 ? `; allowed in Slack (always): ${granted.map((d) => `\`${d}\``).join(', ')}` : '';
  return `- **${repo.name}**: network domains configured: ${asked}${always}; ${extras}.`;
}
