import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const entryPoint = join(root, 'dist', 'main.js');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * The real app as a child process (`node dist/main.js`), configured only through env,
 * exactly as a user runs it. Logs are parsed JSON lines kept for assertions.
 */
export class AppProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  port = 0;
  readonly dataDir: string;
  /** The app's working directory (default: the install directory, as `npm start` runs it). */
  readonly cwd: string;
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;

  constructor(
    private readonly env: Record<string, string>,
    options: { dataDir?: string; cwd?: string } = {},
  ) {
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'shipmate-data-'));
    this.cwd = options.cwd ?? root;
  }

  get eventsUrl(): string {
    return `http://127.0.0.1:${this.port}/slack/events`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the app and resolves when it logs `shipmate-ready` (or rejects when it exits first). */
  async start(options: { waitFor?: string; timeoutMs?: number } = {}): Promise<void> {
    const child = spawn(process.execPath, ['--enable-source-maps', entryPoint], {
      cwd: this.cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        PORT: '0',
        SHIPMATE_HOST: '127.0.0.1',
        SHIPMATE_DATA_DIR: this.dataDir,
        LOG_LEVEL: 'debug',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const parsed = JSON.parse(line) as LogLine;
          this.logs.push(parsed);
          if (parsed.msg === 'server-listening' && typeof parsed.port === 'number') this.port = parsed.port;
        } catch {
          this.logs.push({ level: 30, msg: line });
        }
        newline = buffer.indexOf('\n');
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    const wanted = options.waitFor ?? 'shipmate-ready';
    const ready = this.waitForLog((line) => line.msg === wanted, options.timeoutMs ?? 20_000);
    const exited = this.exit.then((code) => {
      throw new Error(`app exited with ${code} before ${wanted}: ${this.stderr}`);
    });
    await Promise.race([ready, exited]);
  }

  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return waitFor(() => this.logs.find(predicate), timeoutMs, 'log line');
  }

  /** Graceful stop (SIGTERM) and wait for exit. */
  async stop(): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill('SIGTERM');
    return this.exit!;
  }

  /** kill -9: no chance to clean up, as after a crash. */
  async crash(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exit;
  }

  async exitCode(): Promise<number | null> {
    return this.exit!;
  }

  allOutput(): string {
    return `${this.logs.map((line) => JSON.stringify(line)).join('\n')}\n${this.stderr}`;
  }

  cleanup(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Polls until `probe` returns a value, with a deadline. Never a fixed sleep. */
export async function waitFor<T>(
  probe: () => T | undefined | false | null,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
