import type { DigestConfig } from '../config.js';
import { AppError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DigestScheduleFields, DigestStore } from './digest-store.js';
import { nextRunAfter, parseSchedule, resolveTimeZone } from './schedule-spec.js';

export interface SeedReport {
  added: string[];
  updated: string[];
  kept: string[];
  removed: number;
  /** One line per unusable entry, naming the channel and what was wrong. */
  problems: string[];
}

/**
 * Puts the config file's `digests:` into the table. A channel whose schedule was set (or
 * turned off) with the command keeps it; an unchanged entry keeps its next run, so a
 * restart does not skip or repeat a digest; entries gone from the file are removed.
 */
export async function seedDigestsFromConfig(
  digests: readonly DigestConfig[],
  store: DigestStore,
  now: number,
  log: Logger,
): Promise<SeedReport> {
  const report: SeedReport = { added: [], updated: [], kept: [], removed: 0, problems: [] };
  const seen = new Set<string>();
  for (const [index, digest] of digests.entries()) {
    if (seen.has(digest.channel)) {
      report.problems.push(
        `digests.${index}: channel ${digest.channel} is listed twice; the first entry is used.`,
      );
      continue;
    }
    seen.add(digest.channel);
    let fields: DigestScheduleFields;
    try {
      fields = scheduleFields(digest, now);
    } catch (error) {
      const reason =
        error instanceof AppError && error.userMessage ? error.userMessage : describeError(error);
      report.problems.push(`digests.${index} (${digest.channel}, "${digest.schedule}"): ${reason}`);
      continue;
    }
    // Outside the try: a database that fails is not a problem in the config file.
    report[await store.seedFromConfig(digest.channel, fields)].push(digest.channel);
  }
  report.removed = await store.removeConfigSchedulesExcept([...seen]);
  for (const problem of report.problems) log.error({ problem }, 'digest-config-invalid');
  log.info(
    {
      added: report.added.length,
      updated: report.updated.length,
      kept: report.kept.length,
      removed: report.removed,
    },
    'digests-seeded',
  );
  return report;
}

/** The stored form of one config entry; throws an AppError saying what is wrong with it. */
function scheduleFields(digest: DigestConfig, now: number): DigestScheduleFields {
  const parsed = parseSchedule(digest.schedule);
  const timezone = parsed.timezone ?? resolveTimeZone(digest.timezone);
  return {
    spec: parsed.spec,
    cron: parsed.cron,
    timezone,
    quietDigest: parsed.quietDigest ?? 'line',
    nextRunAt: nextRunAfter(parsed.cron, timezone, now),
  };
}
