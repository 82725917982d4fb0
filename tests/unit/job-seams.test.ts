import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { modeSwitchAction } from '../../src/agent/agent-actions.js';
import { ProviderError, WorkspaceError } from '../../src/errors.js';
import { changeActions } from '../../src/forge/forge-room.js';
import { createActionHandler, createViewHandler } from '../../src/handlers/action-handler.js';
import { createMessageHandler } from '../../src/handlers/message-handler.js';
import type { IncomingMessage } from '../../src/handlers/types.js';
import {
  defineAction,
  type IncomingAction,
  maxButtonValueChars,
  recordIdCodec,
  unreadableButton,
  ValueTooLargeError,
} from '../../src/jobs/actions.js';
import { type JobKind, type StoredJob, unreadableJobMessage } from '../../src/jobs/job-kinds.js';
import { JobQueue } from '../../src/jobs/job-queue.js';
import type { JobHandler, JobHandlers, JobOutcome, Notifier, Reply } from '../../src/jobs/ports.js';
import { ThreadStore } from '../../src/jobs/thread-store.js';
import { cancelJobAction, describeCancel, retryJobAction, WorkerPool } from '../../src/jobs/worker-pool.js';
import { createLogger } from '../../src/log.js';
import { permissionActions } from '../../src/permissions/network-access.js';
import { saveOpenAction, saveView, updateConfirmAction } from '../../src/scripts/save-flow.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { waitFor } from '../support/app-process.js';

const log = createLogger({ level: 'silent' });
const where = { channel: 'C0SHOP', threadTs: '1.0', messageTs: '1.0', userId: 'U0ASK' };

function click(actionId: string, value: string): IncomingAction {
  return {
    actionId,
    value,
    user: 'U0ALICE',
    channel: 'C0SHOP',
    messageTs: '1.1',
    threadTs: '1.0',
    triggerId: undefined,
  };
}

describe('button codecs', () => {
  const jobId = 'jm1abcd0123456789';

  it('round-trip every button, in the value format buttons already posted in Slack use', () => {
    expect(cancelJobAction.button(jobId, 'Cancel', 'danger')).toEqual({
      actionId: 'job_cancel',
      label: 'Cancel',
      value: jobId,
      style: 'danger',
    });
    expect(retryJobAction.encode(jobId)).toBe(jobId);
    expect(modeSwitchAction.encode({ jobId, mode: 'change' })).toBe(`${jobId}:change`);
    for (const action of Object.values(permissionActions)) {
      expect(action.encode({ jobId, domain: '127.0.0.1:8080' })).toBe(`${jobId}|127.0.0.1:8080`);
      expect(action.decode(`${jobId}|[::1]:443`)).toEqual({
        ok: true,
        value: { jobId, domain: '[::1]:443' },
      });
    }
    for (const action of [...Object.values(changeActions), saveOpenAction, updateConfirmAction]) {
      expect(action.decode(action.encode(jobId))).toEqual({ ok: true, value: jobId });
    }
    expect(modeSwitchAction.decode(`${jobId}:question`)).toEqual({
      ok: true,
      value: { jobId, mode: 'question' },
    });
    const meta = { draftId: crypto.randomUUID(), channel: 'C0SHOP', threadTs: '1.0' };
    const form = saveView.form(meta);
    expect(form.callbackId).toBe('script_save');
    expect(saveView.decode(form.privateMetadata)).toEqual({ ok: true, value: meta });
  });

  it('refuse to draw a value past Slack’s limits, or one whose click could not be read back', () => {
    const note = defineAction({ id: 'test_note', schema: z.object({ text: z.string() }) });
    expect(note.encode({ text: 'x'.repeat(maxButtonValueChars - 20) }).length).toBeLessThanOrEqual(2000);
    expect(() => note.button({ text: 'x'.repeat(maxButtonValueChars) }, 'Note')).toThrow(ValueTooLargeError);
    const long = { draftId: 'd'.repeat(3000), channel: 'C0SHOP', threadTs: '1.0' };
    expect(() => saveView.form(long)).toThrow(ValueTooLargeError);
    expect(() => cancelJobAction.encode('a'.repeat(2001))).toThrow(ValueTooLargeError);
    // A separator inside an id would make the click mean something else.
    expect(() => permissionActions.once.encode({ jobId: 'j1|evil', domain: 'example.com' })).toThrow();
    expect(() => modeSwitchAction.encode({ jobId: 'j1:x', mode: 'change' })).toThrow();
  });

  it.each([
    ['job_cancel', cancelJobAction, ['', 'j1 ', 'j1|x', '../etc/passwd', 'a'.repeat(3000)]],
    ['mode_switch', modeSwitchAction, ['j1', 'j1:delete', 'j1:change:extra', ':change', 'j1:']],
    ['perm_once', permissionActions.once, ['j1', 'j1|', '|example.com', 'j1|a b', 'j1|x|y', 'j1|$(id)']],
    ['script_save', saveView, ['{not json', '[]', '{"draftId":""}', 'null', '{"__proto__":{"x":1}}']],
  ] as const)('%s decodes a tampered or garbled value to a plain refusal', (_id, action, values) => {
    for (const raw of values) {
      const decoded = action.decode(raw);
      expect(decoded, raw).toMatchObject({ ok: false });
      expect(decoded.ok ? '' : decoded.refusal).toMatch(/^I could not read that (button|form)/);
    }
  });

  it('a route with a garbled value refuses without running, and the router says why in the thread', async () => {
    const run = vi.fn(async () => {});
    const probe = defineAction({ id: 'test_probe', ...recordIdCodec });
    const route = probe.route(run);
    expect(await route.handle(click('test_probe', 'j1|x'))).toEqual({ refusal: unreadableButton });
    expect(await route.handle(click('test_probe', 'j1'))).toBeUndefined();
    expect(run).toHaveBeenCalledTimes(1);
    expect(run).toHaveBeenCalledWith('j1', expect.objectContaining({ value: 'j1' }));

    const { queue, notifier, replies } = await setUp();
    const pool = { cancel: vi.fn(), submit: vi.fn() } as unknown as WorkerPool;
    const onAction = createActionHandler({
      queue,
      pool,
      notifier,
      log,
      routes: { test_probe: route.handle },
    });
    onAction(click('job_cancel', 'not an id'));
    await waitFor(() => replies.length === 1 || undefined, 2000, 'the refusal');
    expect(replies[0]?.markdown).toBe(unreadableButton);
    expect(pool.cancel).not.toHaveBeenCalled();
  });

  it('a form with unreadable metadata is logged, not run', async () => {
    const run = vi.fn(async () => {});
    const warn = vi.spyOn(log, 'warn');
    const onView = createViewHandler({ routes: { script_save: saveView.route(run).handle }, log });
    onView({ callbackId: 'script_save', user: 'U0ALICE', privateMetadata: '{not json', values: {} });
    await waitFor(() => warn.mock.calls.length > 0 || undefined, 2000, 'the warning');
    expect(run).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});

describe('cancel outcomes', () => {
  it('are turned into sentences in one place', () => {
    expect(describeCancel('cancelled')).toBe('Cancelled.');
    expect(describeCancel('cancel-requested')).toBe('Stopping…');
    expect(describeCancel('already-finished')).toBe('That job already finished.');
    expect(describeCancel('not-found')).toBe('I could not find that job.');
  });
});

let db: Database | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

async function setUp() {
  db = await openDatabase(':memory:');
  const queue = new JobQueue(db);
  const replies: Reply[] = [];
  const notifier: Notifier = {
    acknowledge: async () => {},
    postStatus: async () => 'status.1',
    updateStatus: async () => {},
    reply: async (_thread, reply) => {
      replies.push(reply);
      return undefined;
    },
    endStatus: async (_thread, _ts, ending) => {
      if (ending.reply) replies.push(ending.reply);
      return false;
    },
    setSession: async () => {},
  };
  const corrupt = (id: string, column: 'payload' | 'result' | 'kind', value: string) =>
    db!.run(`UPDATE jobs SET ${column} = ? WHERE id = ?`, value, id);
  return { db, queue, notifier, replies, corrupt };
}

describe('jobs parsed on read', () => {
  it('reads each kind back with its own payload and result', async () => {
    const { queue } = await setUp();
    const agent = await queue.enqueue({
      kind: 'agent',
      ...where,
      payload: { text: 'why?', mode: 'question' },
    });
    const command = await queue.enqueue({
      kind: 'command',
      ...where,
      messageTs: '1.2',
      payload: { text: 'run count dir=src', command: { name: 'run', script: 'count', args: 'dir=src' } },
    });
    await queue.updatePayload(agent, { ...agent.payload, asked: ['registry.npmjs.org'] });
    const usage = { repo: 'shop', steps: 3, promptTokens: 100, completionTokens: 20, cost: null };
    await queue.complete(agent, { mode: 'plan', plan: '1. Split', planFor: 'refactor it', ...usage });
    await queue.complete(command, { script: 'count', exitCode: 0, durationMs: 12 });

    const readAgent = await queue.get(agent.id, 'agent');
    expect(readAgent?.payload).toEqual({ text: 'why?', mode: 'question', asked: ['registry.npmjs.org'] });
    expect(readAgent?.result).toEqual({ mode: 'plan', plan: '1. Split', planFor: 'refactor it', ...usage });
    const readCommand = await queue.get(command.id, 'command');
    expect(readCommand?.payload.command).toEqual({ name: 'run', script: 'count', args: 'dir=src' });
    expect(readCommand?.result).toEqual({ script: 'count', exitCode: 0, durationMs: 12 });
    expect(await queue.get(agent.id, 'command')).toBeUndefined();
  });

  it('reads a result stored as {} by earlier versions as no result', async () => {
    const { queue, corrupt } = await setUp();
    const job = await queue.enqueue({ kind: 'agent', ...where, payload: { text: 'hi' } });
    await queue.complete(job);
    expect((await queue.get(job.id, 'agent'))?.result).toBeUndefined();
    await corrupt(job.id, 'result', '{}');
    expect((await queue.get(job.id, 'agent'))?.result).toBeUndefined();
  });

  it.each([
    ['payload', 'not json at all', /payload: not JSON/],
    ['payload', '{"text": 42}', /payload: text: /],
    ['payload', '[]', /payload: /],
    ['result', '{"mode": "teleport"}', /result: /],
    ['kind', 'review', /unknown job kind "review"/],
  ] as const)('a row whose %s is %s becomes an unreadable job', async (column, value, problem) => {
    const { queue, corrupt } = await setUp();
    const job = await queue.enqueue({ kind: 'agent', ...where, payload: { text: 'hi' } });
    await corrupt(job.id, column, value);
    const read = await queue.get(job.id);
    expect(read).toMatchObject({ id: job.id, kind: 'unreadable', channel: 'C0SHOP', status: 'queued' });
    expect(read?.kind === 'unreadable' ? read.problem : '').toMatch(problem);
    expect(await queue.get(job.id, 'agent')).toBeUndefined();
    expect(await queue.inThread('C0SHOP', '1.0')).toHaveLength(1);
  });

  it('refuses to store a payload or result that does not fit the kind', async () => {
    const { queue } = await setUp();
    await expect(
      queue.enqueue({ kind: 'command', ...where, payload: { command: { name: 'dance' } } } as never),
    ).rejects.toThrow(/refusing to store a command payload/);
    const job = await queue.enqueue({ kind: 'agent', ...where, payload: { text: 'hi' } });
    await expect(queue.complete(job, { mode: 'question' } as never)).rejects.toThrow(
      /refusing to store an? agent result/,
    );
  });

  it('fails an unreadable job with one plain sentence, without running a handler or offering Retry', async () => {
    const { queue, notifier, replies, corrupt } = await setUp();
    const handler = vi.fn(async () => ({}));
    const handlers: JobHandlers = { agent: handler, command: handler };
    const finished: StoredJob[] = [];
    const pool = new WorkerPool({
      queue,
      notifier,
      handlers,
      concurrency: 1,
      log,
      // Nothing here announces the jobs it enqueues: no run waits for an announcement.
      announceWaitMs: 0,
      onFinished: (job) => finished.push(job),
    });
    const job = await queue.enqueue({ kind: 'agent', ...where, payload: { text: 'hi' } });
    await corrupt(job.id, 'payload', '{"text": ["not", "text"]}');
    await pool.start();
    await waitFor(() => finished.length === 1 || undefined, 5000, 'the job to finish');
    await pool.drain(0);
    expect(handler).not.toHaveBeenCalled();
    expect(replies).toEqual([{ markdown: unreadableJobMessage }]);
    expect(await queue.get(job.id)).toMatchObject({ status: 'failed', errorCode: 'job-unreadable' });

    // A Retry button posted before the upgrade gets the same sentence, not a crash.
    const onAction = createActionHandler({ queue, pool, notifier, log });
    onAction(click('job_retry', job.id));
    await waitFor(() => replies.length === 2 || undefined, 2000, 'the retry answer');
    expect(replies[1]).toEqual({ markdown: unreadableJobMessage });
  });
});

describe('a failed job', () => {
  const fail = async (error: unknown) => {
    const { queue, notifier, replies } = await setUp();
    const handler = vi.fn(async () => {
      throw error;
    });
    const lines: Array<{ level: string; code?: string }> = [];
    const spy = {
      child: () => spy,
      info: (fields: { code?: string }) => lines.push({ level: 'info', ...fields }),
      warn: (fields: { code?: string }) => lines.push({ level: 'warn', ...fields }),
      error: (fields: { code?: string }) => lines.push({ level: 'error', ...fields }),
      debug: () => {},
    } as unknown as typeof log;
    const finished: StoredJob[] = [];
    const pool = new WorkerPool({
      queue,
      notifier,
      concurrency: 1,
      log: spy,
      announceWaitMs: 0,
      onFinished: (job) => finished.push(job),
    });
    const job = await queue.enqueue({ kind: 'agent', ...where, payload: { text: 'hi' } });
    await pool.start({ agent: handler, command: handler });
    await waitFor(() => finished.length === 1 || undefined, 5000, 'the job to finish');
    await pool.drain(0);
    return {
      reply: replies.at(-1),
      failed: lines.find((line) => line.code),
      stored: await queue.get(job.id),
    };
  };

  it('offers Retry when the code says a later try may work, and logs a warning', async () => {
    const { reply, failed, stored } = await fail(
      new ProviderError('model-unavailable', 'HTTP 503', { userMessage: 'The model service is down.' }),
    );
    expect(reply?.markdown).toMatch(/^The model service is down\.\n\nTo try again, press \*\*Retry\*\*/);
    expect(reply?.actions?.map((action) => action.actionId)).toEqual(['job_retry']);
    expect(failed).toMatchObject({ level: 'warn', code: 'model-unavailable' });
    expect(stored).toMatchObject({ status: 'failed', errorCode: 'model-unavailable' });
  });

  it('offers no Retry for what the asker must change, and logs it as routine', async () => {
    const { reply, failed } = await fail(
      new WorkspaceError('change-refused', 'gitlink', { userMessage: 'I cannot commit a submodule.' }),
    );
    expect(reply?.markdown).toMatch(/^I cannot commit a submodule\.\n\nRetrying the same request would fail/);
    expect(reply?.actions ?? []).toEqual([]);
    expect(failed).toMatchObject({ level: 'info', code: 'change-refused' });
  });

  it("treats an unexpected throw as shipmate's own failure: an error log, a reference, and Retry", async () => {
    const { reply, failed } = await fail(new TypeError('undefined is not a function'));
    expect(reply?.markdown).toMatch(/^Something went wrong on my side/);
    expect(reply?.markdown).not.toMatch(/undefined is not a function/);
    expect(reply?.actions?.map((action) => action.actionId)).toEqual(['job_retry']);
    expect(failed).toMatchObject({ level: 'warn', code: 'internal-error' });
  });

  it('names a maintainer when neither the asker nor a retry can fix it', async () => {
    const { reply, failed } = await fail(
      new WorkspaceError('sandbox-unavailable', 'no bwrap', { userMessage: 'The sandbox is not installed.' }),
    );
    expect(reply?.markdown).toMatch(/Retrying will not help until a maintainer fixes this/);
    expect(reply?.actions ?? []).toEqual([]);
    expect(failed).toMatchObject({ level: 'error', code: 'sandbox-unavailable' });
  });
});

describe('a Slack message', () => {
  const mention: IncomingMessage = {
    channel: 'C0SHOP',
    ts: '5.0',
    threadTs: undefined,
    user: 'U0ASK',
    text: 'why does checkout double-charge shipping?',
    channelType: 'channel',
    mentioned: true,
  };

  const handlerOn = async () => {
    const { db, queue, notifier } = await setUp();
    const submitted: StoredJob[] = [];
    const pool = { submit: (job: StoredJob) => submitted.push(job) } as unknown as WorkerPool;
    const errors: string[] = [];
    const spy = {
      child: () => spy,
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (_fields: unknown, message: string) => errors.push(message),
    } as unknown as typeof log;
    const onMessage = createMessageHandler({
      queue,
      pool,
      threads: new ThreadStore(db),
      notifier,
      log: spy,
      botUserId: () => 'U0BOT',
    });
    return { db, queue, onMessage, submitted, errors };
  };

  it('is stored before the handler settles (the ack), and once however often Slack delivers it', async () => {
    const { queue, onMessage, submitted } = await handlerOn();
    await onMessage(mention);
    expect(submitted.map((job) => job.messageTs)).toEqual(['5.0']);
    expect(await queue.inThread('C0SHOP', '5.0')).toMatchObject([{ status: 'queued', kind: 'agent' }]);
    await onMessage(mention);
    expect(submitted).toHaveLength(1);
  });

  it('that cannot be stored fails the handler, so it is not acked and Slack delivers it again', async () => {
    const { db, onMessage, submitted, errors } = await handlerOn();
    await db.close();
    await expect(onMessage(mention)).rejects.toThrow();
    expect(submitted).toEqual([]);
    expect(errors).toEqual(['message-not-stored']);
  });
});

describe('the typed seams', () => {
  it('are checked by tsc (the @ts-expect-error lines below fail the typecheck if an error goes away)', () => {
    expect(typeof typeChecks).toBe('function');
  });
});

/** Never called: only compiled. */
async function typeChecks(queue: JobQueue, handler: JobHandler<'agent'>, command: JobHandler<'command'>) {
  const handlers: JobHandlers = { agent: handler, command };
  // @ts-expect-error an error code that is not in the closed list
  void new WorkspaceError('disk-on-fire', 'x');
  // @ts-expect-error a handler for a kind that does not exist
  const extra: JobHandlers = { ...handlers, review: handler };
  // @ts-expect-error every kind needs its handler
  const missing: JobHandlers = { agent: handler };
  // @ts-expect-error an agent handler cannot handle command jobs
  const swapped: JobHandlers = { agent: handler, command: handler };
  const agent: JobHandler<'agent'> = async ({ job }) => {
    // @ts-expect-error agent payloads have no command
    void job.payload.command;
    // @ts-expect-error `asked` is a list of domains, not one
    const asked: string = job.payload.asked;
    void asked;
    const outcome: JobOutcome<'agent'> = {
      // @ts-expect-error a result must fit the agent result schema
      result: { mode: 'question' },
    };
    return outcome;
  };
  // @ts-expect-error a command job needs a command word
  void queue.enqueue({ kind: 'command', ...where, payload: { text: 'hi' } });
  // @ts-expect-error job kinds are closed
  void queue.enqueue({ kind: 'review', ...where, payload: { text: 'hi' } });
  const kind: JobKind = 'agent';
  const stored = await queue.get('j1');
  // @ts-expect-error an unread row may be unreadable: narrow by kind first
  void stored?.payload;
  if (stored?.kind === 'agent') void stored.payload.text;
  return [extra, missing, swapped, agent, kind];
}
