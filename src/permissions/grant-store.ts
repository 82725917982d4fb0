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

  /** The first grant of a domain stands; a second click (from any process) changes nothing. */
  async grant(repo: string, domain: string, grantedBy: string): Promise<void> {
    await this.db.run(
      `INSERT INTO network_grants (repo, domain, granted_by, granted_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (repo, domain) DO NOTHING`,
      repo,
      domain,
      grantedBy,
      this.clock(),
    );
  }

  async domainsFor(repo: string): Promise<string[]> {
    const rows = await this.db.all<{ domain: string }>(
      'SELECT domain FROM network_grants WHERE repo = ? ORDER BY domain',
      repo,
    );
    return rows.map((row) => row.domain);
  }

  async all(): Promise<NetworkGrant[]> {
    const rows = await this.db.all<{ repo: string; domain: string; granted_by: string; granted_at: number }>(
      'SELECT * FROM network_grants ORDER BY repo, domain',
    );
    return rows.map((row) => ({
      repo: row.repo,
      domain: row.domain,
      grantedBy: row.granted_by,
      grantedAt: row.granted_at,
    }));
  }
}
