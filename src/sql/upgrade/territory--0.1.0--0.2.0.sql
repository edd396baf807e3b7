-- territory: upgrade from 0.1.0 to 0.2.0.
-- Every change made to src/sql for 0.2.0 must be made here too, so that an updated 0.1.0 install
-- equals a fresh 0.2.0 install: test/upgrade/run checks it.

\echo Use "ALTER EXTENSION territory UPDATE TO '0.2.0'" to load this file. \quit
