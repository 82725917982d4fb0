import type { Sql } from './sql.js';

/**
 * The shipmate processes alive on one database: each writes its row at start, refreshes it
 * (with how many jobs it runs) every few seconds, and deletes it when it stops. A claim uses
 * it to prefer the process that holds a thread's worktree while that process is alive and
 * has a free slot; the doctor uses it to count processes.
 */
export class ProcessRegistry {
  constructor(
    private readonly db: Sql,
    readonly id: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async register(capacity: number): Promise<void> {
    const now = this.clock();
    await this.db.run(
      `INSERT INTO processes (id, capacity, running, started_at, seen_at) VALUES (?, ?, 0, ?, ?)
       ON CONFLICT (id) DO UPDATE SET capacity = excluded.capacity, seen_at = excluded.seen_at`,
      this.id,
      capacity,
      now,
      now,
    );
  }

  async beat(running: number): Promise<void> {
    await this.db.run(
      'UPDATE processes SET running = ?, seen_at = ? WHERE id = ?',
      running,
      this.clock(),
      this.id,
    );
  }

  async remove(): Promise<void> {
    await this.db.run('DELETE FROM processes WHERE id = ?', this.id);
  }

  /** Rows not refreshed for a long while belong to processes that died without saying so. */
  async forgetStale(olderThanMs: number): Promise<number> {
    return (await this.db.run('DELETE FROM processes WHERE seen_at < ?', this.clock() - olderThanMs)).changes;
  }
}
