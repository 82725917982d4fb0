/**
 * `npm run bench`: every benchmark, printed as figures and ratios. Nothing is asserted.
 * `npm run bench -- change` (or `npx tsx bench/run.ts change slack`) runs only the benches whose
 * key or name contains one of the words; `--name value` options pass through to the benches.
 */
import { runAgentContextBench } from './agent-context-bench.js';
import { runChangeBench } from './change-bench.js';
import { runScaleBench } from './scale-bench.js';
import { runSlackBench } from './slack-bench.js';
import { runSlackNativeBench } from './slack-native-bench.js';
import { runWorkspaceBench } from './workspace-bench.js';

const benches: Array<[key: string, name: string, run: () => Promise<void>]> = [
  ['workspace', 'Workspaces and sandbox', runWorkspaceBench],
  ['slack', 'Slack edge and jobs', runSlackBench],
  ['change', 'Change request to pull request', runChangeBench],
  ['agent', 'Agent context and sessions', runAgentContextBench],
  ['native', 'Task cards and streamed answers', runSlackNativeBench],
  ['scale', 'Several processes on one PostgreSQL', runScaleBench],
];

/** Words on the command line that are neither `--options` nor their values. */
function selectors(argv: string[]): string[] {
  const words: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg.startsWith('--')) {
      if (!arg.includes('=') && argv[index + 1] !== undefined && !argv[index + 1]!.startsWith('--'))
        index += 1;
      continue;
    }
    words.push(arg.toLowerCase());
  }
  return words;
}

const wanted = selectors(process.argv.slice(2));
const selected = benches.filter(
  ([key, name]) =>
    wanted.length === 0 || wanted.some((word) => key.includes(word) || name.toLowerCase().includes(word)),
);
if (selected.length === 0) {
  console.log(`no bench matches ${wanted.join(', ')}; known: ${benches.map(([key]) => key).join(', ')}`);
  process.exitCode = 1;
}

for (const [, name, run] of selected) {
  console.log(`\n== ${name}`);
  await run();
}
