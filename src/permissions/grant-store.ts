import type { Database } from '../storage/database.js';

export interface NetworkGrant {
  repo: string;
  domain: string;
  grantedBy: string;
  grantedAt: number;
}

/** "Always for this repo" answers to the sandbox's network questions. */
export class GrantStore {
  constructor(
    private readonly db: Database,
    private readonly clock: () => number = Date.now,
  ) {}

  grant(repo: string, domain: string, grantedBy: string): void {
    this.db
      .prepare(
        `INSERT INTO network_grants (repo, domain, granted_by, granted_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (repo, domain) DO NOTHING`,
      )
      .run(repo, domain, grantedBy, this.clock());
  }

  domainsFor(repo: string): string[] {
    return (
      this.db.prepare('SELECT domain FROM network_grants WHERE repo = ? ORDER BY domain').all(repo) as Array<{
        domain: string;
      }>
    ).map((row) => row.domain);
  }

  all(): NetworkGrant[] {
    return (
      this.db.prepare('SELECT * FROM network_grants ORDER BY repo, domain').all() as Array<{
        repo: string;
        domain: string;
        granted_by: string;
        granted_at: number;
      }>
    ).map((row) => ({
      repo: row.repo,
      domain: row.domain,
      grantedBy: row.granted_by,
      grantedAt: row.granted_at,
    }));
  }
}
