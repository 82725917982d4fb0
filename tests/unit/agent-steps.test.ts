import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { resolveProfile } from '../../src/agent/model/profile.js';
import type { ModelClient } from '../../src/agent/model-client.js';
import type { ChangeFlow, ChangeInput, PermissionGate, ResolvedRepo } from '../../src/agent/ports.js';
import type { AgentRun } from '../../src/agent/run-agent.js';
import { assembleTools, roomContext } from '../../src/agent/steps/assemble-tools.js';
import {
  blockedNote,
  type DecoratedAnswer,
  decorateAnswer,
  githubWebUrl,
  usageLine,
} from '../../src/agent/steps/decorate-answer.js';
import { type OutcomeInput, toOutcome } from '../../src/agent/steps/outcome.js';
import {
  type ResolvedRequest,
  type ResolveRequestDeps,
  resolveRequest,
} from '../../src/agent/steps/resolve-request.js';
import { estimateCost, type RunInput, runTheAgent } from '../../src/agent/steps/run-the-agent.js';
import { shellTool } from '../../src/agent/tools/shell.js';
import type { UsageRecord } from '../../src/agent/usage-store.js';
import type { Config, RepoConfig } from '../../src/config.js';
import type { AgentPayload, JobOf } from '../../src/jobs/job-kinds.js';
import type { JobOutcome, ReplyAction } from '../../src/jobs/ports.js';
import type { ThreadRecord } from '../../src/jobs/thread-store.js';
import { type AgentTool, defineTool, type ToolContext, type ToolSource } from '../../src/jobs/tools.js';
import { createLogger } from '../../src/log.js';
import type { CommandResult, Workspace } from '../../src/workspace/types.js';

const log = createLogger({ level: 'silent' });

function repo(name: string, extra: Partial<RepoConfig> = {}): RepoConfig {
  return {
    name,
    url: `/srv/git/${name}.git`,
    defaultBranch: 'main',
    channels: [],
    checks: [],
    allowedDomains: [],
    allowLifecycleScripts: false,
    allowWorkflowChanges: false,
    ...extra,
  };
}

function resolvedRepo(name: string, extra: Partial<RepoConfig> = {}): ResolvedRepo {
  return { ...repo(name, extra), defaultBranch: 'main' };
}

const limits: Config['limits'] = {
  maxSteps: 40,
  wallTimeSeconds: 600,
  commandTimeoutSeconds: 120,
  jobTokens: 400_000,
  maxChangedFiles: 10,
  maxChangedLines: 400,
  maxFileBytes: 1024 ** 2,
  worktreeIdleHours: 72,
  modelIdleSeconds: 120,
};

function agentJob(payload: AgentPayload = { text: 'why?' }): JobOf<'agent'> {
  return {
    kind: 'agent',
    id: 'job-1',
    seq: 1,
    status: 'running',
    channel: 'C0SHOP',
    threadTs: '100.0',
    messageTs: '100.1',
    userId: 'U0ASK',
    attempts: 1,
    maxAttempts: 3,
    statusTs: undefined,
    cancelRequested: false,
    waitUntil: undefined,
    errorCode: undefined,
    errorMessage: undefined,
    referenceId: undefined,
    createdAt: 0,
    startedAt: 0,
    finishedAt: undefined,
    payload,
    result: undefined,
  };
}

function tool(name: string): AgentTool {
  return defineTool({
    name,
    description: `the ${name} tool`,
    schema: z.object({}),
    progress: () => `Running ${name}…`,
    run: async () => 'ok',
  });
}

describe('resolveRequest', () => {
  function deps(
    overrides: {
      repos?: RepoConfig[];
      remembered?: string;
      channelBudget?: number;
      configBudget?: number;
      usedToday?: number;
      pendingPlan?: ResolveRequestDeps['pendingPlan'];
    } = {},
  ): ResolveRequestDeps {
    return {
      config: {
        repos: overrides.repos ?? [repo('shop')],
        limits: { ...limits, channelDailyTokens: overrides.configBudget },
      },
      threads: {
        get: async (channel, threadTs) =>
          overrides.remembered
            ? ({ channel, threadTs, repo: overrides.remembered, quiet: false } as ThreadRecord)
            : undefined,
      },
      usage: {
        channelBudget: async () => overrides.channelBudget,
        channelTokensToday: async () => overrides.usedToday ?? 0,
      },
      pendingPlan: overrides.pendingPlan,
    };
  }
  const ask = (text: string, mode?: AgentPayload['mode']) => ({
    channel: 'C0SHOP',
    threadTs: '100.0',
    payload: mode ? { text, mode } : { text },
  });
  const resolved = (result: Awaited<ReturnType<typeof resolveRequest>>): ResolvedRequest => {
    if ('refusal' in result)
      throw new Error(`expected a request, got the refusal: ${result.refusal.markdown}`);
    return result.resolved;
  };
  const refusal = (result: Awaited<ReturnType<typeof resolveRequest>>): string => {
    if (!('refusal' in result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.resolved)}`);
    return result.refusal.markdown;
  };

  it('with no repository configured, tells the asker to set SHIPMATE_REPO', async () => {
    const text = refusal(await resolveRequest(deps({ repos: [] }), ask('why is checkout slow?')));
    expect(text).toMatch(/No repository is configured/);
    expect(text).toContain('`SHIPMATE_REPO`');
  });

  it('"in <repo>:" picks that repository whatever its case, and the model never sees the prefix', async () => {
    const repos = [repo('shop'), repo('Billing')];
    const request = resolved(await resolveRequest(deps({ repos }), ask('IN billing: why do refunds fail?')));
    expect(request.repo.name).toBe('Billing');
    expect(request.request).toBe('why do refunds fail?');
    expect(request.mode).toBe('question');
  });

  it('an unknown repository name is refused with the list of configured ones', async () => {
    const repos = [repo('shop'), repo('billing')];
    const text = refusal(await resolveRequest(deps({ repos }), ask('in shpo: why is checkout slow?')));
    expect(text).toContain('I do not know a repository called `shpo`.');
    expect(text).toContain('Configured repositories: `shop`, `billing`.');
  });

  it('a channel mapped to no single repository, with several configured, asks for "in <repo>:"', async () => {
    const repos = [repo('shop'), repo('billing')];
    const text = refusal(await resolveRequest(deps({ repos }), ask('why is checkout slow?')));
    expect(text).toMatch(/not mapped to one repository/);
    expect(text).toContain('`in <repo>:`');
    expect(text).toContain('`shop`, `billing`');
  });

  it('a channel mapped to one of several repositories works on that one', async () => {
    const repos = [repo('shop'), repo('billing', { channels: ['C0SHOP'] })];
    expect(resolved(await resolveRequest(deps({ repos }), ask('why is checkout slow?'))).repo.name).toBe(
      'billing',
    );
  });

  it('the repository the thread already works on wins over the channel mapping', async () => {
    const repos = [repo('shop', { channels: ['C0SHOP'] }), repo('billing')];
    const request = resolved(
      await resolveRequest(deps({ repos, remembered: 'billing' }), ask('and the tests?')),
    );
    expect(request.repo.name).toBe('billing');
  });

  it('a channel over its daily budget gets a reply with the numbers, not an error', async () => {
    const over = deps({ channelBudget: 1_000, configBudget: 1_000_000, usedToday: 1_200 });
    const text = refusal(await resolveRequest(over, ask('why is checkout slow?')));
    expect(text).toContain('1,200 of 1,000 tokens');
    expect(text).toContain('`@shipmate budget <tokens>`');
  });

  it('the configured daily budget applies when the channel has none of its own, and only once it is used up', async () => {
    expect(
      refusal(await resolveRequest(deps({ configBudget: 50_000, usedToday: 50_000 }), ask('why?'))),
    ).toContain('50,000 of 50,000 tokens');
    expect(
      resolved(await resolveRequest(deps({ configBudget: 50_000, usedToday: 49_999 }), ask('why?'))).repo
        .name,
    ).toBe('shop');
  });

  it('"go" with a plan waiting carries the plan out as a change', async () => {
    const pendingPlan = vi.fn(async () => ({
      request: 'refactor all the services to use the new logger',
      plan: '1. Add the logger\n2. Switch each service',
    }));
    const request = resolved(await resolveRequest(deps({ pendingPlan }), ask('go ahead')));
    expect(pendingPlan).toHaveBeenCalledWith('C0SHOP', '100.0');
    expect(request.mode).toBe('change');
    expect(request.planning).toBe(false);
    expect(request.request).toContain('refactor all the services to use the new logger');
    expect(request.request).toContain('carry it out:\n1. Add the logger\n2. Switch each service');
  });

  it('"go" with no plan waiting is just a message', async () => {
    const request = resolved(await resolveRequest(deps({ pendingPlan: async () => undefined }), ask('go')));
    expect(request.request).toBe('go');
    expect(request.mode).toBe('question');
  });

  it('a large change request plans first', async () => {
    const request = resolved(
      await resolveRequest(deps(), ask('refactor all the services to share one logger')),
    );
    expect(request.mode).toBe('change');
    expect(request.planning).toBe(true);
  });

  it('"Treat as a change request" on a large request skips the plan', async () => {
    const request = resolved(await resolveRequest(deps(), ask('refactor all the services', 'change')));
    expect(request.mode).toBe('change');
    expect(request.planning).toBe(false);
  });

  it('a question stays a question, even when it mentions a refactor', async () => {
    const request = resolved(
      await resolveRequest(deps(), ask('why did the refactor of all the services break login?')),
    );
    expect(request.mode).toBe('question');
    expect(request.planning).toBe(false);
  });

  // "In <repo>," also names a repository, but "In general, …" must not be refused for it.
  it('an ordinary question starting "In general," is answered about the only repository', async () => {
    const request = resolved(await resolveRequest(deps(), ask('In general, how are refunds handled?')));
    expect(request.repo.name).toBe('shop');
    expect(request.mode).toBe('question');
  });
});

describe('assembleTools', () => {
  const scope = { userId: 'U0ASK', repo: 'shop', channel: 'C0SHOP', threadTs: '100.0', jobId: 'job-1' };
  const source = (...names: string[]) => {
    const tools = vi.fn((_scope: Parameters<ToolSource['tools']>[0]) => names.map(tool));
    return { tools } satisfies ToolSource;
  };
  const names = (tools: AgentTool[]) => tools.map((t) => t.name);

  it('a question gets the shell and the rooms’ tools, never edit_file', () => {
    const scripts = source('run_script');
    const tools = assembleTools({ mode: 'question', planning: false }, scope, [scripts]);
    expect(names(tools)).toEqual(['shell', 'run_script']);
    expect(scripts.tools).toHaveBeenCalledWith({ ...scope, mode: 'question' });
  });

  it('a change request gets the shell, edit_file and the rooms’ tools', () => {
    const scripts = source('run_script');
    const forge = source('open_pull_request');
    const tools = assembleTools({ mode: 'change', planning: false }, scope, [scripts, forge]);
    expect(names(tools)).toEqual(['shell', 'edit_file', 'run_script', 'open_pull_request']);
    expect(forge.tools).toHaveBeenCalledWith(expect.objectContaining({ mode: 'change' }));
  });

  it('a plan gets no edit_file, and the rooms are told it is a plan', () => {
    const scripts = source('run_script');
    const tools = assembleTools({ mode: 'change', planning: true }, scope, [scripts]);
    expect(names(tools)).not.toContain('edit_file');
    expect(names(tools)).toEqual(['shell', 'run_script']);
    expect(scripts.tools).toHaveBeenCalledWith({ ...scope, mode: 'plan' });
  });

  it('two rooms offering the same tool name stop the job, naming the tool', () => {
    expect(() =>
      assembleTools({ mode: 'question', planning: false }, scope, [
        source('run_script'),
        source('run_script'),
      ]),
    ).toThrow('two rooms offer a tool named run_script');
    expect(() => assembleTools({ mode: 'question', planning: false }, scope, [source('shell')])).toThrow(
      'tool named shell',
    );
  });

  it('roomContext gathers every room’s lines in order, skipping rooms without any', async () => {
    const input = { repo: 'shop', request: 'why?' };
    const first = { tools: () => [], context: vi.fn(() => ['Team scripts: count-signups']) };
    const silent = { tools: () => [] };
    const last = { tools: () => [], context: vi.fn(() => ['Commands may reach pypi.org', 'PR #4 is open']) };
    expect(await roomContext([first, silent, last], input)).toEqual([
      'Team scripts: count-signups',
      'Commands may reach pypi.org',
      'PR #4 is open',
    ]);
    expect(first.context).toHaveBeenCalledWith(input);
    expect(await roomContext([], input)).toEqual([]);
  });
});

describe('decorateAnswer', () => {
  const run = (
    extra: Partial<AgentRun> = {},
  ): Pick<AgentRun, 'answer' | 'stoppedBy' | 'steps' | 'usage'> => ({
    answer: 'Checkout is slow because of N+1 queries.',
    stoppedBy: undefined,
    steps: 3,
    usage: { promptTokens: 12_345, completionTokens: 678, estimated: false },
    ...extra,
  });
  const decorate = (input: Partial<Parameters<typeof decorateAnswer>[0]> = {}) =>
    decorateAnswer({
      run: run(),
      blocked: [],
      repo: resolvedRepo('shop', { github: 'acme/shop' }),
      commit: 'abc123',
      webUrl: 'https://github.com',
      model: 'gpt-test',
      cost: undefined,
      durationMs: 4_200,
      ...input,
    });

  it('says so when the model returned nothing', () => {
    expect(decorate({ run: run({ answer: '  \n ' }) }).markdown).toBe(
      '_The model returned an empty answer._',
    );
  });

  it.each([
    ['steps', 'step budget'],
    ['time', 'time budget'],
    ['tokens', 'token budget'],
  ] as const)('an answer cut short by the %s budget says the %s ran out', (stoppedBy, name) => {
    const { markdown } = decorate({ run: run({ stoppedBy }) });
    expect(markdown).toMatch(/^Checkout is slow because of N\+1 queries\./);
    expect(markdown).toContain(`I stopped early because the ${name} ran out`);
  });

  it('a finished answer has no budget note', () => {
    expect(decorate().markdown).toBe('Checkout is slow because of N+1 queries.');
  });

  it('lists at most five things the sandbox blocked, and says how to allow them for the repo', () => {
    const blocked = Array.from({ length: 7 }, (_, i) => `Blocked thing number ${i + 1}.`);
    const { markdown } = decorate({ blocked });
    expect(markdown).toContain('_The sandbox blocked some commands while I worked:_');
    expect(markdown.match(/^- Blocked thing/gm)).toHaveLength(5);
    expect(markdown).toContain('- Blocked thing number 5.');
    expect(markdown).not.toContain('number 6');
    expect(markdown).toContain('for *shop* with `allowedDomains`');
    expect(blockedNote(['One thing.'], 'shop')).toMatch(
      /^_The sandbox blocked a command while I worked:_\n- One thing\.\n/,
    );
  });

  it('turns file:line citations into links at the commit it read, on the configured GitHub host', () => {
    const { markdown } = decorate({
      run: run({ answer: 'See src/cart.ts:42 and `lib/a.js:3-5`.' }),
      webUrl: 'https://ghe.example.com',
    });
    expect(markdown).toBe(
      'See [src/cart.ts:42](https://ghe.example.com/acme/shop/blob/abc123/src/cart.ts#L42) and [lib/a.js:3-5](https://ghe.example.com/acme/shop/blob/abc123/lib/a.js#L3-L5).',
    );
  });

  it('leaves citations as text for a repository without a GitHub remote', () => {
    const { markdown } = decorate({
      run: run({ answer: 'See src/cart.ts:42.' }),
      repo: resolvedRepo('shop'),
    });
    expect(markdown).toBe('See src/cart.ts:42.');
  });

  // sandbox-runtime reports a blocked host as `host:port`; that is not a file citation.
  it('does not turn a blocked host:port in the sandbox note into a code link', () => {
    const { markdown } = decorate({
      blocked: [
        "The sandbox blocked network access to registry.npmjs.org:443: that host is not on this repository's allowed domains.",
      ],
    });
    expect(markdown).toContain('network access to registry.npmjs.org:443:');
    expect(markdown).not.toContain('/blob/abc123/registry.npmjs.org');
  });

  it('puts model, steps, tokens, cost and duration on the usage line', () => {
    expect(decorate({ cost: 0.0036 }).context).toBe(
      'gpt-test · 3 steps · 12,345 in / 678 out tokens · ~$0.0036 · 4.2 s',
    );
    expect(decorate({ cost: 1.5 }).context).toBe(
      'gpt-test · 3 steps · 12,345 in / 678 out tokens · ~$1.50 · 4.2 s',
    );
    expect(
      usageLine('gpt-test', { steps: 1, usage: { promptTokens: 10, completionTokens: 2 } }, undefined, 950),
    ).toBe('gpt-test · 1 step · 10 in / 2 out tokens · 0.9 s');
  });

  it.each([
    [undefined, 'https://github.com'],
    ['https://api.github.com', 'https://github.com'],
    ['https://api.github.com/', 'https://github.com'],
    ['https://ghe.example.com/api/v3', 'https://ghe.example.com'],
    ['https://ghe.example.com/api/v3/', 'https://ghe.example.com'],
  ])('links citations for GITHUB_API_URL %s to %s', (apiUrl, web) => {
    expect(githubWebUrl(apiUrl)).toBe(web);
  });
});

describe('toOutcome', () => {
  const answer: DecoratedAnswer = {
    markdown: 'Checkout is slow because of N+1 queries.',
    streamed: false,
    context: 'gpt-test · 3 steps · 1,000 in / 200 out tokens · 4.2 s',
  };
  const saveScript: ReplyAction = {
    actionId: 'script_save_open',
    label: 'Save as team script',
    value: 'job-1',
  };
  const workspace = { root: '/work/tree', baseCommit: 'abc123' } as Workspace;

  function input(request: Partial<ResolvedRequest>, extra: Partial<OutcomeInput> = {}): OutcomeInput {
    const job = agentJob({ text: request.request ?? 'why?' });
    const change: ChangeInput = {
      jobId: job.id,
      channel: job.channel,
      threadTs: job.threadTs,
      messageTs: job.messageTs,
      userId: job.userId,
      request: request.request ?? 'why?',
      repo: resolvedRepo('shop'),
      workspace,
    };
    return {
      job,
      request: { repo: repo('shop'), request: 'why?', mode: 'question', planning: false, ...request },
      answer,
      ran: {
        run: {
          answer: answer.markdown,
          said: answer.markdown,
          steps: 3,
          usage: { promptTokens: 1_000, completionTokens: 200, estimated: false },
          stoppedBy: undefined,
          toolCalls: [],
          transcript: [],
          compactions: 0,
          turnStart: 0,
        },
        cost: undefined,
        durationMs: 4_200,
      },
      change,
      asked: undefined,
      actions: [saveScript],
      ...extra,
    };
  }
  const asked = { permission: 'network' as const, subject: 'pypi.org', reason: 'to install the test deps' };

  it('a tool asking for a permission parks the job with the gate’s question', async () => {
    const parked: JobOutcome<'agent'> = {
      park: { until: 123, statusText: 'Waiting for a writer to allow pypi.org' },
    };
    const permissions: PermissionGate = { prepare: vi.fn(), park: vi.fn(() => parked) };
    const given = input({ mode: 'change', planning: true }, { asked });
    expect(await toOutcome({ permissions }, given)).toBe(parked);
    expect(permissions.park).toHaveBeenCalledWith(given.job, asked, answer);
  });

  it('without a permissions room, an asked permission does not park: the answer is posted', async () => {
    const outcome = await toOutcome({}, input({}, { asked }));
    expect(outcome.park).toBeUndefined();
    expect(outcome.reply?.markdown).toBe(answer.markdown);
  });

  it('a plan is posted with "Reply go" and stored with what it is a plan for', async () => {
    const permissions: PermissionGate = { prepare: vi.fn(), park: vi.fn() };
    const outcome = await toOutcome(
      { permissions },
      input({ mode: 'change', planning: true, request: 'refactor all the services' }),
    );
    expect(permissions.park).not.toHaveBeenCalled();
    expect(outcome.reply?.markdown).toMatch(
      /^Checkout is slow because of N\+1 queries\.\n\n_This is more than/,
    );
    expect(outcome.reply?.markdown).toContain('Reply **go** in this thread and I will start on it');
    expect(outcome.reply?.context).toBe(answer.context);
    expect(outcome.result).toEqual({
      mode: 'plan',
      plan: answer.markdown,
      planFor: 'refactor all the services',
      repo: 'shop',
      steps: 3,
      promptTokens: 1_000,
      completionTokens: 200,
      cost: null,
    });
    expect(outcome.statusText).toBe('Done: a plan for a change to *shop*; waiting for "go".');
  });

  it('a change request goes through the change flow, keeping the usage line (the reviewer’s share after it) and adding the answer’s buttons after the flow’s', async () => {
    const openPr: ReplyAction = { actionId: 'pr_open', label: 'Open PR', value: 'job-1', style: 'primary' };
    const finish = vi.fn<ChangeFlow['finish']>(async () => ({
      markdown: 'Changed 1 file; checks passed.',
      context: 'review by other-model: 900 in / 30 out tokens',
      actions: [openPr],
    }));
    const given = input({ mode: 'change', request: 'fix the typo' });
    const outcome = await toOutcome(
      { changeFlow: { finish } },
      { ...given, ran: { ...given.ran, cost: 0.0036 } },
    );
    expect(finish).toHaveBeenCalledWith({ ...given.change, answer: answer.markdown });
    expect(outcome.reply).toEqual({
      markdown: 'Changed 1 file; checks passed.',
      context: `${answer.context} · review by other-model: 900 in / 30 out tokens`,
      actions: [openPr, saveScript],
    });
    expect(outcome.result).toMatchObject({ mode: 'change', repo: 'shop', cost: 0.0036 });
    expect(outcome.statusText).toBe('Done: change request about *shop*.');
  });

  it('a change flow reply without buttons still gets the answer’s buttons', async () => {
    const changeFlow: ChangeFlow = { finish: async () => ({ markdown: 'Nothing changed.' }) };
    const outcome = await toOutcome({ changeFlow }, input({ mode: 'change' }));
    expect(outcome.reply?.actions).toEqual([saveScript]);
  });

  it('a question is answered with its buttons, and stored with its token counts and an unknown cost as null', async () => {
    const changeFlow: ChangeFlow = { finish: vi.fn() };
    const outcome = await toOutcome({ changeFlow }, input({ mode: 'question' }));
    expect(changeFlow.finish).not.toHaveBeenCalled();
    expect(outcome).toEqual({
      reply: { markdown: answer.markdown, context: answer.context, actions: [saveScript] },
      result: {
        mode: 'question',
        repo: 'shop',
        steps: 3,
        promptTokens: 1_000,
        completionTokens: 200,
        cost: null,
      },
      statusText: 'Done: question about *shop*.',
    });
  });
});

describe('runTheAgent', () => {
  function fakeModel(content = 'Checkout is slow because of src/cart.ts:42.') {
    const complete = vi.fn(async (_request: { messages: Array<{ role: string; content?: unknown }> }) => ({
      content,
      reasoning: undefined,
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 1_000, completionTokens: 200, estimated: false },
    }));
    const profile = resolveProfile('gpt-test', { contextTokens: 128_000 });
    return { model: { model: 'gpt-test', profile, turn: complete } as unknown as ModelClient, complete };
  }

  function fakeWorkspace(): Workspace {
    const ok = (stdout: string): CommandResult => ({
      exitCode: 0,
      signal: null,
      stdout,
      stderr: '',
      timedOut: false,
      cancelled: false,
      durationMs: 1,
    });
    return {
      root: '/work/tree',
      branch: 'shipmate/x',
      baseCommit: 'abc123',
      run: vi.fn(async () => ok('src/cart.ts\nREADME.md\n')),
      readFile: vi.fn(async (path: string) => {
        if (path === 'README.md') return 'The shop readme.';
        throw new Error('ENOENT');
      }),
    } as unknown as Workspace;
  }

  function setUp(request: Partial<ResolvedRequest>, prices: Config['model']['prices'] = {}) {
    const { model, complete } = fakeModel();
    const records: UsageRecord[] = [];
    const usage = {
      record: vi.fn(async (record: UsageRecord) => {
        records.push(record);
      }),
    };
    let now = 10_000;
    const clock = () => now;
    const config = {
      limits,
      channels: { C0SHOP: { instructions: 'Answer in British English.' } },
      model: { prices },
    } as unknown as Config;
    const workspace = fakeWorkspace();
    const job = agentJob({ text: request.request ?? 'why is checkout slow?' });
    const toolContext: ToolContext = {
      workspace,
      jobId: job.id,
      userId: job.userId,
      signal: new AbortController().signal,
      log,
      progress: () => {
        now += 700;
      },
      commands: { timeoutMs: 120_000 },
      ask: () => {},
      reportBlocked: () => {},
    };
    const input: RunInput = {
      job,
      request: {
        repo: repo('shop'),
        request: 'why is checkout slow?',
        mode: 'question',
        planning: false,
        ...request,
      },
      repo: resolvedRepo('shop', { instructions: 'Prices are in cents.' }),
      workspace,
      thread: [],
      session: undefined,
      askerName: 'Ada',
      tools: [shellTool],
      extraRules: ['Commands may now reach pypi.org.'],
      toolContext,
    };
    const sessions = { save: vi.fn() };
    const go = () => runTheAgent({ config, model, usage, sessions, clock }, input, 9_000);
    const system = () => {
      const first = complete.mock.calls[0]?.[0].messages[0];
      expect(first?.role).toBe('system');
      return String(first?.content);
    };
    return { go, complete, usage, records, system };
  }

  it('records the usage once, with the job, channel, model, tokens and the priced cost', async () => {
    const { go, complete, usage, records } = setUp({}, { 'gpt-test': { input: 2, output: 8 } });
    const ran = await go();
    expect(complete).toHaveBeenCalledTimes(1);
    expect(ran.run.answer).toBe('Checkout is slow because of src/cart.ts:42.');
    expect(ran.cost).toBeCloseTo(0.0036, 10);
    expect(ran.durationMs).toBe(1_700);
    expect(usage.record).toHaveBeenCalledTimes(1);
    expect(records[0]).toEqual({
      jobId: 'job-1',
      channel: 'C0SHOP',
      userId: 'U0ASK',
      model: 'gpt-test',
      promptTokens: 1_000,
      completionTokens: 200,
      cost: expect.closeTo(0.0036, 10),
      steps: 1,
      durationMs: 1_700,
    });
  });

  it('records an unknown cost when the model has no configured price', async () => {
    const { go, records } = setUp({}, { 'other-model': { input: 1, output: 1 } });
    expect((await go()).cost).toBeUndefined();
    expect(records[0]?.cost).toBeUndefined();
    expect(
      estimateCost({ model: { prices: {} } } as unknown as Config, 'gpt-test', {
        promptTokens: 1,
        completionTokens: 1,
      }),
    ).toBe(undefined);
  });

  it('a plan tells the model not to edit files', async () => {
    const { go, system } = setUp({ mode: 'change', planning: true, request: 'refactor all the services' });
    await go();
    expect(system()).toContain('- This change is too large to make in one go. Do NOT edit files now.');
    expect(system()).toContain('- Commands may now reach pypi.org.');
    // …and never contradicts that by asking for an edit with edit_file (which a plan is not given).
    expect(system()).not.toContain('edit_file');
  });

  it('a question carries no planning rule, and the team’s guidance and the files reach the prompt', async () => {
    const { go, complete, system } = setUp({});
    await go();
    expect(system()).not.toContain('Do NOT edit files now');
    expect(system()).toContain('This request is a question.');
    expect(system()).toContain('Prices are in cents.');
    expect(system()).toContain('Answer in British English.');
    expect(system()).toContain('src/cart.ts\nREADME.md');
    expect(system()).toContain('The shop readme.');
    const request = complete.mock.calls[0]?.[0];
    expect(JSON.stringify(request?.messages.at(-1))).toContain('why is checkout slow?');
    expect(JSON.stringify(request)).toContain('"name":"shell"');
  });
});
