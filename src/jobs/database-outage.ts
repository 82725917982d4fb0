import type { Logger } from '../log.js';
import { isDatabaseUnavailable } from '../storage/sql.js';

/**
 * The worker pool's view of the database being away (a PostgreSQL restart): one warn line
 * when it goes, one info line when it is back, never one per tick, and writes that must not
 * be lost retried until it answers again.
 */
export class DatabaseOutage {
  private down = false;

  constructor(
    private readonly log: Logger,
    private readonly backoffMs: number,
  ) {}

  get unavailable(): boolean {
    return this.down;
  }

  /** True when `error` is the database being unreachable (logged once per outage); false for any other error. */
  noteFailure(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    if (!this.down) {
      this.down = true;
      this.log.warn(
        { event: 'database-unavailable', err: { message: (error as Error)?.message } },
        'the database is not answering; jobs wait until it is back',
      );
    }
    return true;
  }

  noteSuccess(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info({ event: 'database-available' }, 'the database answers again');
  }

  /** The wait before trying again after the `attempt`-th failure: the backoff, doubling, at most 5 s. */
  delay(attempt: number): number {
    return Math.min(5_000, this.backoffMs * 2 ** Math.max(0, attempt - 1));
  }

  /** Runs `write` until it gets through: connection errors are waited out, anything else is thrown. */
  async persist<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const value = await write();
        this.noteSuccess();
        return value;
      } catch (error) {
        if (!this.noteFailure(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.delay(attempt)));
      }
    }
  }
}
