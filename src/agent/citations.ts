import type { RepoConfig } from '../config.js';
import type { FileLink } from './ports.js';

/**
 * Turns `path:line` citations into links to that commit on the repository's forge: `link`
 * is the forge's (the FileLinks port; the agent knows no forge's URLs). Only paths that look
 * like files are linked; code blocks are left alone.
 */
export function linkCitations(
  markdown: string,
  options: { commit: string; link?: FileLink | undefined } & LegacyGitHubLink,
): string {
  const link = options.link ?? legacyGitHubLink(options);
  if (!link || !options.commit) return markdown;
  return markdown
    .split(/(```[\s\S]*?```)/g)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part.replace(
            /(?<!\[)`?((?:[\w.-]+\/)*[\w.-]+\.[A-Za-z0-9]{1,8}):(\d+)(?:-(\d+))?`?(?!\]|\()/g,
            (_match, path: string, start: string, end: string | undefined) =>
              `[${path}:${start}${end ? `-${end}` : ''}](${link(options.commit, path, Number(start), end ? Number(end) : undefined)})`,
          ),
    )
    .join('');
}

/**
 * The form callers used before the FileLinks port: a `github:` repo and its web URL. Kept so
 * those callers (older unit tests) still read; the agent job passes `link`. Remove with them.
 */
interface LegacyGitHubLink {
  repo?: Pick<RepoConfig, 'github'>;
  webUrl?: string;
}

function legacyGitHubLink(options: LegacyGitHubLink): FileLink | undefined {
  const { repo, webUrl } = options;
  if (!repo?.github || !webUrl) return undefined;
  return (commit, path, start, end) =>
    `${webUrl}/${repo.github}/blob/${commit}/${path}#L${start}${end ? `-L${end}` : ''}`;
}
