-- The demo organisation: a global sales team with regions, countries and cities, plus a branch of
-- named-account territories.  Loaded by demo/run into a fresh database; later issues extend it.
\set ON_ERROR_STOP on
\set QUIET on

CREATE EXTENSION territory;

-- Territory types, most important first: a deal goes to its account's best-typed territory.
SELECT territory.add_type('Named Accounts', 1) AS t_named,
       territory.add_type('City', 2)           AS t_city,
       territory.add_type('Country', 3)        AS t_country,
       territory.add_type('Region', 4)         AS t_region,
       territory.add_type('Global', 5)         AS t_global \gset

SELECT territory.add_territory('Global', code => 'GLOBAL', type => :t_global) AS global \gset

CREATE TEMP TABLE geo (region text, region_code text, country text, iso text, cities text[]);
INSERT INTO geo VALUES
 ('Americas', 'AMER', 'United States', 'US', '{New York,Boston,Chicago,Atlanta,Miami,Dallas,Houston,Austin,Denver,Phoenix,Seattle,San Francisco,Los Angeles,San Diego,Minneapolis,Detroit}'),
 ('Americas', 'AMER', 'Canada', 'CA', '{Toronto,Montreal,Vancouver,Calgary,Ottawa,Edmonton}'),
 ('Americas', 'AMER', 'Mexico', 'MX', '{Mexico City,Guadalajara,Monterrey,Puebla}'),
 ('Americas', 'AMER', 'Brazil', 'BR', '{São Paulo,Rio de Janeiro,Belo Horizonte,Brasília,Porto Alegre,Curitiba}'),
 ('Americas', 'AMER', 'Argentina', 'AR', '{Buenos Aires,Córdoba,Rosario,Mendoza}'),
 ('Americas', 'AMER', 'Chile', 'CL', '{Santiago,Valparaíso,Concepción}'),
 ('Americas', 'AMER', 'Colombia', 'CO', '{Bogotá,Medellín,Cali,Barranquilla}'),
 ('EMEA', 'EMEA', 'Germany', 'DE', '{Berlin,Hamburg,Munich,Cologne,Frankfurt,Stuttgart,Düsseldorf,Leipzig,Dresden,Hanover}'),
 ('EMEA', 'EMEA', 'Austria', 'AT', '{Vienna,Graz,Linz,Salzburg,Innsbruck}'),
 ('EMEA', 'EMEA', 'Switzerland', 'CH', '{Zurich,Geneva,Basel,Bern,Lausanne}'),
 ('EMEA', 'EMEA', 'France', 'FR', '{Paris,Lyon,Marseille,Toulouse,Nice,Nantes,Strasbourg,Bordeaux,Lille}'),
 ('EMEA', 'EMEA', 'United Kingdom', 'GB', '{London,Manchester,Birmingham,Leeds,Glasgow,Edinburgh,Bristol,Liverpool}'),
 ('EMEA', 'EMEA', 'Ireland', 'IE', '{Dublin,Cork,Galway}'),
 ('EMEA', 'EMEA', 'Netherlands', 'NL', '{Amsterdam,Rotterdam,The Hague,Utrecht,Eindhoven}'),
 ('EMEA', 'EMEA', 'Belgium', 'BE', '{Brussels,Antwerp,Ghent,Liège}'),
 ('EMEA', 'EMEA', 'Spain', 'ES', '{Madrid,Barcelona,Valencia,Seville,Bilbao,Málaga}'),
 ('EMEA', 'EMEA', 'Portugal', 'PT', '{Lisbon,Porto,Braga}'),
 ('EMEA', 'EMEA', 'Italy', 'IT', '{Rome,Milan,Naples,Turin,Bologna,Florence,Genoa}'),
 ('EMEA', 'EMEA', 'Sweden', 'SE', '{Stockholm,Gothenburg,Malmö,Uppsala}'),
 ('EMEA', 'EMEA', 'Norway', 'NO', '{Oslo,Bergen,Trondheim}'),
 ('EMEA', 'EMEA', 'Denmark', 'DK', '{Copenhagen,Aarhus,Odense}'),
 ('EMEA', 'EMEA', 'Finland', 'FI', '{Helsinki,Espoo,Tampere}'),
 ('EMEA', 'EMEA', 'Poland', 'PL', '{Warsaw,Kraków,Wrocław,Gdańsk,Poznań}'),
 ('EMEA', 'EMEA', 'Czechia', 'CZ', '{Prague,Brno,Ostrava}'),
 ('EMEA', 'EMEA', 'United Arab Emirates', 'AE', '{Dubai,Abu Dhabi,Sharjah}'),
 ('EMEA', 'EMEA', 'Saudi Arabia', 'SA', '{Riyadh,Jeddah,Dammam}'),
 ('EMEA', 'EMEA', 'South Africa', 'ZA', '{Johannesburg,Cape Town,Durban,Pretoria}'),
 ('EMEA', 'EMEA', 'Nigeria', 'NG', '{Lagos,Abuja}'),
 ('EMEA', 'EMEA', 'Kenya', 'KE', '{Nairobi,Mombasa}'),
 ('APAC', 'APAC', 'Japan', 'JP', '{Tokyo,Osaka,Nagoya,Yokohama,Fukuoka,Sapporo,Kyoto}'),
 ('APAC', 'APAC', 'South Korea', 'KR', '{Seoul,Busan,Incheon,Daegu}'),
 ('APAC', 'APAC', 'China', 'CN', '{Shanghai,Beijing,Shenzhen,Guangzhou,Chengdu,Hangzhou}'),
 ('APAC', 'APAC', 'Hong Kong', 'HK', '{Hong Kong}'),
 ('APAC', 'APAC', 'Taiwan', 'TW', '{Taipei,Kaohsiung,Taichung}'),
 ('APAC', 'APAC', 'Singapore', 'SG', '{Singapore}'),
 ('APAC', 'APAC', 'Malaysia', 'MY', '{Kuala Lumpur,Penang,Johor Bahru}'),
 ('APAC', 'APAC', 'Indonesia', 'ID', '{Jakarta,Surabaya,Bandung}'),
 ('APAC', 'APAC', 'Thailand', 'TH', '{Bangkok,Chiang Mai}'),
 ('APAC', 'APAC', 'Vietnam', 'VN', '{Ho Chi Minh City,Hanoi,Da Nang}'),
 ('APAC', 'APAC', 'Philippines', 'PH', '{Manila,Cebu}'),
 ('APAC', 'APAC', 'India', 'IN', '{Mumbai,Delhi,Bangalore,Hyderabad,Chennai,Pune,Kolkata,Ahmedabad}'),
 ('APAC', 'APAC', 'Australia', 'AU', '{Sydney,Melbourne,Brisbane,Perth,Adelaide,Canberra}'),
 ('APAC', 'APAC', 'New Zealand', 'NZ', '{Auckland,Wellington,Christchurch}');

-- Regions, countries and cities, each through the API, codes like EMEA, EMEA-DE, EMEA-DE-BERLIN.
CREATE TEMP TABLE region AS
SELECT r.region, r.region_code,
       territory.add_territory(r.region, :global, r.region_code, :t_region) AS id
  FROM (SELECT DISTINCT ON (region) region, region_code FROM geo ORDER BY region) r;

CREATE TEMP TABLE country AS
SELECT g.country, g.iso, g.cities, g.region_code,
       territory.add_territory(g.country, r.id, g.region_code || '-' || g.iso, :t_country) AS id
  FROM geo g JOIN region r USING (region)
 ORDER BY g.region, g.country;

SELECT count(territory.add_territory(city.name, c.id,
           c.region_code || '-' || c.iso || '-' ||
               regexp_replace(upper(city.name), '[^[:alnum:]]+', '_', 'g'),
           :t_city))
  FROM country c, unnest(c.cities) WITH ORDINALITY AS city(name, n) \gset

-- Named accounts: the largest customers, owned globally whatever their address.
SELECT territory.add_territory('Strategic Accounts', :global, 'NAMED', :t_named) AS named \gset
SELECT count(territory.add_territory(a, :named, 'NAMED-' || upper(replace(a, ' ', '_')), :t_named))
  FROM unnest('{Acme Corporation,Globex,Initech,Umbrella Group,Stark Industries,Wayne Enterprises,Tyrell,Cyberdyne}'::text[]) a \gset
