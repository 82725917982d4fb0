import type { AgentSessionView } from '../../src/slack/emulator/agent-sessions.js';
import type { ShareFilesInput, SlackFileObject } from '../../src/slack/emulator/files.js';
import {
  type EmulatedMessage,
  type RecordedCall,
  SlackEmulator,
  type SlackEmulatorOptions,
  type UserMessageResult,
} from '../../src/slack/emulator/slack-emulator.js';
import type { StreamView } from '../../src/slack/emulator/streams.js';

/**
 * The Slack emulator for tests: the core from `src/slack/emulator/` plus conveniences that
 * wait on its state with a deadline (never a fixed sleep).
 */

export * from '../../src/slack/emulator/agent-sessions.js';
export * from '../../src/slack/emulator/files.js';
export * from '../../src/slack/emulator/signing.js';
export * from '../../src/slack/emulator/slack-emulator.js';
export * from '../../src/slack/emulator/streams.js';

export const TEST_BOT_TOKEN = 'xoxb-emulated-bot-token';
export const TEST_APP_TOKEN = 'xapp-1-emulated-app-token';
export const TEST_SIGNING_SECRET = 'emulated-signing-secret';

/** A started emulator with the test tokens unless overridden. */
export async function startSlackEmulator(
  options: Partial<SlackEmulatorOptions> = {},
): Promise<SlackEmulator> {
  const emulator = new SlackEmulator({
    botToken: TEST_BOT_TOKEN,
    signingSecret: TEST_SIGNING_SECRET,
    ...options,
  });
  await emulator.start();
  return emulator;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Poll `probe` until it returns something other than `undefined`/`false`/`null`; reject after
 * the deadline with `describe()` (what was seen) in the message.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions & { description?: string; describe?: () => string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      const seen = options.describe ? `; seen: ${options.describe()}` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.description ?? 'a condition'}${seen}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}

/** The first (or `count`-th) call to `method` matching `predicate`. */
export async function waitForCall(
  emulator: SlackEmulator,
  method: string,
  options: WaitOptions & { predicate?: (args: Record<string, unknown>) => boolean; count?: number } = {},
): Promise<RecordedCall> {
  const count = options.count ?? 1;
  return waitFor(
    () => {
      const matching = emulator.callsTo(method).filter((call) => options.predicate?.(call.args) ?? true);
      return matching.length >= count ? matching[count - 1] : undefined;
    },
    {
      ...options,
      description: `${count} call(s) to ${method}`,
      describe: () => emulator.calls.map((call) => call.method).join(', ') || 'no calls',
    },
  );
}

/** The first bot message in a thread matching `predicate` (any bot message by default). */
export async function waitForBotReply(
  emulator: SlackEmulator,
  channel: string,
  threadTs: string,
  options: WaitOptions & { predicate?: (message: EmulatedMessage) => boolean } = {},
): Promise<EmulatedMessage> {
  return waitFor(
    () =>
      emulator.botMessagesInThread(channel, threadTs).find((message) => options.predicate?.(message) ?? true),
    {
      ...options,
      description: `a bot reply in ${channel} thread ${threadTs}`,
      describe: () =>
        JSON.stringify(emulator.botMessagesInThread(channel, threadTs).map((message) => message.text)) ||
        '[]',
    },
  );
}

/** The assistant status of a thread once it satisfies `predicate` (any non-empty status by default). */
export async function waitForAssistantStatus(
  emulator: SlackEmulator,
  channel: string,
  threadTs: string,
  options: WaitOptions & { predicate?: (status: string) => boolean } = {},
): Promise<string> {
  return waitFor(
    () => {
      const status = emulator.assistantStatus(channel, threadTs);
      return status !== undefined && (options.predicate?.(status) ?? true) ? status : undefined;
    },
    { ...options, description: `an assistant status in ${channel} thread ${threadTs}` },
  );
}

/** A 1×1 PNG: a stand-in for a pasted screenshot. */
export const TEST_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * A user shares files in a channel or thread (`message` / `file_share`); with `mention` the
 * text starts with the bot's mention, so `app_mention` carries the files too.
 */
export async function shareFiles(
  emulator: SlackEmulator,
  input: ShareFilesInput & { mention?: boolean },
): Promise<UserMessageResult & { files: SlackFileObject[] }> {
  const { mention, ...share } = input;
  const text = mention ? `<@${emulator.botUserId}> ${share.text ?? ''}`.trim() : share.text;
  return emulator.shareUserFiles({ ...share, ...(text === undefined ? {} : { text }) });
}

/** A thread's streamed bot message once it satisfies `predicate` (any stream by default). */
export async function waitForStream(
  emulator: SlackEmulator,
  channel: string,
  threadTs: string,
  options: WaitOptions & { predicate?: (stream: StreamView) => boolean } = {},
): Promise<StreamView> {
  const streams = () => emulator.streamsIn(channel).filter((stream) => stream.threadTs === threadTs);
  return waitFor(() => streams().find((stream) => options.predicate?.(stream) ?? true), {
    ...options,
    description: `a stream in ${channel} thread ${threadTs}`,
    describe: () => JSON.stringify(streams().map(({ state, text, tasks }) => ({ state, text, tasks }))),
  });
}

/** A thread's agent session once it satisfies `predicate` (any session by default). */
export async function waitForAgentSession(
  emulator: SlackEmulator,
  channel: string,
  threadTs: string,
  options: WaitOptions & { predicate?: (session: AgentSessionView) => boolean } = {},
): Promise<AgentSessionView> {
  return waitFor(
    () => {
      const session = emulator.agentSession(channel, threadTs);
      return session && (options.predicate?.(session) ?? true) ? session : undefined;
    },
    {
      ...options,
      description: `an agent session in ${channel} thread ${threadTs}`,
      describe: () => JSON.stringify(emulator.agentSession(channel, threadTs) ?? null),
    },
  );
}
