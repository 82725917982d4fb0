import { randomBytes } from 'node:crypto';
import type { Reply, ReplyAction, StatusView } from '../jobs/ports.js';

/** Slack's limit for one markdown block / markdown_text. */
export const markdownLimit = 12_000;
/**
 * What all the blocks of one message may hold together. Undocumented: Slack answers
 * `msg_blocks_too_long` from about 13,200 characters across blocks (slackapi/bolt-js#2509,
 * measured at 13,297 with markdown blocks only, 13,172 with a divider), so the usage line and
 * the buttons must fit beside a full markdown block with room to spare.
 */
export const messageTextCap = 13_000;
/** Past this many characters an answer goes up as a file with a short summary in the thread. */
export const fileThreshold = 3 * markdownLimit;

export interface SlackBlock {
  type: string;
  [key: string]: unknown;
}

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export interface RenderedReply {
  messages: SlackMessage[];
  file?: { filename: string; title: string; content: string };
}

/**
 * Standard Markdown goes to Slack as it is, in `markdown` blocks (Slack renders it); the
 * only work here is splitting at the 12,000-character limit without breaking a code block,
 * and moving very long answers into a file.
 */
export function renderReply(reply: Reply): RenderedReply {
  const markdown = reply.markdown.trim() || '_(empty answer)_';
  const files = reply.files ?? [];
  if (markdown.length > fileThreshold) {
    const summary = `${summarize(markdown)}\n\n_The full answer (${markdown.length.toLocaleString('en-US')} characters) is attached as \`answer.md\`._`;
    return {
      messages: [finalMessage(summary, reply)],
      file: { filename: 'answer.md', title: 'Full answer', content: markdown },
    };
  }
  // The last chunk shares its message with the usage line and the buttons.
  const extras =
    (reply.context?.length ?? 0) +
    (reply.actions ?? []).reduce((sum, action) => sum + action.label.length + 40, 0);
  const chunks = splitMarkdown(markdown, markdownLimit);
  const last = chunks.at(-1) ?? '';
  if (last.length + extras > messageTextCap - 200) {
    chunks.splice(-1, 1, ...splitMarkdown(last, Math.max(1_000, messageTextCap - 200 - extras)));
  }
  const messages = chunks.map((chunk, index) =>
    index === chunks.length - 1
      ? finalMessage(chunk, reply)
      : { text: fallbackText(chunk), blocks: [markdownBlock(chunk)] },
  );
  return { messages, ...(files[0] ? { file: files[0] } : {}) };
}

export function renderStatus(view: StatusView): SlackMessage {
  const blocks: SlackBlock[] = [{ type: 'context', elements: [{ type: 'mrkdwn', text: view.text }] }];
  if (view.actions && view.actions.length > 0) blocks.push(actionsBlock(view.actions, 'status'));
  return { text: view.text, blocks };
}

/** Splits at paragraph, then line boundaries; a fenced code block cut in two is closed and reopened. */
export function splitMarkdown(markdown: string, limit: number): string[] {
  const chunks: string[] = [];
  let rest = markdown;
  while (rest.length > limit) {
    const budget = limit - 8; // room to close and reopen a fence
    let cut = rest.lastIndexOf('\n\n', budget);
    if (cut < budget / 2) cut = rest.lastIndexOf('\n', budget);
    if (cut < budget / 2) cut = budget;
    let head = rest.slice(0, cut);
    let tail = rest.slice(cut).replace(/^\n+/, '');
    const openFence = openFenceIn(head);
    if (openFence !== undefined) {
      head = `${head}\n\`\`\``;
      tail = `${openFence}\n${tail}`;
    }
    chunks.push(head);
    rest = tail;
  }
  chunks.push(rest);
  return chunks;
}

function openFenceIn(text: string): string | undefined {
  let open: string | undefined;
  for (const line of text.split('\n')) {
    const match = /^\s*(```+|~~~+)(.*)$/.exec(line);
    if (!match) continue;
    open = open === undefined ? `${match[1]}${match[2] ?? ''}` : undefined;
  }
  return open;
}

function finalMessage(markdown: string, reply: Reply): SlackMessage {
  return { text: fallbackText(markdown), blocks: [markdownBlock(markdown), ...replyExtras(reply)] };
}

/** The usage line and the buttons under an answer (also what ends a streamed answer). */
export function replyExtras(reply: Pick<Reply, 'context' | 'actions'>): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  if (reply.context) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: reply.context }] });
  if (reply.actions && reply.actions.length > 0) blocks.push(actionsBlock(reply.actions, 'reply'));
  return blocks;
}

function markdownBlock(text: string): SlackBlock {
  return { type: 'markdown', text };
}

function actionsBlock(actions: ReplyAction[], prefix: string): SlackBlock {
  return {
    type: 'actions',
    // Fresh each time: Slack keeps a block's state by block_id across updates of one message.
    block_id: `${prefix}-actions-${randomBytes(4).toString('hex')}`,
    elements: actions.slice(0, 25).map((action) => ({
      type: 'button',
      action_id: action.actionId,
      text: { type: 'plain_text', text: action.label.slice(0, 75), emoji: true },
      value: action.value.slice(0, 2000),
      ...(action.style ? { style: action.style } : {}),
    })),
  };
}

/** The notification / screen-reader text: the first lines, plain. */
function fallbackText(markdown: string): string {
  const plain = markdown
    .replace(/```[\s\S]*?```/g, '[code]')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 300 ? `${plain.slice(0, 297)}…` : plain;
}

function summarize(markdown: string): string {
  const firstParagraphs = markdown.split(/\n\n/).slice(0, 3).join('\n\n');
  const summary = firstParagraphs.length > 2_000 ? `${firstParagraphs.slice(0, 2_000)}…` : firstParagraphs;
  return openFenceIn(summary) === undefined ? summary : `${summary}\n\`\`\``;
}
