import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ChannelHistory } from './ports.js';

/** What a person types in a channel to let shipmate in. */
export const inviteCommand = '/invite @shipmate';

/**
 * Digest channels shipmate must be a member of: it joins the public ones itself before
 * reading or posting, and remembers the ones a person has to invite it to (a private
 * channel, or a join Slack refused), for the log and /healthz.
 */
export class DigestChannels {
  private readonly needInvite = new Map<string, string>();

  constructor(private readonly deps: { history: ChannelHistory; log: Logger }) {}

  /** Throws an AppError (the run fails with a sentence saying what to do) when shipmate cannot get in. */
  async ensure(channel: string): Promise<void> {
    const { history, log } = this.deps;
    if (!history.ensureMember) return;
    const membership = await history.ensureMember(channel);
    switch (membership.status) {
      case 'member':
        this.needInvite.delete(channel);
        return;
      case 'joined':
        this.needInvite.delete(channel);
        log.info({ channel }, 'digest-channel-joined');
        return;
      case 'unknown':
        log.warn({ channel, reason: membership.reason }, 'digest-channel-membership-unknown');
        return;
      case 'needs-invite': {
        this.needInvite.set(channel, membership.reason);
        const fix = `type ${inviteCommand} in channel ${channel}`;
        log.warn({ channel, reason: membership.reason, fix }, 'digest-needs-invite');
        throw new AppError('config-invalid', `shipmate is not in ${channel} (${membership.reason})`, {
          userMessage: `I am not a member of this channel (${membership.reason}); ${fix} so I can post its digest.`,
          fields: { channel },
        });
      }
    }
  }

  /** Checks every channel once (at start-up), joining what it can; never throws. */
  async checkAll(channels: readonly string[]): Promise<void> {
    for (const channel of new Set(channels)) {
      try {
        await this.ensure(channel);
      } catch {
        // Already logged as digest-needs-invite; the channel is listed for /healthz.
      }
    }
  }

  /** Channels whose digest cannot be posted until someone types `/invite @shipmate` there. */
  needingInvite(): string[] {
    return [...this.needInvite.keys()].sort();
  }
}
