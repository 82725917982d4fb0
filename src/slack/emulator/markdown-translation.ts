import { randomBytes } from 'node:crypto';

/**
 * What Slack keeps of a `markdown` block. The block is an input format: "passing a single
 * block may result in multiple blocks after translation" and its `block_id` "is ignored …
 * and will not be retained" (https://docs.slack.dev/reference/block-kit/blocks/markdown-block;
 * @slack/types MarkdownBlock, https://docs.slack.dev/tools/node-slack-sdk/reference/web-api/interfaces/MarkdownBlock/).
 * conversations.history and conversations.replies return the translation, so this turns the
 * Markdown the block documents (bold, italic, strikethrough, links, lists, headers, inline code,
 * code blocks, quotes) into `rich_text` elements (https://docs.slack.dev/reference/block-kit/blocks/rich-text-block):
 * `rich_text_section`, `rich_text_list` (style bullet|ordered, indent, offset),
 * `rich_text_preformatted` and `rich_text_quote`, with `text` styles bold/italic/strike/code
 * (https://docs.slack.dev/reference/block-kit/block-elements/text-element) and `link` elements.
 * A thematic break splits the translation into a `divider` between two `rich_text` blocks.
 * Slack's exact output is undocumented; this is a faithful-enough stand-in that keeps text,
 * structure and styles, so code reading stored messages meets the same block types.
 */

type Json = Record<string, unknown>;
export type TranslatedBlock = Json & { type: string };

interface Style {
  bold?: boolean;
  italic?: boolean;
  strike?: boolean;
  code?: boolean;
}

/** Every `markdown` block replaced by its translation; other blocks get a `block_id` if they lack one. */
export function translateMarkdownBlocks(blocks: readonly TranslatedBlock[]): TranslatedBlock[] {
  return blocks.flatMap((block) => {
    if (block.type === 'markdown' && typeof block.text === 'string') return translateMarkdown(block.text);
    // Slack generates a block_id for a block sent without one.
    return [typeof block.block_id === 'string' ? block : { ...block, block_id: newBlockId() }];
  });
}

/** Standard Markdown as the blocks Slack stores for it. */
export function translateMarkdown(markdown: string): TranslatedBlock[] {
  const blocks: TranslatedBlock[] = [];
  let elements: Json[] = [];
  const flush = () => {
    if (elements.length === 0) return;
    blocks.push({ type: 'rich_text', block_id: newBlockId(), elements: separateSections(elements) });
    elements = [];
  };
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let paragraph: string[] = [];
  const endParagraph = () => {
    if (paragraph.length === 0) return;
    elements.push(section(inline(paragraph.join('\n'))));
    paragraph = [];
  };

  let index = 0;
  while (index < lines.length) {
    const line = lines[index] ?? '';
    const fence = /^ {0,3}(`{3,}|~{3,})[^`]*$/.exec(line);
    if (fence?.[1]) {
      endParagraph();
      const marker = fence[1];
      const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
      const code: string[] = [];
      index += 1;
      while (index < lines.length && !closing.test(lines[index] ?? '')) {
        code.push(lines[index] ?? '');
        index += 1;
      }
      index += 1; // the closing fence (or the end)
      elements.push({ type: 'rich_text_preformatted', elements: [{ type: 'text', text: code.join('\n') }] });
      continue;
    }
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) {
      endParagraph();
      // "Renders as a header … all header levels are rendered at the same size": bold text here.
      elements.push(section(inline(heading[1] ?? '', { bold: true })));
      index += 1;
      continue;
    }
    if (/^ {0,3}([-*_])(?:\s*\1){2,}\s*$/.test(line)) {
      endParagraph();
      flush();
      blocks.push({ type: 'divider', block_id: newBlockId() });
      index += 1;
      continue;
    }
    if (/^ {0,3}>/.test(line)) {
      endParagraph();
      const quoted: string[] = [];
      while (index < lines.length && /^ {0,3}>/.test(lines[index] ?? '')) {
        quoted.push((lines[index] ?? '').replace(/^ {0,3}> ?/, ''));
        index += 1;
      }
      elements.push({ type: 'rich_text_quote', elements: inline(quoted.join('\n')) });
      continue;
    }
    if (listItem(line)) {
      endParagraph();
      const { lists, next } = readList(lines, index);
      elements.push(...lists);
      index = next;
      continue;
    }
    if (line.trim() === '') endParagraph();
    else paragraph.push(line);
    index += 1;
  }
  endParagraph();
  flush();
  return blocks;
}

function newBlockId(): string {
  return randomBytes(3).toString('base64url');
}

function section(elements: Json[]): Json {
  return {
    type: 'rich_text_section',
    elements: elements.length > 0 ? elements : [{ type: 'text', text: '' }],
  };
}

/** A paragraph followed by more content ends with a line break, as Slack's own sections do. */
function separateSections(elements: Json[]): Json[] {
  return elements.map((element, index) => {
    if (element.type !== 'rich_text_section' || index === elements.length - 1) return element;
    const inner = [...(element.elements as Json[])];
    const last = inner.at(-1);
    if (last && last.type === 'text' && last.style === undefined)
      inner[inner.length - 1] = { ...last, text: `${String(last.text)}\n` };
    else inner.push({ type: 'text', text: '\n' });
    return { ...element, elements: inner };
  });
}

const listPattern = /^(\s*)([-*+]|(\d{1,9})[.)])\s+(.*)$/;

function listItem(line: string): RegExpExecArray | null {
  return listPattern.exec(line);
}

/**
 * Consecutive list items as Slack stores them: a flat run of `rich_text_list` elements, one per
 * stretch of items at the same depth and style, nesting told by `indent` and an ordered list's
 * numbering carried on by `offset` after a nested list.
 */
function readList(lines: string[], start: number): { lists: Json[]; next: number } {
  const lists: Json[] = [];
  const widths: number[] = [];
  const counted: number[] = [];
  let current: { indent: number; ordered: boolean; items: string[]; offset: number } | undefined;
  const close = () => {
    if (!current) return;
    lists.push({
      type: 'rich_text_list',
      style: current.ordered ? 'ordered' : 'bullet',
      indent: current.indent,
      ...(current.offset > 0 ? { offset: current.offset } : {}),
      border: 0,
      elements: current.items.map((item) => section(inline(item))),
    });
    current = undefined;
  };
  let index = start;
  while (index < lines.length) {
    const line = lines[index] ?? '';
    const match = listItem(line);
    if (!match) {
      if (line.trim() === '') {
        // A blank line inside a list continues it only when another item follows.
        const following = lines.slice(index + 1).find((candidate) => candidate.trim() !== '');
        if (following !== undefined && listItem(following)) {
          index += 1;
          continue;
        }
        break;
      }
      if (/^\s{2,}\S/.test(line) && current) {
        current.items[current.items.length - 1] += `\n${line.trim()}`;
        index += 1;
        continue;
      }
      break;
    }
    const width = (match[1] ?? '').replace(/\t/g, '    ').length;
    while (widths.length > 0 && width < (widths.at(-1) ?? 0)) widths.pop();
    if (widths.length === 0 || width > (widths.at(-1) ?? 0)) widths.push(width);
    const indent = Math.min(widths.length - 1, 8);
    counted.length = indent + 1;
    const ordered = match[3] !== undefined;
    if (!current || current.indent !== indent || current.ordered !== ordered) {
      close();
      const before = counted[indent] ?? 0;
      const startsAt = ordered ? Number(match[3]) - 1 : 0;
      current = { indent, ordered, items: [], offset: ordered ? Math.max(before, startsAt) : 0 };
    }
    current.items.push(match[4] ?? '');
    counted[indent] = (counted[indent] ?? 0) + 1;
    index += 1;
  }
  close();
  return { lists, next: index };
}

const emphasis: Array<{ marker: string; style: Style }> = [
  { marker: '***', style: { bold: true, italic: true } },
  { marker: '___', style: { bold: true, italic: true } },
  { marker: '**', style: { bold: true } },
  { marker: '__', style: { bold: true } },
  { marker: '~~', style: { strike: true } },
  { marker: '*', style: { italic: true } },
  { marker: '_', style: { italic: true } },
];

/** Inline Markdown as rich text elements: styled `text`, `link`, `user`, `channel`, `broadcast`. */
function inline(text: string, style: Style = {}): Json[] {
  const out: Json[] = [];
  let buffer = '';
  const pushText = (value: string, with_: Style) => {
    if (value === '') return;
    const last = out.at(-1);
    if (last && last.type === 'text' && sameStyle(last.style as Style | undefined, with_)) {
      last.text = `${String(last.text)}${value}`;
      return;
    }
    out.push({ type: 'text', text: value, ...(hasStyle(with_) ? { style: { ...with_ } } : {}) });
  };
  const flushBuffer = () => {
    pushText(buffer, style);
    buffer = '';
  };
  const styleField = hasStyle(style) ? { style: { ...style } } : {};

  let index = 0;
  while (index < text.length) {
    const rest = text.slice(index);
    const previous = index > 0 ? (text[index - 1] ?? '') : '';
    if (rest[0] === '\\' && /[\\`*_{}[\]()#+\-.!~>|]/.test(rest[1] ?? '')) {
      buffer += rest[1];
      index += 2;
      continue;
    }
    const code = /^(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/.exec(rest);
    if (code) {
      flushBuffer();
      const body = code[2] ?? '';
      const trimmed =
        body.length > 2 && body.startsWith(' ') && body.endsWith(' ') ? body.slice(1, -1) : body;
      pushText(trimmed, { ...style, code: true });
      index += code[0].length;
      continue;
    }
    const link = /^\[([^\]]+)\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/.exec(rest);
    if (link) {
      flushBuffer();
      const label = plainText(inline(link[1] ?? ''));
      out.push({ type: 'link', url: link[2], ...(label !== link[2] ? { text: label } : {}), ...styleField });
      index += link[0].length;
      continue;
    }
    const angle = /^<(https?:\/\/[^>\s|]+)(?:\|([^>]*))?>/.exec(rest);
    if (angle) {
      flushBuffer();
      out.push({ type: 'link', url: angle[1], ...(angle[2] ? { text: angle[2] } : {}), ...styleField });
      index += angle[0].length;
      continue;
    }
    const user = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/.exec(rest);
    if (user) {
      flushBuffer();
      out.push({ type: 'user', user_id: user[1] });
      index += user[0].length;
      continue;
    }
    const channel = /^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>/.exec(rest);
    if (channel) {
      flushBuffer();
      out.push({ type: 'channel', channel_id: channel[1] });
      index += channel[0].length;
      continue;
    }
    const broadcast = /^<!(here|channel|everyone)>/.exec(rest);
    if (broadcast) {
      flushBuffer();
      out.push({ type: 'broadcast', range: broadcast[1] });
      index += broadcast[0].length;
      continue;
    }
    const bare = /^https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"*_~]/.exec(rest);
    if (bare && !/[\w/]/.test(previous)) {
      flushBuffer();
      out.push({ type: 'link', url: bare[0], ...styleField });
      index += bare[0].length;
      continue;
    }
    const styled = emphasisAt(text, index);
    if (styled) {
      flushBuffer();
      out.push(...inline(styled.inner, { ...style, ...styled.style }));
      index = styled.end;
      continue;
    }
    buffer += rest[0];
    index += 1;
  }
  flushBuffer();
  return out;
}

/** An emphasis run opening at `index`: its inner text, style and where it ends. */
function emphasisAt(text: string, index: number): { inner: string; style: Style; end: number } | undefined {
  const previous = index > 0 ? (text[index - 1] ?? '') : '';
  for (const { marker, style } of emphasis) {
    if (!text.startsWith(marker, index)) continue;
    const open = index + marker.length;
    const first = text[open] ?? '';
    if (first === '' || /\s/.test(first)) continue;
    // Underscores inside a word (snake_case) are not emphasis.
    if (marker[0] === '_' && /[A-Za-z0-9]/.test(previous)) continue;
    let search = open + 1;
    while (search <= text.length) {
      const close = text.indexOf(marker, search);
      if (close < 0) break;
      const before = text[close - 1] ?? '';
      const after = text[close + marker.length] ?? '';
      const doubled = marker.length === 1 && (after === marker || before === marker);
      const intraword = marker[0] === '_' && /[A-Za-z0-9]/.test(after);
      if (!/\s/.test(before) && !doubled && !intraword) {
        return { inner: text.slice(open, close), style, end: close + marker.length };
      }
      search = close + (doubled ? 2 : 1);
    }
  }
  return undefined;
}

function plainText(elements: Json[]): string {
  return elements
    .map((element) => (typeof element.text === 'string' ? element.text : String(element.url ?? '')))
    .join('');
}

function hasStyle(style: Style): boolean {
  return Boolean(style.bold || style.italic || style.strike || style.code);
}

function sameStyle(a: Style | undefined, b: Style): boolean {
  const left = a ?? {};
  return (
    Boolean(left.bold) === Boolean(b.bold) &&
    Boolean(left.italic) === Boolean(b.italic) &&
    Boolean(left.strike) === Boolean(b.strike) &&
    Boolean(left.code) === Boolean(b.code)
  );
}
