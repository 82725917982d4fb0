import type { RepoConfig } from '../config.js';

/**
 * Turns `path:line` citations into links to that commit when the repo has a GitHub remote.
 * Only paths that look like files are linked; code blocks are left alone.
 */
export function linkCitations(
  markdown: string,
  options: { repo: Pick<RepoConfig, 'github'>; commit: string; webUrl: string },
): string {
  if (!options.repo.github || !options.commit) return markdown;
  const base = `${options.webUrl}/${options.repo.github}/blob/${options.commit}`;
  return markdown
    .split(/(```[\s\S]*?```)/g)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part.replace(
            /(?<!\[)`?((?:[\w.-]+\/)*[\w.-]+\.[A-Za-z0-9]{1,8}):(\d+)(?:-(\d+))?`?(?!\]|\()/g,
            (_match, path: string, start: string, end: string | undefined) =>
              `[${path}:${start}${end ? `-${end}` : ''}](${base}/${path}#L${start}${end ? `-L${end}` : ''})`,
          ),
    )
    .join('');
}
