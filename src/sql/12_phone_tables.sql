-- Telephony: the phone numbers of territories and of their members (doc/telephony.md).  A config
-- table, kept by pg_dump; the functions, and the trigger that normalises every number written
-- to it, are in 36_phone_api.sql.

CREATE TABLE territory.phone_numbers (
    number        text PRIMARY KEY,
    territory_id  int4 NOT NULL REFERENCES territory.territories (id) ON DELETE CASCADE,
    user_id       int4 REFERENCES territory.sales_users (id) ON DELETE SET NULL,
    kind          text NOT NULL DEFAULT 'local',
    calling_code  text NOT NULL,
    country       text,
    region        text,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- a user's number belongs to a member of the territory; when the membership goes, the
    -- number stays with the territory (pg_dump also restores memberships first because of it)
    CONSTRAINT phone_numbers_member_fkey FOREIGN KEY (territory_id, user_id)
        REFERENCES territory.members (territory_id, user_id) ON DELETE SET NULL (user_id),
    CONSTRAINT phone_numbers_number_check CHECK (number ~ '^[+][1-9][0-9]{6,14}$'),
    CONSTRAINT phone_numbers_kind_check CHECK (kind IN ('main', 'local', 'toll_free', 'mobile', 'direct'))
);
-- a territory's lines; also serves the foreign keys of deleted territories and memberships
CREATE INDEX phone_numbers_territory_user_idx ON territory.phone_numbers (territory_id, user_id);
CREATE INDEX phone_numbers_user_idx ON territory.phone_numbers (user_id) WHERE user_id IS NOT NULL;

COMMENT ON TABLE territory.phone_numbers IS
    'Phone numbers (E.164) of territories and of their members: territory.route_call() routes calls with them';
COMMENT ON COLUMN territory.phone_numbers.number IS
    'The number in E.164 form (+ and 7 to 15 digits), normalised on every write: write it as you like, +49 30 1234567 or 0049-30-1234567';
COMMENT ON COLUMN territory.phone_numbers.territory_id IS 'The territory whose number it is';
COMMENT ON COLUMN territory.phone_numbers.user_id IS
    'The member of the territory whose line it is; NULL for a line of the territory itself (also when the membership ended)';
COMMENT ON COLUMN territory.phone_numbers.kind IS
    'main, local, toll_free, mobile or direct; decides which line of a territory calls are transferred to (in that order)';
COMMENT ON COLUMN territory.phone_numbers.calling_code IS 'Country calling code of the number (1, 49, 353...), derived from it';
COMMENT ON COLUMN territory.phone_numbers.country IS
    'ISO 3166-1 alpha-2 code of the country of the number, derived from it; NULL when the calling code is not a country''s (toll-free +1, +800...)';
COMMENT ON COLUMN territory.phone_numbers.region IS
    'Area code, derived from the number for +1 (North America) and +7 (Russia, Kazakhstan); NULL elsewhere';
COMMENT ON COLUMN territory.phone_numbers.created_at IS 'When the number was added';

SELECT pg_catalog.pg_extension_config_dump('territory.phone_numbers', '');
