import type { Config } from '../config.js';
import type { checkGitHubAccess } from '../forge/forge-doctor.js';
import { forgeNames, forgeOf, tokenVariables } from '../forge/forge-of.js';
import { createProviderFor } from '../forge/provider-for.js';
import type { ForgeAccess, ForgeKind } from '../forge/providers.js';
import type { CheckResult } from './types.js';

type ForgeConfig = Pick<Readonly<Config>, 'repos' | ForgeKind>;

/**
 * Each repository that names a forge, checked with that forge's token through its provider
 * (`checkAccess`): is the token valid, is the repository reachable, may it push. Config
 * loading already refused a forge without its token; the line here is for a config built
 * another way.
 */
export async function checkForges(
  config: ForgeConfig,
  deps: { checkGitHub?: typeof checkGitHubAccess; signal?: AbortSignal } = {},
): Promise<CheckResult[]> {
  const providerFor = createProviderFor(config);
  const checks = config.repos.flatMap((repo) => {
    const forge = forgeOf(repo);
    return forge ? [{ repo, forge }] : [];
  });
  return Promise.all(
    checks.map(async ({ repo, forge }): Promise<CheckResult> => {
      const name = `${forge.kind} ${forge.path}`;
      if (!config[forge.kind].token) {
        const variable = tokenVariables[forge.kind];
        return {
          name,
          status: 'warn',
          detail: `${variable} is not set: no ${providerFor(repo).terms.request}s on ${forge.path}`,
          fix: `set ${variable}`,
        };
      }
      const access = await accessOf(config, forge, deps, () => providerFor(repo).checkAccess(deps.signal));
      return describe(name, forge.kind, access, providerFor(repo).terms.request);
    }),
  );
}

/** The GitHub check can be swapped (the doctor's tests); every forge else goes through its provider. */
async function accessOf(
  config: ForgeConfig,
  forge: { kind: ForgeKind; path: string },
  deps: { checkGitHub?: typeof checkGitHubAccess; signal?: AbortSignal },
  viaProvider: () => Promise<ForgeAccess>,
): Promise<ForgeAccess> {
  if (forge.kind !== 'github' || !deps.checkGitHub) return viaProvider();
  const access = await deps.checkGitHub({
    token: config.github.token ?? '',
    apiUrl: config.github.apiUrl,
    repo: forge.path,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  return access.ok ? { ok: true, canPush: access.canPush } : access;
}

function describe(name: string, kind: ForgeKind, access: ForgeAccess, request: string): CheckResult {
  if (!access.ok) {
    return {
      name,
      status: 'fail',
      detail: `HTTP ${access.status ?? '-'}: ${access.message}`,
      fix: access.fix,
    };
  }
  if (access.canPush === false) {
    return {
      name,
      status: 'warn',
      detail: `the token can read the repository but not push to it (shipmate does not work from forks)`,
      fix: `give ${tokenVariables[kind]} write access to this repository on ${forgeNames[kind]} (push branches, open ${request}s)`,
    };
  }
  return {
    name,
    status: 'ok',
    detail: access.canPush ? `the token can push and open ${request}s` : 'reachable with the token',
  };
}
