import { type Config, isWriter } from '../config.js';
import type { CommandOutcome, CommandRoute } from '../jobs/command-job.js';
import { replaceMentions } from '../jobs/mentions.js';
import type { JobContext, ThreadHistory } from '../jobs/ports.js';
import type { WorkspaceProvider } from '../jobs/tools.js';
import { parseArguments } from './arguments.js';
import { describeImport, importScripts } from './export-import.js';
import type { ResolveRepo, ScriptProposer } from './ports.js';
import { capOutput, codeBlock, combinedOutput, describeExit, formatDuration } from './run-script.js';
import { renderScriptFile } from './script-file.js';
import type { ScriptLibrary } from './script-library.js';
import { usageLine } from './script-rules.js';
import { allRepos, type ScriptRecord } from './script-store.js';

export interface ScriptCommandDeps {
  library: ScriptLibrary;
  config: Pick<Config, 'access' | 'limits'>;
  workspaces: WorkspaceProvider;
  history: Pick<ThreadHistory, 'displayName'>;
  resolveRepo: ResolveRepo;
  proposer?: ScriptProposer | undefined;
  clock: () => number;
}

export interface ScriptCommandRoutes {
  scripts: CommandRoute<'scripts'>;
  script: CommandRoute<'script'>;
  run: CommandRoute<'run'>;
  'delete-script': CommandRoute<'delete-script'>;
  'propose-script': CommandRoute<'propose-script'>;
}

/** Output shown inline in the reply; longer output is attached as a file as well. */
const inlineOutputChars = 3_000;
const listLimit = 30;

export function createScriptCommands(deps: ScriptCommandDeps): ScriptCommandRoutes {
  return {
    scripts: async (command, context) => {
      const repo = await repoOf(deps, context);
      if (command.query.toLowerCase() === 'import') return importFromRepo(deps, context);
      const found = command.query
        ? await deps.library.search(command.query, repo?.name, listLimit)
        : (await deps.library.store.list(repo?.name)).slice(0, listLimit);
      if (found.length === 0) {
        return done(
          command.query
            ? `No team script matches “${command.query}”. Say \`scripts\` for the whole library.`
            : 'The team library is empty. Ask me for a script and I can save it, or say “save that as a script” after I wrote one.',
        );
      }
      const title = command.query ? `Team scripts matching “${command.query}”` : 'Team scripts';
      const lines = await Promise.all(found.map((script) => listLine(deps, script)));
      return done(
        `**${title}**\n${lines.join('\n')}\n\nRun one with \`run <name> key=value\`; \`script <name>\` shows its source.`,
      );
    },

    script: async (command, context) => {
      const script = await deps.library.find(command.script, (await repoOf(deps, context))?.name);
      if (!script) return done(notFound(command.script));
      return done(await describeScript(deps, script));
    },

    run: (command, context) => runCommand(deps, command, context),

    'delete-script': async (command, context) => {
      const result = await deps.library.remove(
        command.script,
        (await repoOf(deps, context))?.name,
        context.job.userId,
      );
      if (result.kind === 'missing') return done(notFound(command.script));
      if (result.kind === 'forbidden') {
        const author = await deps.history.displayName(result.author);
        return done(
          `Only ${author} (who saved \`${command.script}\`) or a writer can delete it.`,
          'Not deleted.',
        );
      }
      return done(`Deleted \`${command.script}\`. Its earlier versions are gone with it.`, 'Script deleted.');
    },

    'propose-script': async (command, context) => {
      const repo = await repoOf(deps, context);
      if (!repo) return done(noRepoMessage);
      const script = await deps.library.find(command.script, repo.name);
      if (!script) return done(notFound(command.script));
      if (!deps.proposer)
        return done(
          'Proposing a script as a pull request needs a forge (a GitHub token and `github: owner/name` for the repository); none is configured.',
        );
      if (!isWriter(deps.config, context.job.userId))
        return done(
          'Opening pull requests is limited to the writers listed in the shipmate configuration.',
          'Not proposed.',
        );
      const reply = await deps.proposer.propose(
        repo,
        { ...script, file: renderScriptFile(script) },
        context.job.userId,
        {
          channel: context.job.channel,
          threadTs: context.job.threadTs,
        },
      );
      return { reply, statusText: 'Done.' };
    },
  };
}

async function runCommand(
  deps: ScriptCommandDeps,
  command: { script: string; args: string },
  context: JobContext<'command'>,
): Promise<CommandOutcome> {
  const repo = await repoOf(deps, context);
  if (!repo) return done(noRepoMessage);
  const script = await deps.library.find(command.script, repo.name);
  if (!script) return done(notFound(command.script));
  const parsed = parseArguments(command.args);
  if (!parsed.ok) return done(`${parsed.problem}\n${usageLine(script.name, script.parameters)}`, 'Not run.');
  context.progress(`Running \`${script.name}\`…`);
  const workspace = await deps.workspaces.acquire(repo, `${context.job.channel}-${context.job.threadTs}`);
  const timeoutMs = deps.config.limits.commandTimeoutSeconds * 1000;
  const outcome = await deps.library.run(script, parsed.values, {
    workspace,
    userId: context.job.userId,
    timeoutMs,
    signal: context.signal,
  });
  if (outcome.kind === 'usage') return done(outcome.usage, 'Not run.');
  const { result } = outcome;
  const output = combinedOutput(result);
  const shown = capOutput(output, inlineOutputChars);
  const notes = [
    result.limitNote,
    result.sandboxViolation ? `Blocked by the sandbox: ${result.sandboxViolation}` : undefined,
  ].filter(Boolean);
  const markdown = [
    `\`${script.name}\` ${describeExit(result, timeoutMs)} in ${formatDuration(result.durationMs)}.`,
    ...notes,
    output ? codeBlock(shown.text) : '_No output._',
  ].join('\n');
  return {
    reply: {
      markdown,
      ...(shown.cut
        ? {
            files: [
              { filename: `${script.name}-output.txt`, title: `${script.name} output`, content: output },
            ],
          }
        : {}),
    },
    result: { script: script.name, exitCode: result.exitCode, durationMs: result.durationMs },
    statusText:
      result.exitCode === 0
        ? `Ran \`${script.name}\`.`
        : `\`${script.name}\` ${describeExit(result, timeoutMs)}.`,
  };
}

async function importFromRepo(
  deps: ScriptCommandDeps,
  context: JobContext<'command'>,
): Promise<CommandOutcome> {
  const repo = await repoOf(deps, context);
  if (!repo) return done(noRepoMessage);
  if (!isWriter(deps.config, context.job.userId))
    return done(
      'Importing team scripts is limited to the writers listed in the shipmate configuration.',
      'Not imported.',
    );
  const workspace = await deps.workspaces.acquire(repo, `${context.job.channel}-${context.job.threadTs}`);
  const report = await importScripts(deps.library.store, workspace, context.job.userId, { repo: repo.name });
  return done(
    `Imported from \`.shipmate/scripts/\` in *${repo.name}*:\n${describeImport(report)}`,
    'Scripts imported.',
  );
}

async function listLine(deps: ScriptCommandDeps, script: ScriptRecord): Promise<string> {
  const author = await deps.history.displayName(script.author);
  const runs = `${script.runCount} ${script.runCount === 1 ? 'run' : 'runs'}`;
  const last =
    script.lastExitStatus === undefined
      ? ''
      : ` · last ${script.lastExitStatus === 0 ? 'succeeded' : `failed (exit ${script.lastExitStatus})`} ${ago(deps.clock() - (script.lastRunAt ?? 0))}`;
  const scope = script.scope === allRepos ? ' · all repos' : '';
  return `- **${script.name}**: ${inlineText(script.description)} · by ${author} · ${runs}${last}${scope}`;
}

async function describeScript(deps: ScriptCommandDeps, script: ScriptRecord): Promise<string> {
  const names = new Map<string, Promise<string>>();
  const name = (user: string) => {
    const known = names.get(user) ?? deps.history.displayName(user);
    names.set(user, known);
    return known;
  };
  const history = await deps.library.store.versions(script.id);
  const source = script.sourcePermalink ? ` ([source thread](${script.sourcePermalink}))` : '';
  const lines = [
    `**${script.name}** (${script.interpreter}, ${script.scope === allRepos ? 'all repositories' : script.scope}): ${inlineText(script.description)}${source}`,
    usageLine(script.name, script.parameters),
    codeBlock(script.body.replace(/\n$/, ''), languageOf(script.interpreter)),
    '**History**',
    `- v${script.version} (current): ${await name(script.updatedBy)}, ${ago(deps.clock() - script.updatedAt)}`,
    ...(await Promise.all(
      history
        .slice(0, 10)
        .map(
          async (version) =>
            `- v${version.version}: ${await name(version.savedBy)}, ${ago(deps.clock() - version.savedAt)}`,
        ),
    )),
    `Runs: ${script.runCount}. Saved first by ${await name(script.author)}.`,
  ];
  return lines.join('\n');
}

function languageOf(interpreter: ScriptRecord['interpreter']): string {
  return interpreter === 'node' ? 'js' : interpreter === 'python3' ? 'python' : 'bash';
}

function ago(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

async function repoOf(deps: ScriptCommandDeps, context: JobContext<'command'>) {
  return await deps.resolveRepo(context.job.channel, context.job.threadTs);
}

function notFound(name: string): string {
  return `There is no team script called \`${name}\` here. Say \`scripts\` to list them or \`scripts <words>\` to search.`;
}

const noRepoMessage =
  'This channel is not mapped to one repository, so I do not know where to run it. Mention me with `in <repo>: …` first in this thread, or map the channel in the config.';

/** People's text in a reply: no mention, and no angle-bracket markup that could ping a channel. */
export function inlineText(text: string): string {
  return replaceMentions(text, (_, label) => `@${label ?? 'someone'}`).replace(/<([!@#])/g, '‹$1');
}

function done(markdown: string, statusText = 'Done.'): CommandOutcome {
  return { reply: { markdown }, statusText };
}
