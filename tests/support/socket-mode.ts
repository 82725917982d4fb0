import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type {
  Delivery,
  DeliveryResult,
  EventTransport,
  SlackEmulator,
} from '../../src/slack/emulator/slack-emulator.js';

/**
 * Socket Mode for the Slack emulator: `apps.connections.open` (app token only) hands out a
 * one-use `ws://127.0.0.1:PORT/socket?ticket=…`, the socket gets Slack's `hello`, and every
 * delivery becomes an envelope the app must ack with `{ envelope_id }`. `ws` is not installed
 * (@slack/socket-mode 3 uses undici's WebSocket client), so the server side of RFC 6455 is
 * written out below: text frames, fragmentation, ping → pong, close handshake; no extensions.
 */

export interface SocketModeOptions {
  appToken: string;
  path?: string;
  /** A delivery not acked within this resolves with status 0. Default 10 s. */
  ackTimeoutMs?: number;
  /** How long a delivery waits for the app to connect. Default 10 s. */
  connectTimeoutMs?: number;
}

interface PendingAck {
  resolve: (result: DeliveryResult) => void;
  started: number;
  timer: NodeJS.Timeout;
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Install Socket Mode on a started emulator and route its deliveries over the socket. */
export function installSocketMode(emulator: SlackEmulator, options: SocketModeOptions): SocketModeTransport {
  const transport = new SocketModeTransport(emulator, options);
  emulator.setTransport(transport);
  return transport;
}

export class SocketModeTransport implements EventTransport {
  /** Everything the app sent over the socket, parsed (acks with their payloads). */
  readonly received: Record<string, unknown>[] = [];
  /** How many times the app opened a connection (reconnects included). */
  connectionsOpened = 0;

  private readonly connections: WebSocketConnection[] = [];
  private readonly tickets = new Set<string>();
  private readonly pending = new Map<string, PendingAck>();
  private connectionWaiters: Array<() => void> = [];
  private readonly path: string;

  constructor(
    private readonly emulator: SlackEmulator,
    private readonly options: SocketModeOptions,
  ) {
    this.path = options.path ?? '/socket';
    emulator.registerMethod('apps.connections.open', () => this.openConnectionUrl(), {
      token: options.appToken,
    });
    emulator.onUpgrade(this.path, (request, socket, head) => this.accept(request, socket, head));
  }

  get connected(): boolean {
    return this.connections.some((connection) => connection.open);
  }

  async deliver(delivery: Delivery): Promise<DeliveryResult> {
    if (delivery.options.rawBody !== undefined || delivery.options.signingSecret !== undefined) {
      throw new Error('Socket Mode deliveries are not signed and carry no raw bytes; use the HTTP transport');
    }
    const connection = await this.waitForConnection();
    const envelopeId = randomUUID();
    const envelope = toEnvelope(envelopeId, delivery);
    const started = performance.now();
    const acked = new Promise<DeliveryResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelopeId);
        resolve({ status: 0, body: '', elapsedMs: performance.now() - started });
      }, this.options.ackTimeoutMs ?? 10_000);
      this.pending.set(envelopeId, { resolve, started, timer });
    });
    connection.sendText(JSON.stringify(envelope));
    return acked;
  }

  /** Resolves once an app is connected; rejects after `timeoutMs`. */
  async waitForConnection(timeoutMs = this.options.connectTimeoutMs ?? 10_000): Promise<WebSocketConnection> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const connection = this.connections.findLast((candidate) => candidate.open);
      if (connection) return connection;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no Socket Mode connection within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.connectionWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Ask the app to reconnect, as Slack does before rotating a server (`refresh_requested`). */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const connection of this.connections) {
      if (connection.open)
        connection.sendText(
          JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-emulated' } }),
        );
    }
  }

  close(): void {
    for (const connection of this.connections) connection.close();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.resolve({ status: 0, body: '', elapsedMs: performance.now() - pending.started });
      this.pending.delete(id);
    }
  }

  private openConnectionUrl(): Record<string, unknown> {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    const url = new URL(this.emulator.baseUrl);
    return { url: `ws://${url.host}${this.path}?ticket=${ticket}` };
  }

  private accept(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('ticket') ?? '';
    const key = request.headers['sec-websocket-key'];
    if (!this.tickets.delete(ticket) || typeof key !== 'string') {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const connection = new WebSocketConnection(socket, (text) => this.onMessage(text));
    if (head.length > 0) connection.receive(head);
    this.connections.push(connection);
    this.connectionsOpened += 1;
    connection.sendText(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.filter((candidate) => candidate.open).length,
        debug_info: { host: 'applink-emulated', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: this.emulator.apiAppId },
      }),
    );
    const waiters = this.connectionWaiters;
    this.connectionWaiters = [];
    for (const wake of waiters) wake();
  }

  private onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      // Slack ignores frames it cannot parse; so does the emulator (they stay out of `received`).
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const record = message as Record<string, unknown>;
    this.received.push(record);
    const envelopeId = typeof record.envelope_id === 'string' ? record.envelope_id : '';
    const pending = this.pending.get(envelopeId);
    if (!pending) return;
    this.pending.delete(envelopeId);
    clearTimeout(pending.timer);
    const payload = record.payload;
    const hasPayload = typeof payload === 'object' && payload !== null && Object.keys(payload).length > 0;
    pending.resolve({
      status: 200,
      body: hasPayload ? JSON.stringify(payload) : '',
      elapsedMs: performance.now() - pending.started,
    });
  }
}

function toEnvelope(envelopeId: string, delivery: Delivery): Record<string, unknown> {
  if (delivery.kind === 'events_api') {
    return {
      envelope_id: envelopeId,
      type: 'events_api',
      payload: delivery.body,
      accepts_response_payload: false,
      retry_attempt: delivery.options.retryNum ?? 0,
      retry_reason: delivery.options.retryReason ?? '',
    };
  }
  const type = delivery.payload.type;
  return {
    envelope_id: envelopeId,
    type: 'interactive',
    payload: delivery.payload,
    accepts_response_payload: type === 'view_submission' || type === 'block_suggestion',
  };
}

/** The server half of one WebSocket (RFC 6455), enough for Slack's Socket Mode traffic. */
export class WebSocketConnection {
  open = true;
  private buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closeSent = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onText: (text: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.open = false;
    });
    // A reset from the app's side ends the connection; 'close' follows and records it.
    socket.on('error', () => socket.destroy());
  }

  sendText(text: string): void {
    if (this.open) this.socket.write(encodeFrame(0x1, Buffer.from(text, 'utf8')));
  }

  close(code = 1000): void {
    if (!this.open) return;
    this.sendClose(code);
    this.open = false;
    this.socket.end();
  }

  receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = decodeFrame(this.buffer);
      if (!frame) return;
      this.buffer = this.buffer.subarray(frame.size);
      this.handleFrame(frame);
    }
  }

  private handleFrame(frame: Frame): void {
    if (frame.opcode === 0x8) {
      this.sendClose(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1000);
      this.open = false;
      this.socket.end();
      return;
    }
    if (frame.opcode === 0x9) {
      this.socket.write(encodeFrame(0xa, frame.payload));
      return;
    }
    if (frame.opcode === 0xa) return;
    this.fragments.push(frame.payload);
    if (!frame.fin) return;
    const message = Buffer.concat(this.fragments);
    this.fragments = [];
    this.onText(message.toString('utf8'));
  }

  private sendClose(code: number): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code, 0);
    this.socket.write(encodeFrame(0x8, payload));
  }
}

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  size: number;
}

function decodeFrame(buffer: Buffer): Frame | undefined {
  if (buffer.length < 2) return undefined;
  const first = buffer[0]!;
  const second = buffer[1]!;
  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (second & 0x80) !== 0;
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) {
    for (let index = 0; index < payload.length; index += 1) {
      payload[index] = payload[index]! ^ buffer[maskOffset + (index % 4)]!;
    }
  }
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload, size: offset + length };
}

function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) {
    header[1] = length;
  } else if (length < 65_536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}
