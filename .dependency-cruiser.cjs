// Folder boundaries of src/, enforced by `npm run lint:deps` (part of `npm run check` and CI).
// See "Critical rules" in AGENTS.md. Every folder may import itself and the shared root files.

// Root files every folder may import.
const SHARED = '^src/(config|errors|log|scrub-secrets)\\.ts$';
// Anything in src/ (the composition root src/main.ts and src/services.ts included).
const SRC = '^src/';

/** A rule: modules matching `from` may import nothing in src/ except what `allowed` matches. */
function onlyImports(name, comment, from, allowed) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from },
    to: { path: SRC, pathNot: [...allowed, SHARED] },
  };
}

/** A rule: only modules matching `owner` may import the npm packages matching `pkg` (a regex fragment). */
function onlyOwnerImports(name, comment, owner, pkg) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: SRC, pathNot: owner },
    to: { path: [`(^|/)node_modules/${pkg}`, `^${pkg}`] },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'Import cycles make load order fragile and blur which module owns what; type-only imports count ' +
        'too, because a type cycle is the same design knot. Move the shared piece down a layer (a port).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },

    onlyImports(
      'slack-layer',
      'src/slack/ implements the ports declared by handlers and jobs; it must not reach into the rooms ' +
        '(agent, forge, scripts, permissions, digests) or the infrastructure: main.ts wires those together.',
      '^src/slack/',
      ['^src/(slack|handlers|jobs)/'],
    ),
    onlyImports(
      'handlers-layer',
      'Handlers decide and enqueue before the ack; they only talk to the job queue and its ports, never ' +
        'to a room, the workspace or storage directly, and never to Slack.',
      '^src/handlers/',
      ['^src/(handlers|jobs)/'],
    ),
    onlyImports(
      'agent-room',
      'The agent room depends only on jobs, workspace and storage; the other rooms plug into it through ' +
        'its ports and tool sources, never the other way round. Rooms never import handlers or slack.',
      '^src/agent/',
      ['^src/(agent|jobs|workspace|storage)/'],
    ),
    onlyImports(
      'rooms-plugging-into-agent',
      'forge, scripts and permissions may use jobs, workspace, storage and the agent (they plug tools and ' +
        'ports into it), but not each other, digests, handlers or slack: main.ts composes the rooms.',
      '^src/(forge|scripts|permissions)/',
      ['^src/($1|agent|jobs|workspace|storage)/'],
    ),
    onlyImports(
      'digests-room',
      'The digests room uses only jobs, workspace and storage; it imports no other room, nor handlers or slack.',
      '^src/digests/',
      ['^src/(digests|jobs|workspace|storage)/'],
    ),
    onlyImports(
      'jobs-layer',
      'jobs declares the ports (Notifier, JobHandler) the rooms and slack implement; it may only use the ' +
        'infrastructure below it (workspace, storage), or the dependency direction turns around.',
      '^src/jobs/',
      ['^src/(jobs|workspace|storage)/'],
    ),
    onlyImports(
      'workspace-is-a-leaf',
      'workspace (mirrors, worktrees, sandbox) is infrastructure: it knows nothing of jobs, rooms or Slack.',
      '^src/workspace/',
      ['^src/workspace/'],
    ),
    onlyImports(
      'storage-is-a-leaf',
      'storage (database, migrations) is infrastructure: it knows nothing of jobs, rooms or Slack.',
      '^src/storage/',
      ['^src/storage/'],
    ),
    onlyImports(
      'shared-imports-only-shared',
      'errors, log and scrub-secrets are imported by every folder, so they may import no folder themselves.',
      '^src/(errors|log|scrub-secrets)\\.ts$',
      [],
    ),
    onlyImports(
      'config-imports-only-network-address',
      'config.ts is imported by every folder; its one exception is src/workspace/network-address.ts, which ' +
        'it uses to validate the configured hosts.',
      '^src/config\\.ts$',
      ['^src/workspace/network-address\\.ts$'],
    ),
    {
      name: 'no-tests-or-bench-from-src',
      comment:
        'Production code must not depend on test support or benchmarks (they are not built or shipped).',
      severity: 'error',
      from: { path: SRC },
      to: { path: '^(tests|bench)/' },
    },

    onlyOwnerImports(
      'only-forge-knows-github',
      "Only src/forge/ knows GitHub's API (Octokit); everything else goes through the forge's providers.",
      '^src/forge/',
      '@octokit/',
    ),
    onlyOwnerImports(
      'only-slack-knows-slack',
      "Only src/slack/ knows Slack's wire format and SDKs; the rest talks to the Notifier and other ports.",
      '^src/slack/',
      '@slack/',
    ),
    onlyOwnerImports(
      'only-agent-knows-the-model-api',
      'Only src/agent/ talks to the model API (openai); the rest goes through the agent room.',
      '^src/agent/',
      'openai(/|$)',
    ),
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports are dependencies too (they are erased at compile time, but still couple modules).
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // Resolve packages through their package.json "exports" too (the defaults only read "main"): without
    // it @octokit/rest, which has exports and no main, does not resolve and the forge rule cannot see it.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    // Only src/ is checked. node_modules, tests and bench are listed too, because includeOnly also drops
    // the dependencies on modules it leaves out: with '^src' alone the package rules and the
    // tests/bench rule above could never fire. Those modules are reached only from src/ and are not
    // followed further (doNotFollow, and the cruise starts at src).
    includeOnly: ['^src/', '^node_modules/', '^tests/', '^bench/'],
  },
};
