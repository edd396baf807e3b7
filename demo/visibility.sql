-- The demo's people: 40 reps (the owners rep1 .. rep40), a manager per region, an admin; the
-- reps are members of the countries of their region, the managers of their region (role
-- manager); row-level security on accounts, contacts and deals; and the role the CRM uses.

SELECT territory.add_user('admin', 'Ada Admin', sees_all => true);
SELECT territory.add_user('mgr-' || lower(t.code), 'Manager of ' || t.name)
  FROM territory.territories t WHERE t.parent_id = (SELECT id FROM territory.territories WHERE code = 'GLOBAL')
   AND t.code IN ('EMEA', 'AMER', 'APAC');
SELECT territory.add_member(t.id, 'mgr-' || lower(t.code), 'manager')
  FROM territory.territories t WHERE t.code IN ('EMEA', 'AMER', 'APAC');
-- rep1 .. rep40, spread over the countries, reporting to their region's manager
WITH countries AS (
    SELECT c.id, c.code, p.code AS region, row_number() OVER (ORDER BY c.code) AS n, count(*) OVER () AS total
      FROM territory.territories c JOIN territory.territories p ON p.id = c.parent_id
     WHERE p.code IN ('EMEA', 'AMER', 'APAC'))
SELECT territory.add_user('rep' || r, 'Rep ' || r, manager => 'mgr-' || lower(c.region)),
       territory.add_member(c.id, 'rep' || r)
  FROM generate_series(1, 40) r
  JOIN countries c ON c.n = 1 + (r - 1) % c.total;

SELECT territory.enable_visibility('accounts');
SELECT territory.enable_visibility('contacts');
SELECT territory.enable_visibility('deals');

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crm_app') THEN
        CREATE ROLE crm_app NOLOGIN;
    END IF;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, contacts, deals, leads TO crm_app;
GRANT SET ON PARAMETER "territory.user" TO crm_app;
