import { discoverContextWindow } from '../agent/model/discover-context.js';
import { reachModel } from '../agent/model/probe.js';
import { contextWindow, minimumContextTokens, resolveProfile } from '../agent/model/profile.js';
import type { ModelClient } from '../agent/model-client.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Scrubber } from '../scrub-secrets.js';
import type { SandboxStatus } from '../workspace/types.js';
import { type DoctorDeps, runChecks } from './run-checks.js';
import type { CheckResult } from './types.js';

export interface StartupCheckDeps {
  config: Readonly<Config>;
  log: Logger;
  /** The answering model and the reviewer; their context windows are learned from their servers. */
  models: Array<ModelClient | undefined>;
  sandboxStatus: () => SandboxStatus;
  slackScopes?: DoctorDeps['slackScopes'];
  database?: DoctorDeps['database'];
  /** Every text that leaves through /healthz passes it (a forge or model may echo a token). */
  scrub: Scrubber;
}

/**
 * The doctor's checks once at start, in the background (readiness does not wait): each in the
 * log, all in /healthz. The model check only lists the server's models here: a tool call at
 * every start would spend a completion. First, each model's context window is asked from its
 * server when the config does not give it, so the agent fits its requests to the real window.
 */
export function startStartupChecks(deps: StartupCheckDeps): { results(): CheckResult[] | undefined } {
  let results: CheckResult[] | undefined;
  const { config, log } = deps;
  const learning = Promise.all(
    deps.models.map(async (model) => {
      if (!model || model.profile.contextSource === 'config') return;
      const server = model === deps.models[0] ? config.model : config.model.review;
      const found = await discoverContextWindow({
        baseUrl: server?.baseUrl,
        model: model.model,
        apiKey: server?.apiKey,
      }).catch(() => undefined);
      if (found) {
        model.profile = resolveProfile(model.model, config.model.settings[model.model], {
          contextTokens: found.tokens,
        });
      }
      const window = contextWindow(model.profile);
      const fields = { model: model.model, contextTokens: window, source: found?.source ?? 'default' };
      if (window < minimumContextTokens)
        log.warn({ ...fields, needs: minimumContextTokens }, 'model-context-too-small');
      else log.info(fields, 'model-context');
    }),
  );
  for (const model of deps.models) model?.learnFrom(learning);
  void (async () => {
    await learning;
    const found = await runChecks(config, {
      probeModel: reachModel,
      sandbox: async () => ({ status: deps.sandboxStatus(), weak: false }),
      ...(deps.slackScopes ? { slackScopes: deps.slackScopes } : {}),
      ...(deps.database ? { database: deps.database } : {}),
    });
    results = found.map((result) => ({
      ...result,
      name: deps.scrub(result.name),
      detail: deps.scrub(result.detail),
      ...(result.fix ? { fix: deps.scrub(result.fix) } : {}),
    }));
    for (const result of results) {
      const line = { check: result.name, detail: result.detail, ...(result.fix ? { fix: result.fix } : {}) };
      if (result.status === 'ok') log.info(line, 'startup-check');
      else log.warn({ ...line, status: result.status }, 'startup-check');
    }
  })().catch((error: unknown) => log.warn({ err: error }, 'startup-checks-failed'));
  return { results: () => results };
}
