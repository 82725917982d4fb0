/**
 * The Block Kit limits Slack enforces on what shipmate sends, answered the way Slack answers
 * them: a message's blocks are refused with `invalid_blocks` and a `response_metadata.messages`
 * list of `[ERROR] … [json-pointer:…]` lines (e.g. "[ERROR] must be less than 3001 characters
 * [json-pointer:/blocks/0/text/text]", as reported in yonicd/slackreprex#3), a view with
 * `invalid_arguments` and the same kind of lines under /view (views.open answers
 * "[ERROR] failed to match all allowed schemas [json-pointer:/view]" first, then the field).
 */

type Json = Record<string, unknown>;

export interface BlockKitProblem {
  error: 'invalid_blocks' | 'invalid_arguments' | 'msg_blocks_too_long';
  messages: string[];
}

/** https://docs.slack.dev/reference/block-kit/blocks: "up to 50 blocks in each message, and 100 blocks in modals". */
export const MAX_MESSAGE_BLOCKS = 50;
export const MAX_MODAL_BLOCKS = 100;
/**
 * https://docs.slack.dev/reference/block-kit/blocks/markdown-block: "The cumulative limit for
 * all markdown blocks in a single payload is 12,000 characters."
 */
export const MARKDOWN_PAYLOAD_LIMIT = 12_000;
/**
 * Text across all of a message's blocks. Undocumented: Slack's maintainers describe it as
 * "12,000 text characters with a buffer for block containers" and answer `msg_blocks_too_long`
 * past it; it was measured at 13,297 characters with markdown blocks only and 13,172 with a
 * divider (slackapi/bolt-js#2509, #2867). 13,000 stays under both measurements.
 */
export const MESSAGE_TEXT_CAP = 13_000;

const tooLong = (limit: number, pointer: string) =>
  `[ERROR] must be less than ${limit + 1} characters [json-pointer:${pointer}]`;
const tooMany = (limit: number, pointer: string) =>
  `[ERROR] no more than ${limit} items allowed [json-pointer:${pointer}]`;
const missing = (field: string, pointer: string) =>
  `[ERROR] missing required field: ${field} [json-pointer:${pointer}]`;

/** The blocks of chat.postMessage / chat.update / chat.postEphemeral / a file share; undefined when Slack takes them. */
export function checkMessageBlocks(blocks: unknown): BlockKitProblem | undefined {
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks', messages: [missing('blocks', '/blocks')] };
  const messages: string[] = [];
  if (blocks.length > MAX_MESSAGE_BLOCKS) messages.push(tooMany(MAX_MESSAGE_BLOCKS, '/blocks'));
  for (const [index, block] of blocks.entries()) checkBlock(block, `/blocks/${index}`, messages);
  if (messages.length > 0) return { error: 'invalid_blocks', messages };
  const markdown = blocks.reduce(
    (sum: number, block: Json) => sum + (block.type === 'markdown' ? String(block.text).length : 0),
    0,
  );
  if (markdown > MARKDOWN_PAYLOAD_LIMIT || textLength(blocks) > MESSAGE_TEXT_CAP)
    return { error: 'msg_blocks_too_long', messages: [] };
  return undefined;
}

/** A modal for views.open / views.update (https://docs.slack.dev/reference/views/modal-views). */
export function checkModalView(view: Json): BlockKitProblem | undefined {
  const messages: string[] = [];
  if (view.type !== 'modal') messages.push(missing('type', '/view/type'));
  // "title … Must be a plain_text text element with a max length of 24 characters."
  if (!isRecord(view.title) || typeof view.title.text !== 'string')
    messages.push(missing('title', '/view/title'));
  else if (view.title.text.length > 24) messages.push(tooLong(24, '/view/title/text'));
  // "close … Max length of 24 characters." "submit … Max length of 24 characters."
  for (const key of ['close', 'submit'] as const) {
    const text = view[key];
    if (isRecord(text) && typeof text.text === 'string' && text.text.length > 24)
      messages.push(tooLong(24, `/view/${key}/text`));
  }
  // "private_metadata … Max length of 3000 characters." "callback_id … Max length of 255 characters."
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    messages.push(tooLong(3000, '/view/private_metadata'));
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255)
    messages.push(tooLong(255, '/view/callback_id'));
  const blocks = view.blocks ?? [];
  if (!Array.isArray(blocks)) messages.push(missing('blocks', '/view/blocks'));
  else {
    // "blocks … Max of 100 blocks."
    if (blocks.length > MAX_MODAL_BLOCKS) messages.push(tooMany(MAX_MODAL_BLOCKS, '/view/blocks'));
    for (const [index, block] of blocks.entries()) checkBlock(block, `/view/blocks/${index}`, messages);
    // "submit is required when an input block is within the blocks array."
    const input = blocks.findIndex((block) => isRecord(block) && block.type === 'input');
    if (input >= 0 && !isRecord(view.submit))
      messages.push(
        `[ERROR] must define \`submit\` to use an \`input\` block in modals [json-pointer:/view/blocks/${input}/input]`,
      );
  }
  if (messages.length === 0) return undefined;
  return {
    error: 'invalid_arguments',
    messages: ['[ERROR] failed to match all allowed schemas [json-pointer:/view]', ...messages],
  };
}

function checkBlock(block: unknown, pointer: string, messages: string[]): void {
  if (!isRecord(block) || typeof block.type !== 'string') {
    messages.push(missing('type', pointer));
    return;
  }
  // block_id: "Maximum length for this field is 255 characters." (every block's reference page)
  if (typeof block.block_id === 'string' && block.block_id.length > 255)
    messages.push(tooLong(255, `${pointer}/block_id`));
  switch (block.type) {
    case 'markdown':
      // https://docs.slack.dev/reference/block-kit/blocks/markdown-block (12,000 across the payload)
      if (typeof block.text !== 'string') messages.push(missing('text', pointer));
      else if (block.text.length > MARKDOWN_PAYLOAD_LIMIT)
        messages.push(tooLong(MARKDOWN_PAYLOAD_LIMIT, `${pointer}/text`));
      return;
    case 'section': {
      // https://docs.slack.dev/reference/block-kit/blocks/section-block: text "Maximum length for
      // the text in this field is 3000 characters"; fields "Maximum number of items is 10.
      // Maximum length for the text in each item is 2000 characters."
      if (isRecord(block.text) && typeof block.text.text === 'string' && block.text.text.length > 3000)
        messages.push(tooLong(3000, `${pointer}/text/text`));
      if (Array.isArray(block.fields)) {
        if (block.fields.length > 10) messages.push(tooMany(10, `${pointer}/fields`));
        block.fields.forEach((field, index) => {
          if (isRecord(field) && typeof field.text === 'string' && field.text.length > 2000)
            messages.push(tooLong(2000, `${pointer}/fields/${index}/text`));
        });
      }
      if (block.accessory !== undefined) checkElement(block.accessory, `${pointer}/accessory`, messages);
      return;
    }
    case 'header':
      // https://docs.slack.dev/reference/block-kit/blocks/header-block: "Maximum length for the text in this field is 150 characters."
      if (isRecord(block.text) && typeof block.text.text === 'string' && block.text.text.length > 150)
        messages.push(tooLong(150, `${pointer}/text/text`));
      return;
    case 'context':
      // https://docs.slack.dev/reference/block-kit/blocks/context-block: "Maximum number of items is 10."
      if (Array.isArray(block.elements) && block.elements.length > 10)
        messages.push(tooMany(10, `${pointer}/elements`));
      return;
    case 'actions':
      // https://docs.slack.dev/reference/block-kit/blocks/actions-block: "a maximum of 25 elements in each action block".
      if (Array.isArray(block.elements)) {
        if (block.elements.length > 25) messages.push(tooMany(25, `${pointer}/elements`));
        for (const [index, element] of block.elements.entries())
          checkElement(element, `${pointer}/elements/${index}`, messages);
      }
      return;
    case 'input':
      // https://docs.slack.dev/reference/block-kit/blocks/input-block: label "Maximum length for the text in this field is 2000 characters."
      if (isRecord(block.label) && typeof block.label.text === 'string' && block.label.text.length > 2000)
        messages.push(tooLong(2000, `${pointer}/label/text`));
      if (block.element !== undefined) checkElement(block.element, `${pointer}/element`, messages);
      return;
    default:
      return;
  }
}

function checkElement(element: unknown, pointer: string, messages: string[]): void {
  if (!isRecord(element)) return;
  if (typeof element.action_id === 'string' && element.action_id.length > 255)
    messages.push(tooLong(255, `${pointer}/action_id`));
  if (element.type === 'button') {
    // https://docs.slack.dev/reference/block-kit/block-elements/button-element: text "Maximum
    // length for the text in this field is 75 characters", value 2000, url 3000.
    if (isRecord(element.text) && typeof element.text.text === 'string' && element.text.text.length > 75)
      messages.push(tooLong(75, `${pointer}/text/text`));
    if (typeof element.value === 'string' && element.value.length > 2000)
      messages.push(tooLong(2000, `${pointer}/value`));
    if (typeof element.url === 'string' && element.url.length > 3000)
      messages.push(tooLong(3000, `${pointer}/url`));
  }
  if (element.type === 'plain_text_input') {
    // https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element:
    // max_length "Acceptable values for this field are between 1 and 3000, inclusive", min_length
    // "between 0 and 3000"; so no input holds more than 3,000 characters, its initial_value included.
    if (typeof element.initial_value === 'string' && element.initial_value.length > 3000)
      messages.push(tooLong(3000, `${pointer}/initial_value`));
    if (element.max_length !== undefined && !inRange(element.max_length, 1, 3000))
      messages.push(`[ERROR] must be between 1 and 3000 [json-pointer:${pointer}/max_length]`);
    if (element.min_length !== undefined && !inRange(element.min_length, 0, 3000))
      messages.push(`[ERROR] must be between 0 and 3000 [json-pointer:${pointer}/min_length]`);
  }
}

/** Every `text` string in the blocks, however deep (what the cap across blocks counts). */
function textLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + textLength(item), 0);
  if (!isRecord(value)) return 0;
  let sum = 0;
  for (const [key, item] of Object.entries(value)) {
    if (key === 'text' && typeof item === 'string') sum += item.length;
    else if (typeof item === 'object' && item !== null) sum += textLength(item);
  }
  return sum;
}

function inRange(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
