-- The configuration of the Citus suite (test/citus/cluster.pl), written through the server it
-- runs on: a hierarchy with types, sales users with their managers, memberships with roles and
-- validity, access levels, owner assignment, stages edited and added.  The same on one server
-- and through a cluster's coordinator.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT territory.add_type('Region', 2) AS region \gset
SELECT territory.add_type('Country', 3) AS country \gset
SELECT territory.add_territory('Global', code => 'G', type => :region) AS g \gset
SELECT territory.add_territory('EMEA', :g, 'EMEA', :region) AS emea \gset
SELECT territory.add_territory('DACH', :emea, 'DACH', :country) AS dach \gset
SELECT territory.add_territory('France', :emea, 'FR', :country) AS fr \gset
SELECT territory.add_territory('Americas', :g, 'AMER', :region) AS amer \gset
SELECT territory.add_territory('USA', :amer, 'US', :country) AS us \gset
SELECT territory.add_territory('USA West', :us, 'USW') AS usw \gset
SELECT territory.add_territory('Brazil', :amer, 'BR', :country) AS br \gset
SELECT territory.add_user('olga', 'Olga Ops', sees_all => true);
SELECT territory.add_user('vera', 'Vera VP');
SELECT territory.add_user('emma', 'Emma Schmidt', manager => 'vera');
SELECT territory.add_user('dave', 'Dave Weber', manager => 'emma');
SELECT territory.add_user('fred', 'Fred Martin', manager => 'emma');
SELECT territory.add_user('adam', 'Adam Stone', manager => 'vera');
SELECT territory.add_user('wes', 'Wes Brown', manager => 'adam');
SELECT territory.add_user('kim', 'Kim Lee');
SELECT territory.add_member(:emea, 'emma', 'manager');
SELECT territory.add_member(:dach, 'dave');
SELECT territory.add_member(:fr, 'fred');
SELECT territory.add_member(:amer, 'adam', 'manager');
SELECT territory.add_member(:usw, 'wes');
SELECT territory.add_member(:br, 'kim', valid_to => '2020-12-31');
SELECT territory.set_access(:fr, 'deal', 'none');
SELECT territory.set_access(:dach, 'lead', 'read');
SELECT territory.set_owner_assignment(:usw, 'round_robin');
UPDATE territory.stages SET probability = 70, position = 55 WHERE stage = 'Negotiation';
INSERT INTO territory.stages (stage, category, probability, position) VALUES ('Verbal', 'commit', 90, 62);
