import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HealthReport {
  ok: boolean;
  [key: string]: unknown;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** The report; may read the database (job counts), so it can be asynchronous. */
  health: () => HealthReport | Promise<HealthReport>;
  /** Whether events are taken now (answers 503 otherwise, so Slack retries). */
  ready: () => boolean;
  /** POST /slack/events (HTTP mode). Answers 503 until the app is ready, so Slack retries. */
  events?: RouteHandler;
  /** Extra routes by path prefix (the playground). */
  prefixes?: Record<string, RouteHandler>;
}

/** One HTTP server for both modes: /healthz always, /slack/events in HTTP mode, the playground when on. */
export async function startHttpServer(options: HttpServerOptions): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    try {
      if (path === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
        Promise.resolve(options.health()).then(
          (report) => {
            response.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
            response.end(JSON.stringify(report));
          },
          (error: unknown) => {
            options.log.error({ err: error, path }, 'http-request-failed');
            if (!response.headersSent) plain(response, 500, 'internal error');
          },
        );
        return;
      }
      if (path === '/slack/events' && options.events) {
        if (request.method !== 'POST') return plain(response, 405, 'method not allowed');
        if (!options.ready()) return plain(response, 503, 'starting');
        const started = process.hrtime.bigint();
        response.once('finish', () => {
          const ackMs = Number(process.hrtime.bigint() - started) / 1e6;
          options.log.debug(
            { ackMs: Math.round(ackMs * 100) / 100, status: response.statusCode },
            'slack-request-acked',
          );
        });
        options.events(request, response);
        return;
      }
      for (const [prefix, handler] of Object.entries(options.prefixes ?? {})) {
        if (path === prefix || path.startsWith(`${prefix}/`)) return handler(request, response);
      }
      plain(response, 404, 'not found');
    } catch (error) {
      options.log.error({ err: error, path }, 'http-request-failed');
      if (!response.headersSent) plain(response, 500, 'internal error');
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { server, port };
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain' });
  response.end(text);
}
