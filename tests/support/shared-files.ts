import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Harness, waitFor } from './harness.js';
import type { RecordedRequest } from './scripted-model.js';
import { type EmulatedMessage, type ShareFileInput, shareFiles } from './slack-emulator.js';

/**
 * Helpers for the files-in tests (tests/e2e/files-in.test.ts, hostile-files-in.test.ts):
 * share files in a thread and wait for the job, read what the model was sent.
 */

const jobEnds = new Set(['job-succeeded', 'job-failed', 'job-cancelled', 'job-parked']);

export interface SharedJob {
  threadTs: string;
  jobId: string;
  answers: EmulatedMessage[];
}

/**
 * A user shares `files` (a new thread with a mention, or a reply in `threadTs`) and the test
 * waits until the job it queued is over; returns the job's new replies.
 */
export async function shareAndSettle(
  h: Harness,
  input: { user: string; channel: string; files: ShareFileInput[]; text?: string; threadTs?: string },
  timeoutMs = 40_000,
): Promise<SharedJob> {
  const queued = (threadTs: string) =>
    h.app.logs.filter((line) => line.msg === 'job-queued' && line.threadTs === threadTs);
  const before = input.threadTs ? queued(input.threadTs).length : 0;
  const answersBefore = new Set(input.threadTs ? h.answers(input.threadTs).map((m) => m.ts) : []);
  const shared = await shareFiles(h.slack, { ...input, mention: input.threadTs === undefined });
  const threadTs = input.threadTs ?? shared.ts;
  const jobId = await waitFor(
    () => {
      const id = queued(threadTs)[before]?.jobId;
      return id === undefined ? undefined : String(id);
    },
    timeoutMs,
    `a job queued for the files shared in ${threadTs}`,
  );
  await waitFor(
    () => h.app.logs.find((line) => String(line.jobId) === jobId && jobEnds.has(line.msg)),
    timeoutMs,
    `the end of job ${jobId}`,
  );
  const answers = await waitFor(
    () => {
      const fresh = h.answers(threadTs).filter((message) => !answersBefore.has(message.ts));
      return fresh.length > 0 ? fresh : undefined;
    },
    timeoutMs,
    `an answer of job ${jobId}`,
  );
  return { threadTs, jobId, answers };
}

/** The `image_url` parts of every message in a request. */
export function imagePartsIn(request: RecordedRequest): string[] {
  const urls: string[] = [];
  for (const message of request.body.messages) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content as Array<{ type: string; image_url?: { url?: string } }>) {
      if (part.type === 'image_url' && typeof part.image_url?.url === 'string') urls.push(part.image_url.url);
    }
  }
  return urls;
}

/** The text of the first user message of a request (the thread, the files, the request). */
export function userText(request: RecordedRequest): string {
  const user = request.body.messages.filter((message) => message.role === 'user').at(-1);
  if (!user) return '';
  if (typeof user.content === 'string') return user.content;
  return (user.content ?? []).map((part) => (typeof part.text === 'string' ? part.text : '')).join('\n');
}

/** The sandbox paths under `shipmate-files/` the model was told of, in order. */
export function filePathsTold(text: string): string[] {
  return [...text.matchAll(/(\/[^\s`'"]*\/shipmate-files\/[^\s`'"]+)/g)].map((match) => match[1]!);
}

export interface Recorder {
  url: string;
  /** Method, path and headers of every request received. */
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders }>;
  stop(): Promise<void>;
}

/** Another host (not Slack's): records every request it gets, Authorization headers included. */
export async function startRecorder(): Promise<Recorder> {
  const recorder = { url: '', requests: [] } as unknown as Recorder;
  const server: Server = createServer((request, response) => {
    recorder.requests.push({
      method: request.method ?? '?',
      path: request.url ?? '/',
      headers: request.headers,
    });
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('not slack\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  recorder.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return recorder;
}
