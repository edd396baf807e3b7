-- The demo's forecast: this quarter's targets for Global and its regions, EMEA's split down to
-- its countries by their open pipeline, and a commit adjustment by the EMEA manager.

SELECT territory.period_of(current_date, 'quarter') AS quarter \gset
SELECT territory.set_target(t.id, :'quarter', amount)
  FROM (VALUES ('GLOBAL', 600000000), ('EMEA', 250000000), ('AMER', 120000000), ('APAC', 100000000)) v(code, amount)
  JOIN territory.territories t USING (code);
SELECT count(*) AS countries_split
  FROM territory.split_target((SELECT id FROM territory.territories WHERE code = 'EMEA'), :'quarter', 'pipeline');
-- every rep of a country gets an even share of the country's target
SELECT territory.set_target(m.territory_id, :'quarter',
                            round(t.amount / count(*) OVER (PARTITION BY m.territory_id), 2), u.key)
  FROM territory.members m
  JOIN territory.sales_users u ON u.id = m.user_id AND u.key LIKE 'rep%'
  JOIN territory.targets t ON t.territory_id = m.territory_id AND t.user_id IS NULL
   AND t.period OPERATOR(pg_catalog.=) :'quarter'::territory.period;
