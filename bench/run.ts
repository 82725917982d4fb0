/** `npm run bench`: every benchmark, printed as figures and ratios. Nothing is asserted. */
import { runSlackBench } from './slack-bench.js';
import { runWorkspaceBench } from './workspace-bench.js';

const benches: Array<[string, () => Promise<void>]> = [
  ['Workspaces and sandbox', runWorkspaceBench],
  ['Slack edge and jobs', runSlackBench],
];

for (const [name, run] of benches) {
  console.log(`\n== ${name}`);
  await run();
}
