import { type Config, isWriter } from '../config.js';
import type { CommandRoute } from '../jobs/command-job.js';
import type { UsageStore } from './usage-store.js';

/** `budget` shows the channel's daily model budget; `budget <tokens>` lets a writer set it. */
export function createBudgetCommand(config: Readonly<Config>, usage: UsageStore): CommandRoute<'budget'> {
  return async (command, { job }) => {
    const used = await usage.channelTokensToday(job.channel);
    if (command.tokens === undefined) {
      const limit = (await usage.channelBudget(job.channel)) ?? config.limits.channelDailyTokens;
      const cap =
        limit === undefined ? 'no daily cap' : `a cap of ${limit.toLocaleString('en-US')} tokens a day`;
      return {
        reply: {
          markdown: `This channel used ${used.toLocaleString('en-US')} model tokens in the last 24 hours; it has ${cap}.`,
        },
      };
    }
    if (!isWriter(config, job.userId)) {
      return { reply: { markdown: 'Only people listed in `access.writers` can change the channel budget.' } };
    }
    if (!Number.isSafeInteger(command.tokens) || command.tokens <= 0) {
      return {
        reply: { markdown: 'Give the budget as a whole number of tokens, for example `budget 2000000`.' },
      };
    }
    await usage.setChannelBudget(job.channel, command.tokens, job.userId);
    return {
      reply: {
        markdown: `Done: this channel may now use ${command.tokens.toLocaleString('en-US')} tokens a day (${used.toLocaleString('en-US')} used in the last 24 hours).`,
      },
    };
  };
}
