import type { z } from 'zod';
import type { ReplyAction } from './ports.js';

/**
 * Buttons and modal forms, each defined once: the room that draws a button and the route
 * that reads the click share one codec, so the value format lives in one place. Lives in
 * src/jobs/ so producers (agent, forge, scripts) and the router (handlers) both import it
 * downwards.
 */

/** Slack refuses a button `value` longer than this. */
export const maxButtonValueChars = 2000;
/** Slack refuses a view's `private_metadata` longer than this. */
export const maxPrivateMetadataChars = 3000;

/** A button click, reduced by src/slack/ to what the handlers need. */
export interface IncomingAction {
  actionId: string;
  value: string;
  user: string;
  channel: string;
  messageTs: string;
  threadTs: string | undefined;
  triggerId: string | undefined;
}

/** A modal form submission. */
export interface IncomingViewSubmission {
  callbackId: string;
  user: string;
  privateMetadata: string;
  values: Record<string, string>;
}

/** Why a click or submission was not acted on, as a plain sentence; the router passes it on. */
export interface Refusal {
  refusal: string;
}

export type Decoded<V> = { ok: true; value: V } | ({ ok: false } & Refusal);

/** A click handler as the router calls it; built only through `ActionDefinition.route`. */
export type ActionRoute = (click: IncomingAction) => Promise<Refusal | undefined>;
export type ViewRoute = (submission: IncomingViewSubmission) => Promise<Refusal | undefined>;

export const unreadableButton =
  'I could not read that button (it may be from an older version of shipmate); mention me again.';
export const unreadableForm = 'I could not read that form (it may be from an older version of shipmate).';

/** Either a zod schema (the value travels as JSON), or a hand-written format (ids, `a|b`). */
export type Codec<V> =
  | { schema: z.ZodType<V> }
  | { encode: (value: V) => string; decode: (raw: string) => V | undefined };

export class ValueTooLargeError extends Error {
  constructor(id: string, length: number, limit: number) {
    super(`the value for ${id} is ${length} characters; Slack allows ${limit}`);
    this.name = 'ValueTooLargeError';
  }
}

interface Wire<V> {
  encode(value: V): string;
  decode(raw: string): Decoded<V>;
}

function wire<V>(id: string, codec: Codec<V>, limit: number, refusal: string): Wire<V> {
  const read = (raw: string): { value: V } | undefined => {
    if (raw.length > limit) return undefined;
    if ('schema' in codec) {
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        return undefined;
      }
      const parsed = codec.schema.safeParse(json);
      return parsed.success ? { value: parsed.data } : undefined;
    }
    try {
      const value = codec.decode(raw);
      return value === undefined ? undefined : { value };
    } catch {
      return undefined;
    }
  };
  return {
    encode(value) {
      const raw = 'schema' in codec ? JSON.stringify(codec.schema.parse(value)) : codec.encode(value);
      if (raw.length > limit) throw new ValueTooLargeError(id, raw.length, limit);
      // Never draw a button whose click could not be read back.
      if (!read(raw)) throw new Error(`the value for ${id} does not decode: ${raw.slice(0, 80)}`);
      return raw;
    },
    decode(raw) {
      const found = read(raw);
      return found ? { ok: true, value: found.value } : { ok: false, refusal };
    },
  };
}

export interface ActionDefinition<Id extends string, V> extends Wire<V> {
  readonly id: Id;
  /** The button, for a Reply or a StatusView. Throws past Slack's 2,000 characters. */
  button(value: V, label: string, style?: 'primary' | 'danger'): ReplyAction;
  /** The click handler: runs with the decoded value; a garbled value becomes a Refusal. */
  route(run: (value: V, click: IncomingAction) => Promise<void>): BoundRoute<Id, ActionRoute>;
}

export interface BoundRoute<Id extends string, Route> {
  readonly id: Id;
  readonly handle: Route;
}

export function defineAction<const Id extends string, V>(
  definition: { id: Id } & Codec<V>,
): ActionDefinition<Id, V> {
  const { id } = definition;
  const codec = wire(id, definition, maxButtonValueChars, unreadableButton);
  return {
    id,
    ...codec,
    button: (value, label, style) => ({
      actionId: id,
      label,
      value: codec.encode(value),
      ...(style ? { style } : {}),
    }),
    route: (run) => ({
      id,
      handle: async (click) => {
        const decoded = codec.decode(click.value);
        if (!decoded.ok) return { refusal: decoded.refusal };
        await run(decoded.value, click);
        return undefined;
      },
    }),
  };
}

export interface ViewDefinition<Id extends string, M> extends Wire<M> {
  readonly id: Id;
  /** The `callbackId` and `privateMetadata` of a ModalForm. Throws past Slack's 3,000 characters. */
  form(metadata: M): { callbackId: Id; privateMetadata: string };
  route(run: (metadata: M, submission: IncomingViewSubmission) => Promise<void>): BoundRoute<Id, ViewRoute>;
}

/** A modal form: its callback id and the metadata it carries to the submission. */
export function defineView<const Id extends string, M>(
  definition: { id: Id } & Codec<M>,
): ViewDefinition<Id, M> {
  const { id } = definition;
  const codec = wire(id, definition, maxPrivateMetadataChars, unreadableForm);
  return {
    id,
    ...codec,
    form: (metadata) => ({ callbackId: id, privateMetadata: codec.encode(metadata) }),
    route: (run) => ({
      id,
      handle: async (submission) => {
        const decoded = codec.decode(submission.privateMetadata);
        if (!decoded.ok) return { refusal: decoded.refusal };
        await run(decoded.value, submission);
        return undefined;
      },
    }),
  };
}

/** The router's table from bound routes, so a route is always filed under its own id. */
export function routeTable<Id extends string, Route>(
  ...bound: Array<BoundRoute<Id, Route>>
): Record<Id, Route> {
  const table = {} as Record<Id, Route>;
  for (const entry of bound) {
    if (Object.hasOwn(table, entry.id)) throw new Error(`two routes for ${entry.id}`);
    table[entry.id] = entry.handle;
  }
  return table;
}

/** Record ids as they travel in a button (job ids, draft ids): no separators, bounded. */
const recordIdPattern = /^[\w.-]{1,128}$/;

export function isRecordId(text: string): boolean {
  return recordIdPattern.test(text);
}

/** A value that is one record id, as plain text (the format every id button has always used). */
export const recordIdCodec: Codec<string> = {
  encode: (id) => id,
  decode: (raw) => (isRecordId(raw) ? raw : undefined),
};
