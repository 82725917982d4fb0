import type { Logger } from '../log.js';
import type { DatabaseOutage } from './database-outage.js';

export interface ClaimLoopOptions {
  /** Claims and starts one job; false when there was nothing to claim or no free slot. */
  claimOne: () => Promise<boolean>;
  outage: DatabaseOutage;
  log: Logger;
}

/**
 * Claims until nothing is left or the slots are full, whenever kicked (a wakeup, a finished
 * job, the safety poll). Kicks during a round are coalesced into one more round; a failed
 * round (the database away) is tried again after a backoff, never thrown.
 */
export class ClaimLoop {
  private round: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: ClaimLoopOptions) {}

  kick(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.again = false;
    this.round = this.claimAll().finally(() => {
      this.round = undefined;
      if (this.again) this.kick();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
  }

  private async claimAll(): Promise<void> {
    const { claimOne, outage, log } = this.options;
    try {
      while (!this.stopped && (await claimOne())) {
        outage.noteSuccess();
        this.failures = 0;
      }
      outage.noteSuccess();
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      if (!outage.noteFailure(error)) log.error({ err: error }, 'job-claim-failed');
      if (this.retry || this.stopped) return;
      this.retry = setTimeout(() => {
        this.retry = undefined;
        this.kick();
      }, outage.delay(this.failures));
      this.retry.unref();
    }
  }
}
