/** Network domains a writer allowed for a repository ("Always for this repo"). */
export const sql = `
CREATE TABLE network_grants (
  repo TEXT NOT NULL,
  domain TEXT NOT NULL,
  granted_by TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  PRIMARY KEY (repo, domain)
);
`;
