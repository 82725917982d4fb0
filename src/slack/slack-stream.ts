import type { StatusView, TaskCard } from '../jobs/ports.js';
import { StreamWindow, type WindowRules } from './stream-window.js';

/** Streamed answer text at most; the rest of a longer answer follows as messages of its own. */
export const streamedTextCap = 11_000;
/**
 * All the text of one streamed message: Slack answers `msg_too_long` past 12,000 characters in
 * a message as well as in one call; room is left for the usage line and the buttons.
 */
export const streamedMessageLimit = 11_500;
const titleLimit = 150;
const detailLimit = 250;

export interface TaskChunk {
  type: 'task_update';
  id: string;
  title: string;
  status: TaskCard['status'];
  details?: string;
}
export interface PlanChunk {
  type: 'plan_update';
  title: string;
}
export interface TextChunk {
  type: 'markdown_text';
  text: string;
}
export type StreamChunk = TaskChunk | PlanChunk | TextChunk;

/**
 * One streamed status message: what Slack has been sent so far, so that each send carries
 * only what changed (a task whose status or detail moved, a new plan title, newly safe text).
 */
export class LiveStream {
  readonly window: StreamWindow;
  /** Set once Slack stopped the stream (the native Stop) or it was stopped here. */
  ended = false;
  /** Set when the job's ending is queued: no later view may take its place in the queue. */
  closing = false;
  private readonly sentTasks = new Map<string, string>();
  private sentPlan: string | undefined;

  constructor(
    private readonly clean: (text: string) => string,
    rules: WindowRules,
  ) {
    this.window = new StreamWindow(clean, rules, streamedTextCap);
  }

  /** The chunks that bring Slack from what it has to `view`. Text only while it is safe. */
  chunksFor(view: StatusView): StreamChunk[] {
    const chunks: StreamChunk[] = [];
    if (view.plan && view.plan !== this.sentPlan) {
      this.sentPlan = view.plan;
      chunks.push({ type: 'plan_update', title: cut(plainTitle(this.clean(view.plan)), titleLimit) });
    }
    for (const task of view.tasks ?? []) {
      const chunk: TaskChunk = {
        type: 'task_update',
        id: task.id,
        title: cut(plainTitle(this.clean(task.title)), titleLimit),
        status: task.status,
        ...(task.detail ? { details: cut(this.clean(task.detail), detailLimit) } : {}),
      };
      const key = JSON.stringify(chunk);
      if (this.sentTasks.get(task.id) === key) continue;
      this.sentTasks.set(task.id, key);
      chunks.push(chunk);
    }
    if (view.answer) {
      const text = this.window.offer(view.answer);
      if (text) chunks.push({ type: 'markdown_text', text });
    }
    return chunks;
  }
}

/**
 * Task and plan titles are plain text: emphasis and code marks are dropped, after cleaning
 * (dropping `_` first would turn `ghp_…` into text the scrubber no longer knows).
 */
function plainTitle(text: string): string {
  return text.replace(/[*`]/g, '').replace(/\s+/g, ' ').trim();
}
function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}
