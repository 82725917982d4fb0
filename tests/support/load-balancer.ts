import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A round-robin HTTP load balancer in front of several shipmate processes, as a team runs
 * them in HTTP mode (nginx, an ALB, a Kubernetes Service). A backend that refuses the
 * connection (killed) gets the next one tried; when none answers the sender sees 502, which
 * Slack treats as a failed delivery and retries
 * (https://docs.slack.dev/apis/events-api/#retries: "we'll retry ... when ... a response other than 2xx").
 */
export class LoadBalancer {
  private server: Server | undefined;
  private next = 0;
  readonly served = new Map<string, number>();

  constructor(private readonly backends: () => string[]) {}

  async start(): Promise<string> {
    this.server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        const targets = this.backends();
        const start = this.next++;
        const attempt = (tried: number): void => {
          if (tried >= targets.length) {
            outgoing.writeHead(502).end('no backend');
            return;
          }
          const target = new URL(incoming.url ?? '/', targets[(start + tried) % targets.length]);
          const forward = httpRequest(
            target,
            { method: incoming.method, headers: incoming.headers },
            (answer) => {
              this.served.set(target.host, (this.served.get(target.host) ?? 0) + 1);
              outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(outgoing);
            },
          );
          forward.on('error', () => attempt(tried + 1));
          forward.end(body);
        };
        attempt(0);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
