/**
 * The tree a change summary showed (and the commit it applies to), so Open PR commits exactly
 * what was reviewed without reading the checkout again.
 */
export const sql = `
ALTER TABLE changes ADD COLUMN staged_parent TEXT;
ALTER TABLE changes ADD COLUMN staged_tree TEXT;
`;
