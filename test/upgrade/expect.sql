-- expect(what, got, want): raises an error naming what differs (psql -v ON_ERROR_STOP=1 then
-- stops the script).  In pg_temp: nothing of it stays in the database.
CREATE FUNCTION pg_temp.expect(what text, got text, want text) RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF got IS DISTINCT FROM want THEN
        RAISE EXCEPTION '%: got %, want %', what, coalesce(got, 'NULL'), coalesce(want, 'NULL');
    END IF;
END
$$;
