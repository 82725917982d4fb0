/** `npm run bench`: every benchmark, printed as figures and ratios. */
import { runSlackBench } from './slack-bench.js';

const benches: Array<[string, () => Promise<void>]> = [['Slack edge and jobs', runSlackBench]];

for (const [name, run] of benches) {
  console.log(`\n== ${name}`);
  await run();
}
