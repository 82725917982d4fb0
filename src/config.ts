import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { staticRefuseReason } from './workspace/network-address.js';

const slackId = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[A-Z0-9]+$`), `must be a Slack id starting with ${prefix}`);

/**
 * One `allowedDomains` entry. The server itself, private networks and cloud metadata are
 * refused here, by what the entry says; names are checked again (DNS) when a command dials.
 */
const allowedDomain = z
  .string()
  .min(1)
  .superRefine((entry, context) => {
    const why = staticRefuseReason(entry);
    if (why) context.addIssue({ code: 'custom', message: `cannot allow "${entry}": ${why}` });
  });

/** The keys a repo names its forge with; at most one per repo. */
const forgeKeys = ['github', 'gitlab', 'gitea', 'bitbucket'] as const;

/** Each forge's token and API base variables, read here only. */
const forgeEnv = {
  github: {
    token: 'GITHUB_TOKEN',
    apiUrl: 'GITHUB_API_URL',
    scope: 'Contents and Pull requests read & write',
  },
  gitlab: {
    token: 'GITLAB_TOKEN',
    apiUrl: 'GITLAB_API_URL',
    scope: 'the api scope, Developer role or higher',
  },
  gitea: { token: 'GITEA_TOKEN', apiUrl: 'GITEA_API_URL', scope: 'write:repository and write:issue' },
  bitbucket: {
    token: 'BITBUCKET_TOKEN',
    apiUrl: 'BITBUCKET_API_URL',
    scope: 'Repositories and Pull requests read & write',
  },
} as const;

/** A forge's credentials on the host: the token never leaves the push and the API calls. */
export interface ForgeCredentials {
  token: string | undefined;
  /** The API base of a self-managed instance; undefined = the public service. */
  apiUrl: string | undefined;
}

/**
 * A two-part forge path (`owner/name`, `workspace/repo`) for the `key:` of a repo. `.` and `..`
 * are refused as a part: the URL parser resolves them (even percent-encoded), so the token
 * would be sent to API paths outside the repository's.
 */
const twoPartPath = (key: string, shape: string) =>
  z
    .string()
    .regex(/^[\w.-]+\/[\w.-]+$/, `must look like ${shape}`)
    .refine(
      (path) => path.split('/').every((part) => part !== '.' && part !== '..'),
      `\`${key}:\` must be ${shape}, without \`.\` or \`..\` as a part`,
    );

const repoSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'use letters, digits, dot, dash or underscore'),
    url: z.string().min(1),
    defaultBranch: z.string().min(1).optional(),
    channels: z.array(slackId('[CGD]')).default([]),
    github: twoPartPath('github', 'owner/name').optional(),
    /** A GitLab project: `group/name` or `group/subgroup/…/name`. */
    gitlab: z
      .string()
      .regex(/^[\w.-]+(\/[\w.-]+)+$/, 'must look like group/name or group/subgroup/name')
      .optional(),
    gitea: twoPartPath('gitea', 'owner/name').optional(),
    bitbucket: twoPartPath('bitbucket', 'workspace/repo').optional(),
    checks: z.array(z.string().min(1)).default([]),
    instructions: z.string().optional(),
    allowedDomains: z.array(allowedDomain).default([]),
    allowLifecycleScripts: z.boolean().default(false),
    allowWorkflowChanges: z.boolean().default(false),
  })
  .strict()
  .superRefine((repo, context) => {
    const named = forgeKeys.filter((key) => repo[key] !== undefined);
    if (named.length <= 1) return;
    context.addIssue({
      code: 'custom',
      path: [named[1] ?? 'github'],
      message: `name one forge per repository, not ${named.map((key) => `\`${key}:\``).join(' and ')}`,
    });
  });

const digestSchema = z
  .object({
    channel: slackId('[CGD]'),
    schedule: z.string().min(1),
    timezone: z.string().min(1).default('UTC'),
  })
  .strict();

/** Per-model settings (see src/agent/model/profile.ts); every field optional, the family fills the rest. */
const modelSettingsSchema = z
  .object({
    contextTokens: z.number().int().positive().optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    tokenLimitParameter: z.enum(['max_tokens', 'max_completion_tokens', 'none']).optional(),
    /** `null` sends no temperature at all (reasoning models accept only their default). */
    temperature: z.number().min(0).max(2).nullable().optional(),
    reasoningEffort: z.enum(['minimal', 'low', 'medium', 'high']).optional(),
    echoReasoning: z.boolean().optional(),
    toolChoice: z.boolean().optional(),
    parallelToolCalls: z.boolean().optional(),
    streaming: z.boolean().optional(),
    vision: z.boolean().optional(),
    price: z
      .object({ input: z.number().nonnegative(), output: z.number().nonnegative() })
      .strict()
      .optional(),
  })
  .strict();

const fileSchema = z
  .object({
    repos: z.array(repoSchema).default([]),
    access: z
      .object({ writers: z.array(slackId('[UW]')).default([]) })
      .strict()
      .default({ writers: [] }),
    digests: z.array(digestSchema).default([]),
    channels: z.record(z.string(), z.object({ instructions: z.string().optional() }).strict()).default({}),
    model: z
      .object({
        name: z.string().optional(),
        prices: z
          .record(z.string(), z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }))
          .default({}),
      })
      .strict()
      .default({ prices: {} }),
    models: z.record(z.string(), modelSettingsSchema).default({}),
    /** A second model (another family, another server) for the review of a change. */
    review: z
      .object({ model: z.string().min(1), baseUrl: z.string().url().optional() })
      .strict()
      .optional(),
    limits: z
      .object({
        maxSteps: z.number().int().positive().default(40),
        wallTimeSeconds: z.number().positive().default(600),
        commandTimeoutSeconds: z.number().positive().default(120),
        /** A streamed model answer that sends nothing for this long is given up. */
        modelIdleSeconds: z.number().positive().default(120),
        jobTokens: z.number().int().positive().default(1_000_000),
        channelDailyTokens: z.number().int().positive().optional(),
        maxChangedFiles: z.number().int().positive().default(10),
        maxChangedLines: z.number().int().positive().default(400),
        /** Largest single file a change may add or grow to; a bigger one refuses the change. */
        maxFileBytes: z
          .number()
          .int()
          .positive()
          .default(1024 ** 2),
        worktreeIdleHours: z.number().positive().default(72),
        /** Disk a thread's worktree (checkout + git dir) may take; past it, uncommitted work is discarded. Default 2 GiB. */
        maxWorktreeBytes: z.number().int().positive().optional(),
        /** Largest file shared in a thread that shipmate downloads for the model (default 10 MiB). */
        maxSharedFileBytes: z.number().int().positive().optional(),
        /** All files shared for one request together (default 25 MiB). */
        maxSharedFilesBytesPerJob: z.number().int().positive().optional(),
        /** Largest image shown to a vision model (default 5 MiB, within common providers' per-image limits); a larger one is only a file. */
        maxImageBytes: z.number().int().positive().optional(),
      })
      .strict()
      .default({
        maxSteps: 40,
        wallTimeSeconds: 600,
        commandTimeoutSeconds: 120,
        modelIdleSeconds: 120,
        jobTokens: 1_000_000,
        maxChangedFiles: 10,
        maxChangedLines: 400,
        maxFileBytes: 1024 ** 2,
        worktreeIdleHours: 72,
      }),
    git: z
      .object({
        authorName: z.string().default('shipmate'),
        authorEmail: z.string().default('shipmate@users.noreply.github.com'),
        branchPrefix: z.string().default('shipmate/'),
      })
      .strict()
      .default({
        authorName: 'shipmate',
        authorEmail: 'shipmate@users.noreply.github.com',
        branchPrefix: 'shipmate/',
      }),
    pullRequests: z
      .object({ draft: z.boolean().default(true) })
      .strict()
      .default({ draft: true }),
  })
  .strict();

/** What a team may set per model (`models: { <name>: … }`); read by src/agent/model/profile.ts. */
export type ModelSettings = z.infer<typeof modelSettingsSchema>;
export type RepoConfig = z.infer<typeof repoSchema> & { defaultBranch: string | undefined };
export type DigestConfig = z.infer<typeof digestSchema>;
type FileConfig = z.infer<typeof fileSchema>;

export type SlackMode = 'http' | 'socket' | 'playground';

export interface Config {
  slack: {
    mode: SlackMode;
    botToken: string;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string | undefined;
  };
  host: string;
  port: number;
  model: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    name: string;
    configured: boolean;
    prices: FileConfig['model']['prices'];
    /** Settings per model name, from `models:` (prices from `model.prices` folded in). */
    settings: Record<string, ModelSettings>;
    /** The reviewer, when `review:` names one; its key is SHIPMATE_REVIEW_API_KEY on another server. */
    review: { name: string; baseUrl: string | undefined; apiKey: string | undefined } | undefined;
  };
  github: ForgeCredentials;
  gitlab: ForgeCredentials;
  gitea: ForgeCredentials;
  bitbucket: ForgeCredentials;
  dataDir: string;
  configFile: string | undefined;
  repos: RepoConfig[];
  access: { writers: string[] };
  digests: DigestConfig[];
  channels: FileConfig['channels'];
  limits: FileConfig['limits'];
  git: FileConfig['git'];
  pullRequests: FileConfig['pullRequests'];
  concurrency: number;
  sandbox: 'on' | 'off';
  drainSeconds: number;
  /**
   * DATABASE_URL (PostgreSQL: several processes share it) or undefined (SQLite in the data
   * dir, one process). `leaseSeconds`: how long a job stays claimed without a heartbeat
   * before another process takes it over (SHIPMATE_LEASE_SECONDS).
   */
  database: { url: string | undefined; leaseSeconds: number };
  logLevel: string;
  /** Literal secret values; every outgoing text is scrubbed of them. */
  secrets: string[];
}

type Env = Record<string, string | undefined>;

/** Parses env and the optional YAML file once. Every problem is listed, each naming its variable or key. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const configFile = env.SHIPMATE_CONFIG ? resolve(env.SHIPMATE_CONFIG) : undefined;
  const file = configFile ? readConfigFile(configFile, problems) : fileSchema.parse({});

  const slack = readSlack(env, problems);
  const port = readInteger(env, 'PORT', 3000, problems, { min: 0, max: 65535 });
  const concurrency = readInteger(env, 'SHIPMATE_CONCURRENCY', 4, problems, { min: 1, max: 64 });
  const drainSeconds = readInteger(env, 'SHIPMATE_DRAIN_SECONDS', 30, problems, { min: 0, max: 3600 });
  const leaseSeconds = readInteger(env, 'SHIPMATE_LEASE_SECONDS', 60, problems, { min: 2, max: 3600 });
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\/./.test(databaseUrl)) {
    // Never echo the value: it may carry a password.
    problems.push(
      'DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:5432/db); unset it for SQLite.',
    );
  }
  const sandbox = env.SHIPMATE_SANDBOX ?? 'on';
  if (sandbox !== 'on' && sandbox !== 'off') {
    problems.push(`SHIPMATE_SANDBOX must be "on" or "off" (got "${sandbox}").`);
  }

  const repos: RepoConfig[] = file.repos.map((repo) => ({ ...repo, defaultBranch: repo.defaultBranch }));
  if (env.SHIPMATE_REPO) {
    repos.unshift(repoFromEnv(env.SHIPMATE_REPO));
  }
  const names = new Set<string>();
  for (const repo of repos) {
    if (names.has(repo.name))
      problems.push(`repos: the name "${repo.name}" is used twice${where(configFile)}.`);
    names.add(repo.name);
  }

  const urlNames = [
    'SLACK_API_URL',
    'OPENAI_BASE_URL',
    ...Object.values(forgeEnv).map((names) => names.apiUrl),
  ];
  for (const name of urlNames) {
    const url = env[name];
    if (url && !/^https?:\/\//.test(url)) problems.push(`${name} must be an http(s) URL (got "${url}").`);
  }
  for (const names of Object.values(forgeEnv)) {
    const problem = plainHttpProblem(names.apiUrl, env[names.apiUrl]);
    if (problem) problems.push(problem);
  }
  problems.push(...missingForgeTokens(env, repos, configFile));

  if (problems.length > 0) throw new ConfigError(problems);

  const apiKey = env.OPENAI_API_KEY || undefined;
  const baseUrl = env.OPENAI_BASE_URL || undefined;
  const config: Config = {
    slack,
    host: env.SHIPMATE_HOST ?? (slack.mode === 'playground' ? '127.0.0.1' : '0.0.0.0'),
    port,
    model: {
      apiKey,
      baseUrl,
      name: env.SHIPMATE_MODEL || file.model.name || 'gpt-4.1',
      configured: Boolean(apiKey || baseUrl),
      prices: file.model.prices,
      settings: modelSettings(file),
      review: file.review
        ? {
            name: file.review.model,
            baseUrl: file.review.baseUrl ?? baseUrl,
            // The main key goes only to the main server: another server gets its own key or none.
            apiKey:
              !file.review.baseUrl || file.review.baseUrl === baseUrl
                ? apiKey
                : env.SHIPMATE_REVIEW_API_KEY || undefined,
          }
        : undefined,
    },
    github: forgeCredentials(env, 'github'),
    gitlab: forgeCredentials(env, 'gitlab'),
    gitea: forgeCredentials(env, 'gitea'),
    bitbucket: forgeCredentials(env, 'bitbucket'),
    dataDir: resolve(env.SHIPMATE_DATA_DIR || './.shipmate'),
    configFile,
    repos,
    access: file.access,
    digests: file.digests,
    channels: file.channels,
    limits: file.limits,
    git: file.git,
    pullRequests: file.pullRequests,
    concurrency,
    sandbox: sandbox as 'on' | 'off',
    drainSeconds,
    database: { url: databaseUrl, leaseSeconds },
    // The playground prints one line (its URL); logs stay quiet unless asked for.
    logLevel: env.LOG_LEVEL || (slack.mode === 'playground' ? 'warn' : 'info'),
    secrets: [
      slack.botToken,
      slack.signingSecret,
      slack.appToken,
      apiKey,
      ...Object.values(forgeEnv).map((names) => env[names.token]),
      env.SHIPMATE_REVIEW_API_KEY,
      databasePassword(databaseUrl),
    ].filter((value): value is string => typeof value === 'string' && value.length >= 8),
  };
  return deepFreeze(config);
}

/** The password in a PostgreSQL URL, so no log line or message ever shows it. */
function databasePassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function readSlack(env: Env, problems: string[]): Config['slack'] {
  const botToken = env.SLACK_BOT_TOKEN || undefined;
  const signingSecret = env.SLACK_SIGNING_SECRET || undefined;
  const appToken = env.SLACK_APP_TOKEN || undefined;
  const apiUrl = env.SLACK_API_URL || undefined;
  const forcePlayground = env.SHIPMATE_PLAYGROUND === '1' || env.SHIPMATE_PLAYGROUND === 'true';
  if (forcePlayground || (!botToken && !signingSecret && !appToken)) {
    return {
      mode: 'playground',
      botToken: 'xoxb-playground',
      signingSecret: undefined,
      appToken: undefined,
      apiUrl,
    };
  }
  if (!botToken) {
    problems.push(
      'SLACK_BOT_TOKEN is not set: copy the "Bot User OAuth Token" (xoxb-…) from your Slack app\'s OAuth & Permissions page.',
    );
  }
  if (appToken && !appToken.startsWith('xapp-')) {
    problems.push(
      'SLACK_APP_TOKEN must be an app-level token starting with xapp- (Basic Information → App-Level Tokens).',
    );
  }
  if (!appToken && !signingSecret) {
    problems.push(
      'Set SLACK_SIGNING_SECRET (HTTP mode, from Basic Information → App Credentials) or SLACK_APP_TOKEN (Socket Mode).',
    );
  }
  return {
    mode: appToken ? 'socket' : 'http',
    botToken: botToken ?? '',
    signingSecret,
    appToken,
    apiUrl,
  };
}

function readConfigFile(path: string, problems: string[]): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(
      `SHIPMATE_CONFIG: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
    return fileSchema.parse({});
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    problems.push(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return fileSchema.parse({});
  }
  const parsed = fileSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const key = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    problems.push(`${path}: ${key}: ${issue.message}`);
  }
  return fileSchema.parse({});
}

function repoFromEnv(value: string): RepoConfig {
  const isUrl = /^[a-z+]+:\/\//i.test(value) || /^[\w.-]+@[\w.-]+:/.test(value);
  const url = isUrl ? value : resolve(value);
  const name =
    basename(url.replace(/\/+$/, ''))
      .replace(/\.git$/, '')
      .replace(/[^a-z0-9._-]/gi, '-') || 'repo';
  return {
    name,
    url,
    defaultBranch: undefined,
    channels: [],
    checks: [],
    allowedDomains: [],
    allowLifecycleScripts: false,
    allowWorkflowChanges: false,
  };
}

function readInteger(
  env: Env,
  name: string,
  fallback: number,
  problems: string[],
  range: { min: number; max: number },
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    problems.push(`${name} must be a whole number from ${range.min} to ${range.max} (got "${raw}").`);
    return fallback;
  }
  return value;
}

/** `models:` with `null` temperature meaning "send none", and `model.prices` as each model's price. */
function modelSettings(file: FileConfig): Record<string, ModelSettings> {
  const settings: Record<string, ModelSettings> = {};
  for (const [name, price] of Object.entries(file.model.prices)) settings[name] = { price };
  for (const [name, model] of Object.entries(file.models)) settings[name] = { ...settings[name], ...model };
  return settings;
}

/** 127.0.0.0/8, ::1 and localhost: this machine (a stand-in, a tunnel). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * A forge API base over plain http to another machine: the token (and every answer) would
 * travel unencrypted, so start-up stops. http to this machine (a stand-in, a tunnel) is fine.
 */
function plainHttpProblem(name: string, value: string | undefined): string | undefined {
  if (!value || !/^http:\/\//i.test(value)) return undefined;
  let host: string;
  try {
    host = new URL(value).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return `${name} is not a valid URL.`;
  }
  if (isLoopbackHost(host)) return undefined;
  return `${name} uses plain http to ${host}: the token would travel unencrypted; use https.`;
}

function forgeCredentials(env: Env, kind: keyof typeof forgeEnv): ForgeCredentials {
  return { token: env[forgeEnv[kind].token] || undefined, apiUrl: env[forgeEnv[kind].apiUrl] || undefined };
}

/**
 * A repo that names a forge needs that forge's token: without it no push and no request can
 * work, so start-up stops with one line per variable (the same for all four forges).
 */
function missingForgeTokens(env: Env, repos: readonly RepoConfig[], file: string | undefined): string[] {
  return forgeKeys.flatMap((kind) => {
    const names = forgeEnv[kind];
    const using = repos.filter((repo) => repo[kind] !== undefined).map((repo) => repo.name);
    if (using.length === 0 || env[names.token]) return [];
    return [
      `${names.token} is not set, but ${using.join(', ')} ${using.length === 1 ? 'names' : 'name'} a \`${kind}:\` repository${where(file)}: set ${names.token} to a token with ${names.scope}.`,
    ];
  });
}

function where(file: string | undefined): string {
  return file ? ` in ${file}` : '';
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Write actions (push, PR, shared scripts, grants) need a listed writer when the list is set. */
export function isWriter(config: Pick<Config, 'access'>, userId: string): boolean {
  return config.access.writers.length === 0 || config.access.writers.includes(userId);
}
