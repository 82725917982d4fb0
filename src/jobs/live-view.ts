import type { ReplyAction, StatusView, StepHandle, TaskCard } from './ports.js';

/**
 * What a job shows while it works, kept whole so that every update is the latest view: the
 * status line, each step as a task card (a `progress` line is a step that ends when the next
 * line starts; `step` is one the caller ends), the plan's title and the answer so far.
 */
export class LiveView {
  private readonly tasks: TaskCard[] = [];
  private lineTask: TaskCard | undefined;
  private line: string;
  private lineActions: ReplyAction[] = [];
  private planTitle: string | undefined;
  private answerText: string | undefined;

  constructor(first: string, status: 'pending' | 'in_progress' = 'in_progress') {
    this.line = first;
    this.lineTask = this.add(first, status);
  }

  /** A new status line: the previous line's step is complete, this one is in progress. */
  progress(text: string, actions: ReplyAction[] = []): void {
    this.endLine('complete');
    this.line = text;
    this.lineActions = actions;
    this.lineTask = this.add(text, 'in_progress');
  }

  /** A step the caller ends; the status line's step is over once one starts. */
  step(title: string): StepHandle {
    this.endLine('complete');
    const task = this.add(title, 'in_progress');
    this.line = title;
    const end = (status: 'complete' | 'error', detail?: string) => {
      if (task.status !== 'in_progress') return;
      task.status = status;
      if (detail) task.detail = detail;
    };
    return { done: (detail) => end('complete', detail), failed: (detail) => end('error', detail) };
  }

  plan(title: string): void {
    this.planTitle = title;
  }

  answer(text: string): void {
    this.answerText = text;
  }

  /** Every step still in progress ends: complete when the job did, error when it did not. */
  settle(status: 'complete' | 'error', detail?: string): void {
    for (const task of this.tasks) {
      if (task.status !== 'in_progress' && task.status !== 'pending') continue;
      task.status = status;
      if (detail && status === 'error') task.detail = detail;
    }
  }

  /** The view with this line (the plan title before it, as the status line always showed). */
  view(options: { text?: string; actions?: ReplyAction[] } = {}): StatusView {
    const line = options.text ?? this.line;
    return {
      text: this.planTitle && options.text === undefined ? `${this.planTitle} ${line}` : line,
      actions: options.actions ?? this.lineActions,
      tasks: this.tasks.map((task) => ({ ...task })),
      ...(this.planTitle ? { plan: this.planTitle } : {}),
      ...(this.answerText ? { answer: this.answerText } : {}),
    };
  }

  private endLine(status: 'complete' | 'error'): void {
    if (this.lineTask?.status === 'in_progress' || this.lineTask?.status === 'pending')
      this.lineTask.status = status;
    this.lineTask = undefined;
  }

  private add(title: string, status: TaskCard['status']): TaskCard {
    const task: TaskCard = { id: `task-${this.tasks.length + 1}`, title, status };
    this.tasks.push(task);
    return task;
  }
}
