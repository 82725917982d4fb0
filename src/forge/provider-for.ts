import type { Config, RepoConfig } from '../config.js';
import { BitbucketProvider } from './bitbucket-provider.js';
import { forgeOf } from './forge-of.js';
import { GiteaProvider } from './gitea-provider.js';
import { GitLabProvider } from './gitlab-provider.js';
import { GitHubProvider, PlainGitProvider, type PullRequestProvider } from './providers.js';

export type ProviderFor = (
  repo: Partial<Pick<RepoConfig, 'github' | 'gitlab' | 'gitea' | 'bitbucket'>>,
) => PullRequestProvider;

/**
 * The provider for a repo's forge, with that forge's credentials from the config (the token
 * stays in the provider: API calls on the host only). No forge named: plain git, the branch
 * is pushed and people open the request in their host's UI.
 */
export function createProviderFor(
  config: Pick<Config, 'github' | 'gitlab' | 'gitea' | 'bitbucket'>,
): ProviderFor {
  return (repo) => {
    const forge = forgeOf(repo);
    switch (forge?.kind) {
      case 'github':
        return new GitHubProvider(forge.path, config.github);
      case 'gitlab':
        return new GitLabProvider(forge.path, config.gitlab);
      case 'gitea':
        return new GiteaProvider(forge.path, config.gitea);
      case 'bitbucket':
        return new BitbucketProvider(forge.path, config.bitbucket);
      case undefined:
        return new PlainGitProvider();
    }
  };
}
