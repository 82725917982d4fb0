import { loadConfig } from './config.js';
import { exitCodeFor, formatReport, runChecks } from './doctor/index.js';
import { ConfigError } from './errors.js';
import { createScrubber } from './scrub-secrets.js';
import { checkSlackScopes } from './slack/slack-doctor.js';

/**
 * `npm run doctor`: loads the config as the app does, runs every check in src/doctor/ and
 * prints one line per check. Exits 1 when a check is blocking (or the config does not load).
 * Like main.ts, this is a composition root: it alone hands Slack's check to the doctor.
 */
async function doctor(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const scrub = createScrubber();
    process.stdout.write(scrub(`✗ config\n${error.problems.map((problem) => `  ${problem}`).join('\n')}\n`));
    return 1;
  }
  const scrub = createScrubber(config.secrets);
  process.stdout.write('shipmate doctor\n\n');
  const results = await runChecks(config, { slackScopes: checkSlackScopes });
  process.stdout.write(scrub(formatReport(results)));
  return exitCodeFor(results);
}

doctor().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(createScrubber()(`doctor failed: ${message}\n`));
    process.exitCode = 1;
  },
);
