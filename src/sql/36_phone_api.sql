-- Telephony (doc/telephony.md): E.164 phone numbers, the numbers of territories and of their
-- members (territory.phone_numbers, in 12_phone_tables.sql), and call routing.
--
-- The parsing functions are pure: IMMUTABLE, so that an index on
-- territory.try_normalize_phone(phone) of an application table makes the caller look-up of
-- route_call() an index scan; executable by everyone, as index expressions are evaluated with
-- the privileges of whoever writes the table.  Their data (the country calling codes of ITU-T
-- E.164 and the area codes of the North American Numbering Plan outside the United States) is in
-- the functions below: it changes with the extension's version, never underneath an index.

-- Internal: the country calling codes assigned by ITU-T E.164, each with the ISO 3166-1 alpha-2
-- code of its country (null for the codes of no country: +1 and +7 are resolved by area code,
-- +800 and the like are global services) and a name.  A code shared by a country and smaller
-- territories with ISO codes of their own gives the country's (+44: GB); the name says so.
-- Spare and withdrawn codes are left out on purpose: a number using one is refused.
CREATE FUNCTION territory._calling_codes() RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN $codes${
    "1": [null, "North American Numbering Plan (United States, Canada and 23 other countries; by area code)"],
    "7": [null, "Russia and Kazakhstan (Kazakhstan: +7 6 and +7 7)"], "20": ["EG", "Egypt"],
    "27": ["ZA", "South Africa"], "30": ["GR", "Greece"], "31": ["NL", "Netherlands"],
    "32": ["BE", "Belgium"], "33": ["FR", "France"], "34": ["ES", "Spain"], "36": ["HU", "Hungary"],
    "39": ["IT", "Italy (also Vatican City)"], "40": ["RO", "Romania"], "41": ["CH", "Switzerland"],
    "43": ["AT", "Austria"], "44": ["GB", "United Kingdom (also Guernsey, Jersey, Isle of Man)"],
    "45": ["DK", "Denmark"], "46": ["SE", "Sweden"],
    "47": ["NO", "Norway (also Svalbard and Jan Mayen)"], "48": ["PL", "Poland"],
    "49": ["DE", "Germany"], "51": ["PE", "Peru"], "52": ["MX", "Mexico"], "53": ["CU", "Cuba"],
    "54": ["AR", "Argentina"], "55": ["BR", "Brazil"], "56": ["CL", "Chile"], "57": ["CO", "Colombia"],
    "58": ["VE", "Venezuela"], "60": ["MY", "Malaysia"],
    "61": ["AU", "Australia (also Christmas Island, Cocos (Keeling) Islands)"],
    "62": ["ID", "Indonesia"], "63": ["PH", "Philippines"],
    "64": ["NZ", "New Zealand (also Pitcairn Islands)"], "65": ["SG", "Singapore"],
    "66": ["TH", "Thailand"], "81": ["JP", "Japan"], "82": ["KR", "South Korea"],
    "84": ["VN", "Vietnam"], "86": ["CN", "China"], "90": ["TR", "Turkey"], "91": ["IN", "India"],
    "92": ["PK", "Pakistan"], "93": ["AF", "Afghanistan"], "94": ["LK", "Sri Lanka"],
    "95": ["MM", "Myanmar"], "98": ["IR", "Iran"], "211": ["SS", "South Sudan"],
    "212": ["MA", "Morocco (also Western Sahara)"], "213": ["DZ", "Algeria"], "216": ["TN", "Tunisia"],
    "218": ["LY", "Libya"], "220": ["GM", "Gambia"], "221": ["SN", "Senegal"],
    "222": ["MR", "Mauritania"], "223": ["ML", "Mali"], "224": ["GN", "Guinea"],
    "225": ["CI", "Cote d'Ivoire"], "226": ["BF", "Burkina Faso"], "227": ["NE", "Niger"],
    "228": ["TG", "Togo"], "229": ["BJ", "Benin"], "230": ["MU", "Mauritius"], "231": ["LR", "Liberia"],
    "232": ["SL", "Sierra Leone"], "233": ["GH", "Ghana"], "234": ["NG", "Nigeria"],
    "235": ["TD", "Chad"], "236": ["CF", "Central African Republic"], "237": ["CM", "Cameroon"],
    "238": ["CV", "Cabo Verde"], "239": ["ST", "Sao Tome and Principe"],
    "240": ["GQ", "Equatorial Guinea"], "241": ["GA", "Gabon"], "242": ["CG", "Congo"],
    "243": ["CD", "Democratic Republic of the Congo"], "244": ["AO", "Angola"],
    "245": ["GW", "Guinea-Bissau"], "246": ["IO", "British Indian Ocean Territory (Diego Garcia)"],
    "247": ["SH", "Ascension Island"], "248": ["SC", "Seychelles"], "249": ["SD", "Sudan"],
    "250": ["RW", "Rwanda"], "251": ["ET", "Ethiopia"], "252": ["SO", "Somalia"],
    "253": ["DJ", "Djibouti"], "254": ["KE", "Kenya"], "255": ["TZ", "Tanzania"],
    "256": ["UG", "Uganda"], "257": ["BI", "Burundi"], "258": ["MZ", "Mozambique"],
    "260": ["ZM", "Zambia"], "261": ["MG", "Madagascar"], "262": ["RE", "Reunion (also Mayotte)"],
    "263": ["ZW", "Zimbabwe"], "264": ["NA", "Namibia"], "265": ["MW", "Malawi"],
    "266": ["LS", "Lesotho"], "267": ["BW", "Botswana"], "268": ["SZ", "Eswatini"],
    "269": ["KM", "Comoros"], "290": ["SH", "Saint Helena and Tristan da Cunha"],
    "291": ["ER", "Eritrea"], "297": ["AW", "Aruba"], "298": ["FO", "Faroe Islands"],
    "299": ["GL", "Greenland"], "350": ["GI", "Gibraltar"], "351": ["PT", "Portugal"],
    "352": ["LU", "Luxembourg"], "353": ["IE", "Ireland"], "354": ["IS", "Iceland"],
    "355": ["AL", "Albania"], "356": ["MT", "Malta"], "357": ["CY", "Cyprus"],
    "358": ["FI", "Finland (also Aland Islands)"], "359": ["BG", "Bulgaria"], "370": ["LT", "Lithuania"],
    "371": ["LV", "Latvia"], "372": ["EE", "Estonia"], "373": ["MD", "Moldova"],
    "374": ["AM", "Armenia"], "375": ["BY", "Belarus"], "376": ["AD", "Andorra"],
    "377": ["MC", "Monaco"], "378": ["SM", "San Marino"],
    "379": ["VA", "Vatican City (reserved; Vatican numbers use +39 06 698)"], "380": ["UA", "Ukraine"],
    "381": ["RS", "Serbia"], "382": ["ME", "Montenegro"],
    "383": ["XK", "Kosovo (XK: user-assigned ISO code)"], "385": ["HR", "Croatia"],
    "386": ["SI", "Slovenia"], "387": ["BA", "Bosnia and Herzegovina"], "389": ["MK", "North Macedonia"],
    "420": ["CZ", "Czechia"], "421": ["SK", "Slovakia"], "423": ["LI", "Liechtenstein"],
    "500": ["FK", "Falkland Islands (also South Georgia and the South Sandwich Islands)"],
    "501": ["BZ", "Belize"], "502": ["GT", "Guatemala"], "503": ["SV", "El Salvador"],
    "504": ["HN", "Honduras"], "505": ["NI", "Nicaragua"], "506": ["CR", "Costa Rica"],
    "507": ["PA", "Panama"], "508": ["PM", "Saint Pierre and Miquelon"], "509": ["HT", "Haiti"],
    "590": ["GP", "Guadeloupe (also Saint Barthelemy, Saint Martin)"], "591": ["BO", "Bolivia"],
    "592": ["GY", "Guyana"], "593": ["EC", "Ecuador"], "594": ["GF", "French Guiana"],
    "595": ["PY", "Paraguay"], "596": ["MQ", "Martinique"], "597": ["SR", "Suriname"],
    "598": ["UY", "Uruguay"], "599": ["CW", "Curacao (also Caribbean Netherlands)"],
    "670": ["TL", "Timor-Leste"], "672": ["NF", "Norfolk Island (also Australian Antarctic Territory)"],
    "673": ["BN", "Brunei"], "674": ["NR", "Nauru"], "675": ["PG", "Papua New Guinea"],
    "676": ["TO", "Tonga"], "677": ["SB", "Solomon Islands"], "678": ["VU", "Vanuatu"],
    "679": ["FJ", "Fiji"], "680": ["PW", "Palau"], "681": ["WF", "Wallis and Futuna"],
    "682": ["CK", "Cook Islands"], "683": ["NU", "Niue"], "685": ["WS", "Samoa"],
    "686": ["KI", "Kiribati"], "687": ["NC", "New Caledonia"], "688": ["TV", "Tuvalu"],
    "689": ["PF", "French Polynesia"], "690": ["TK", "Tokelau"], "691": ["FM", "Micronesia"],
    "692": ["MH", "Marshall Islands"], "800": [null, "International Freephone Service"],
    "808": [null, "International Shared Cost Service"], "850": ["KP", "North Korea"],
    "852": ["HK", "Hong Kong"], "853": ["MO", "Macao"], "855": ["KH", "Cambodia"], "856": ["LA", "Laos"],
    "870": [null, "Inmarsat"], "878": [null, "Universal Personal Telecommunication Service"],
    "880": ["BD", "Bangladesh"], "881": [null, "Global Mobile Satellite System"],
    "882": [null, "International Networks"], "883": [null, "International Networks"],
    "886": ["TW", "Taiwan"], "888": [null, "Telecommunications for Disaster Relief (OCHA)"],
    "960": ["MV", "Maldives"], "961": ["LB", "Lebanon"], "962": ["JO", "Jordan"], "963": ["SY", "Syria"],
    "964": ["IQ", "Iraq"], "965": ["KW", "Kuwait"], "966": ["SA", "Saudi Arabia"],
    "967": ["YE", "Yemen"], "968": ["OM", "Oman"], "970": ["PS", "Palestine"],
    "971": ["AE", "United Arab Emirates"], "972": ["IL", "Israel"], "973": ["BH", "Bahrain"],
    "974": ["QA", "Qatar"], "975": ["BT", "Bhutan"], "976": ["MN", "Mongolia"], "977": ["NP", "Nepal"],
    "979": [null, "International Premium Rate Service"],
    "991": [null, "International Telecommunication Public Correspondence Service trial"],
    "992": ["TJ", "Tajikistan"], "993": ["TM", "Turkmenistan"], "994": ["AZ", "Azerbaijan"],
    "995": ["GE", "Georgia"], "996": ["KG", "Kyrgyzstan"], "998": ["UZ", "Uzbekistan"]
}$codes$::jsonb;
COMMENT ON FUNCTION territory._calling_codes() IS
    'Internal: the country calling codes of ITU-T E.164, code -> [ISO country or null, name] (read them in territory.calling_codes)';

-- Internal: the area codes of the North American Numbering Plan (+1) that are not of the United
-- States, with their ISO country: Canada, the Caribbean members, and the US territories that have
-- ISO codes of their own (PR, VI, GU, MP, AS); null for the toll-free and other non-geographic
-- codes.  Every other area code is of the United States.
CREATE FUNCTION territory._nanp_area_codes() RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN $codes${
    "204": "CA", "226": "CA", "236": "CA", "242": "BS", "246": "BB", "249": "CA", "250": "CA",
    "257": "CA", "263": "CA", "264": "AI", "268": "AG", "284": "VG", "289": "CA", "306": "CA",
    "340": "VI", "343": "CA", "345": "KY", "354": "CA", "365": "CA", "367": "CA", "368": "CA",
    "382": "CA", "403": "CA", "416": "CA", "418": "CA", "428": "CA", "431": "CA", "437": "CA",
    "438": "CA", "441": "BM", "450": "CA", "468": "CA", "473": "GD", "474": "CA", "500": null,
    "506": "CA", "514": "CA", "519": "CA", "521": null, "522": null, "533": null, "544": null,
    "548": "CA", "566": null, "577": null, "579": "CA", "581": "CA", "584": "CA", "587": "CA",
    "588": null, "600": "CA", "604": "CA", "613": "CA", "639": "CA", "647": "CA", "649": "TC",
    "658": "JM", "664": "MS", "670": "MP", "671": "GU", "672": "CA", "683": "CA", "684": "AS",
    "700": null, "705": "CA", "709": "CA", "721": "SX", "742": "CA", "753": "CA", "758": "LC",
    "767": "DM", "778": "CA", "780": "CA", "782": "CA", "784": "VC", "787": "PR", "800": null,
    "807": "CA", "809": "DO", "819": "CA", "825": "CA", "829": "DO", "833": null, "844": null,
    "849": "DO", "855": null, "866": null, "867": "CA", "868": "TT", "869": "KN", "873": "CA",
    "876": "JM", "877": null, "879": "CA", "888": null, "900": null, "902": "CA", "905": "CA",
    "939": "PR", "942": "CA"
}$codes$::jsonb;
COMMENT ON FUNCTION territory._nanp_area_codes() IS
    'Internal: area codes of the North American Numbering Plan outside the United States -> ISO country (null: non-geographic, such as toll-free)';

CREATE VIEW territory.calling_codes WITH (security_invoker = true) AS
    SELECT c.key AS code, c.value ->> 0 AS country, c.value ->> 1 AS name
      FROM pg_catalog.jsonb_each(territory._calling_codes()) AS c;
COMMENT ON VIEW territory.calling_codes IS
    'The country calling codes (ITU-T E.164) the extension knows: a number whose code is not here is refused';
COMMENT ON COLUMN territory.calling_codes.code IS 'The calling code, without +';
COMMENT ON COLUMN territory.calling_codes.country IS
    'ISO 3166-1 alpha-2 code of its country; NULL for +1 and +7 (by area code) and for global services (+800...)';
COMMENT ON COLUMN territory.calling_codes.name IS 'Who uses it; shared codes name every country and territory that shares them';

-- ---------------------------------------------------------------- parsing

-- Internal: a phone number taken apart.  problem is NULL for a valid number, else a sentence
-- saying what is wrong (and every other field is NULL).  The steps, in order: surrounding
-- spaces and a tel: prefix go; an extension at the end (ext. 12, x12, #12, ;ext=12) is split
-- off; after an international prefix, a trunk zero in parentheses goes (+44 (0)20 -> +44 20);
-- separators go (white space, . - / ( ) and the Unicode no-break spaces and dashes); what is
-- left must be + or 00, then 7 to 15 digits beginning with an assigned country calling code.
CREATE FUNCTION territory._phone_parse(raw text, OUT number text, OUT extension text, OUT calling_code text,
                                       OUT country text, OUT region text, OUT problem text)
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text := regexp_replace(btrim(raw), '^tel:', '', 'i');
    parts text[];
    bad text;
    digits text;
    info jsonb;
    rest text;
BEGIN
    parts := regexp_match(s, E'^(.*[^[:alpha:]#;])\\s*(;ext=|extension|ext|x|#)[.:]?\\s*([0-9]{1,10})$', 'i');
    IF parts IS NOT NULL THEN
        s := parts[1];
        extension := parts[3];
    END IF;
    IF s ~ E'^\\s*([+]|00)' THEN
        s := replace(s, '(0)', '');
    END IF;
    s := regexp_replace(s, E'[\\s.()/\\u00a0\\u2007\\u2009\\u202f\\u2010-\\u2015\\u2212\\u3000-]', '', 'g');
    bad := substring(s from '[^0-9+]');
    digits := CASE WHEN left(s, 1) = '+' THEN substr(s, 2) ELSE substr(s, 3) END;
    IF s = '' THEN
        problem := 'It is empty.';
    ELSIF bad IS NOT NULL THEN
        problem := format('It contains "%s" (U+%s), which is neither a digit nor a separator.',
                          bad, upper(lpad(to_hex(ascii(bad)), 4, '0')));
    ELSIF strpos(substr(s, 2), '+') > 0 THEN
        problem := 'A plus sign may only begin the number.';
    ELSIF s !~ '^([+]|00)' THEN
        problem := 'It has no country code: an international number begins with + or 00.';
    ELSIF digits = '' THEN
        problem := 'It has no digits.';
    ELSIF left(digits, 1) = '0' THEN
        problem := 'A country calling code does not begin with 0.';
    ELSIF length(digits) NOT BETWEEN 7 AND 15 THEN
        problem := format('It has %s digits; an international number has 7 to 15.', length(digits));
    ELSE
        -- calling codes are prefix-free: at most one of the first 1, 2 or 3 digits is one
        FOR i IN 1..3 LOOP
            info := territory._calling_codes() -> left(digits, i);
            IF info IS NOT NULL THEN
                calling_code := left(digits, i);
                EXIT;
            END IF;
        END LOOP;
        rest := substr(digits, length(calling_code) + 1);
        region := left(rest, 3);
        IF calling_code IS NULL THEN
            problem := format('Its first digits (+%s) are not a country calling code.', left(digits, 3));
        ELSIF calling_code = '1' THEN
            -- NXX NXX XXXX, and area codes are not N11 (those are service codes)
            IF length(rest) <> 10 THEN
                problem := format('Numbers of the North American Numbering Plan (+1) have 10 digits after the 1; it has %s.',
                                  length(rest));
            ELSIF region !~ '^[2-9]' OR substr(region, 2) = '11' THEN
                problem := format('%s is not an area code of the North American Numbering Plan: they begin with 2 to 9 and do not end in 11.',
                                  region);
            ELSIF substr(rest, 4, 1) !~ '[2-9]' THEN
                problem := format('%s is not an exchange code of the North American Numbering Plan: they begin with 2 to 9.',
                                  substr(rest, 4, 3));
            ELSE
                country := CASE WHEN territory._nanp_area_codes() ? region
                                THEN territory._nanp_area_codes() ->> region ELSE 'US' END;
            END IF;
        ELSIF calling_code = '7' THEN
            IF length(rest) <> 10 THEN
                problem := format('Numbers of Russia and Kazakhstan (+7) have 10 digits after the 7; it has %s.',
                                  length(rest));
            ELSE
                country := CASE WHEN left(rest, 1) IN ('6', '7') THEN 'KZ' ELSE 'RU' END;
            END IF;
        ELSE
            country := info ->> 0;
            region := NULL;
        END IF;
    END IF;
    IF problem IS NOT NULL THEN
        SELECT NULL, NULL, NULL, NULL INTO extension, calling_code, country, region;
    ELSE
        number := '+' || digits;
    END IF;
END
$$;
COMMENT ON FUNCTION territory._phone_parse(text) IS
    'Internal: a phone number taken apart (E.164 number, extension, calling code, country, region), or the problem that makes it invalid';

CREATE FUNCTION territory.parse_phone(phone text, OUT number text, OUT extension text, OUT calling_code text,
                                      OUT country text, OUT region text)
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := territory._phone_parse(phone);
BEGIN
    IF p.problem IS NOT NULL THEN
        RAISE EXCEPTION 'invalid phone number: "%"', phone
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = p.problem,
                  HINT = 'Write it in international form, such as +49 30 1234567: + (or 00), the country code and the number; spaces, dots, dashes, slashes and parentheses may separate the digits.';
    END IF;
    SELECT p.number, p.extension, p.calling_code, p.country, p.region
      INTO parse_phone.number, parse_phone.extension, parse_phone.calling_code, parse_phone.country,
           parse_phone.region;
END
$$;
COMMENT ON FUNCTION territory.parse_phone(text) IS
    'A phone number taken apart: its E.164 form, extension, country calling code, ISO country and region (the area code of +1 and +7 numbers); an error (22023) when it is invalid';

CREATE FUNCTION territory.normalize_phone(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN (territory.parse_phone(phone)).number;
COMMENT ON FUNCTION territory.normalize_phone(text) IS
    'A phone number in E.164 form (+4930123456), without its extension; an error (22023) naming the number and what is wrong with it when it is invalid';

CREATE FUNCTION territory.try_normalize_phone(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN (territory._phone_parse(phone)).number;
COMMENT ON FUNCTION territory.try_normalize_phone(text) IS
    'A phone number in E.164 form, without its extension; NULL when it is invalid (to match stored numbers, which are often messy; index it)';

-- ---------------------------------------------------------------- the numbers of territories

-- Internal: a number as territory.phone_numbers keeps it: valid, and without an extension.
CREATE FUNCTION territory._registrable_phone(raw text, OUT number text, OUT calling_code text, OUT country text,
                                             OUT region text)
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := territory.parse_phone(raw);
BEGIN
    IF p.extension IS NOT NULL THEN
        RAISE EXCEPTION 'phone number "%" has an extension', raw
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Calls are routed by the number dialled, %s; the extension (%s) is dialled after the call is answered.',
                                  p.number, p.extension),
                  HINT = 'Register the number without its extension.';
    END IF;
    SELECT p.number, p.calling_code, p.country, p.region INTO number, calling_code, country, region;
END
$$;
COMMENT ON FUNCTION territory._registrable_phone(text) IS
    'Internal: a number in the form territory.phone_numbers keeps, with its calling code, country and region; an error when invalid or with an extension';

CREATE FUNCTION territory._phone_numbers_before_write() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := territory._registrable_phone(NEW.number);
BEGIN
    NEW.number := p.number;
    NEW.calling_code := p.calling_code;
    NEW.country := p.country;
    NEW.region := p.region;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION territory._phone_numbers_before_write() IS
    'Internal: normalises the number written to territory.phone_numbers and derives its calling code, country and region';
CREATE TRIGGER phone_numbers_before_write BEFORE INSERT OR UPDATE ON territory.phone_numbers
    FOR EACH ROW EXECUTE FUNCTION territory._phone_numbers_before_write();

-- Internal: what a line is, in words: "main line of Global / EMEA", "direct line of ana in
-- Global / EMEA / DACH".
CREATE FUNCTION territory._line_label(kind text, territory int4, user_id int4) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN replace(kind, '_', '-') || ' line of '
           || coalesce((SELECT u.key || ' in ' FROM territory.sales_users u WHERE u.id = user_id), '')
           || territory.path(territory);
COMMENT ON FUNCTION territory._line_label(text, int4, int4) IS
    'Internal: a phone line described in words (its kind, its user, the path of its territory)';

CREATE FUNCTION territory.add_phone_number(number text, territory int4, user_key text DEFAULT NULL,
                                           kind text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := territory._registrable_phone(add_phone_number.number);
    k text := lower(btrim(add_phone_number.kind));
    uid int4;
    ends date;
    taken territory.phone_numbers;
BEGIN
    IF add_phone_number.number IS NULL THEN
        RAISE EXCEPTION 'phone number must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM territory._check_territory(add_phone_number.territory);
    PERFORM territory._check_model_writable(territory._territory_model(add_phone_number.territory));
    IF k NOT IN ('main', 'local', 'toll_free', 'mobile', 'direct') THEN
        RAISE EXCEPTION 'unknown kind of phone number: %', add_phone_number.kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The kinds are main, local, toll_free, mobile and direct.';
    END IF;
    IF user_key IS NOT NULL THEN
        uid := territory._user_id(user_key);
        SELECT coalesce(m.valid_to, 'infinity') INTO ends FROM territory.members m
         WHERE m.territory_id = add_phone_number.territory AND m.user_id = uid;
        IF NOT FOUND OR ends < current_date THEN
            RAISE EXCEPTION 'sales user "%" is not a member of territory %', user_key, add_phone_number.territory
                USING ERRCODE = 'undefined_object',
                      DETAIL = CASE WHEN FOUND THEN format('The membership ended on %s.', to_char(ends, 'YYYY-MM-DD'))
                                    ELSE 'A user''s number belongs to a territory the user is a member of.' END,
                      HINT = 'Add the membership with territory.add_member().';
        END IF;
    END IF;
    SELECT * INTO taken FROM territory.phone_numbers n WHERE n.number = p.number;
    IF FOUND THEN
        RAISE EXCEPTION 'phone number % is already registered', p.number
            USING ERRCODE = 'unique_violation',
                  DETAIL = format('It is the %s.', territory._line_label(taken.kind, taken.territory_id, taken.user_id)),
                  HINT = format('Remove it first with territory.remove_phone_number(%L).', p.number);
    END IF;
    INSERT INTO territory.phone_numbers (number, territory_id, user_id, kind)
        VALUES (p.number, add_phone_number.territory, uid,
                coalesce(k, CASE WHEN uid IS NULL THEN 'local' ELSE 'direct' END));
    RETURN p.number;
END
$$;
COMMENT ON FUNCTION territory.add_phone_number(text, int4, text, text) IS
    'Register a phone number (any usual writing of an E.164 number) for a territory, or with user_key for a member''s line; kind: main, local (default), toll_free, mobile or direct (default for a user); returns it normalised';

CREATE FUNCTION territory.remove_phone_number(number text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := territory._registrable_phone(remove_phone_number.number);
BEGIN
    DELETE FROM territory.phone_numbers n WHERE n.number = p.number;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'phone number % is not registered', coalesce(p.number, 'NULL')
            USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION territory.remove_phone_number(text) IS 'Remove a registered phone number';

-- ---------------------------------------------------------------- routing

-- Internal: the best of some territories by the rule that gives a deal its territory: the best
-- type priority (a territory without a type comes last), then the deepest, then the lowest id.
CREATE FUNCTION territory._best_territory(ids int4[]) RETURNS int4
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    RETURN (SELECT t.id
              FROM territory.territories t
              LEFT JOIN territory.territory_types ty ON ty.id = t.type_id
             WHERE t.id = ANY (ids)
             ORDER BY ty.priority NULLS LAST, territory.depth(t.id) DESC, t.id
             LIMIT 1);
COMMENT ON FUNCTION territory._best_territory(int4[]) IS
    'Internal: the best of some territories as deals choose (type priority, then depth, then id); NULL for none';

-- Internal: the line calls for a territory go to: a line of the territory itself (no user's),
-- else of its nearest ancestor that has one, leaving out the ancestors of stop; in a territory,
-- by kind (main, local, toll_free, mobile, direct), then by number.  The lines of a territory of
-- the active model include those registered on the territories of its code in other models
-- (numbers left behind when a clone of the model was activated).
CREATE FUNCTION territory._territory_line(territory int4, stop int4, OUT number text, OUT territory_id int4,
                                          OUT kind text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT p.number, up.id, p.kind
      FROM (SELECT _territory_line.territory AS id, 0::int8 AS n
            UNION ALL
            SELECT a.id, a.n FROM territory.ancestors(_territory_line.territory) WITH ORDINALITY AS a(id, n)) up
     CROSS JOIN LATERAL (SELECT up.id AS id
                         UNION ALL
                         SELECT o.id
                           FROM territory.territories t
                           JOIN territory.territories o
                             ON o.model_id = ANY (ARRAY(SELECT m.id FROM territory.models m WHERE m.id <> t.model_id))
                            AND o.code = t.code
                          WHERE t.id = up.id AND t.model_id = territory.active_model()) r
      JOIN territory.phone_numbers p ON p.territory_id = r.id AND p.user_id IS NULL
     WHERE stop IS NULL OR NOT territory.is_ancestor(up.id, stop)
     ORDER BY up.n, array_position('{main,local,toll_free,mobile,direct}'::text[], p.kind), p.number
     LIMIT 1;
END;
COMMENT ON FUNCTION territory._territory_line(int4, int4) IS
    'Internal: the line of a territory calls go to (its own, else its nearest ancestor''s, not above stop), best kind first';

-- Internal: the records of the managed tables with a phone column whose number is the caller's,
-- in the order route_call() takes them: contacts, leads, accounts, deals, then by table and key.
-- Each table is searched with territory.try_normalize_phone(<its phone column>) = number,
-- exactly the expression an index should have.  Row-level security is off: the caller is found
-- whoever asks (an owner subject to its policies gets an error rather than a wrong answer).
CREATE FUNCTION territory._caller_records(number text)
    RETURNS TABLE (n int8, tbl regclass, kind text, key text, account text, territories int4[])
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    SET row_security = off
AS $$
DECLARE
    q text;
BEGIN
    SELECT string_agg(format('SELECT %s::pg_catalog.oid::pg_catalog.regclass AS tbl, %L::text AS kind, r.%I::text AS key,'
                             ' %s AS account, %s AS territories FROM %s r'
                             ' WHERE territory.try_normalize_phone(r.%I) OPERATOR(pg_catalog.=) $1',
                             m.tbl::oid, m.kind, m.key_column,
                             CASE WHEN m.account_column IS NULL THEN 'NULL::text'
                                  ELSE format('r.%I::text', m.account_column) END,
                             CASE WHEN m.kind = 'deal'
                                  THEN format('pg_catalog.array_remove(ARRAY[r.%I], NULL)', m.territory_column)
                                  ELSE format('r.%I', m.territory_column) END,
                             m.tbl, m.phone_column),
                      ' UNION ALL ')
      INTO q
      FROM territory.managed_tables m
     WHERE m.phone_column IS NOT NULL;
    IF q IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT pg_catalog.row_number() OVER (ORDER BY pg_catalog.array_position(''{contact,lead,account,deal}''::text[], c.kind),'
        ' c.tbl::text, c.key COLLATE "C"), c.tbl, c.kind, c.key, c.account, c.territories FROM (' || q || ') c ORDER BY 1'
        USING number;
END
$$;
COMMENT ON FUNCTION territory._caller_records(text) IS
    'Internal: the records of managed tables whose phone number is this one (E.164), in routing order';

CREATE FUNCTION territory.route_call(dialed text, caller text)
    RETURNS TABLE (territory_id int4, user_key text, ring text, transfer_to text, reason text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    num text;
    line territory.phone_numbers;
    d int4;                 -- the territory the call is for
    home record;            -- the model of the dialed number's territory
    u record;               -- the user of a user's line
    fallback record;
    dial text;
    who text;
    cnum text;
    rec record;
    label text;
    ts int4[];
    total int8 := 0;
    first_label text;       -- the first record
    near_label text;        -- the first record in, above or below d
    near_t int4;
    far_label text;         -- the first record in other territories
    far_t int4;
    to_label text;          -- the first record in other territories with a line
    to_t int4;
    to_line record;
BEGIN
    IF dialed IS NULL THEN
        RAISE EXCEPTION 'dialed number must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    num := territory.normalize_phone(dialed);

    -- the dialed number: whose line, and who rings
    SELECT * INTO line FROM territory.phone_numbers p WHERE p.number = num;
    IF NOT FOUND THEN
        dial := format('%s is not a number of any territory', num);
    ELSE
        d := line.territory_id;
        dial := territory._line_label(line.kind, d, line.user_id);
        -- a number left on a territory of another model serves the territory of the same code
        -- in the active model (clone_model keeps codes)
        SELECT m.state, m.name, a.id AS active_id INTO home
          FROM territory.territories t
          JOIN territory.models m ON m.id = t.model_id
          LEFT JOIN territory.territories a ON a.model_id = territory.active_model() AND a.code = t.code
         WHERE t.id = d;
        IF home.state <> 'active' THEN
            IF home.active_id IS NOT NULL THEN
                d := home.active_id;
                dial := dial || format(' (of %s model "%s"; routed to %s, its code in the active model)',
                                       home.state, home.name, territory.path(d));
            ELSE
                dial := dial || format(' (of %s model "%s")', home.state, home.name);
            END IF;
        END IF;
        territory_id := d;
        ring := num;
        IF line.user_id IS NOT NULL THEN
            SELECT s.key, s.active,
                   EXISTS (SELECT FROM territory.members m
                            WHERE m.territory_id = d AND m.user_id = s.id
                              AND (m.valid_from IS NULL OR m.valid_from <= current_date)
                              AND (m.valid_to IS NULL OR m.valid_to >= current_date)) AS member
              INTO u
              FROM territory.sales_users s WHERE s.id = line.user_id;
            IF u.active AND u.member THEN
                user_key := u.key;
            ELSE
                SELECT * INTO fallback FROM territory._territory_line(d, NULL);
                ring := fallback.number;
                dial := dial || format(', who is %s: %s', CASE WHEN u.active THEN 'not a current member' ELSE 'inactive' END,
                                       CASE WHEN fallback.number IS NULL THEN 'no line of the territory to ring instead'
                                            ELSE 'ringing the ' || territory._line_label(fallback.kind, fallback.territory_id, NULL)
                                       END);
            END IF;
        END IF;
    END IF;

    -- the caller: a record of a managed table with this phone number
    cnum := territory.try_normalize_phone(caller);
    IF cnum IS NOT NULL THEN
        FOR rec IN SELECT * FROM territory._caller_records(cnum) c ORDER BY c.n LOOP
            total := total + 1;
            label := format('%s %s%s (%s)', rec.kind, rec.key,
                            CASE WHEN rec.account IS NOT NULL THEN ' of account ' || rec.account ELSE '' END, rec.tbl);
            first_label := coalesce(first_label, label);
            -- territories removed since the record was assigned are ignored
            ts := ARRAY(SELECT t.id FROM territory.territories t WHERE t.id = ANY (rec.territories) ORDER BY t.id);
            IF near_label IS NULL AND d IS NOT NULL THEN
                near_t := territory._best_territory(ARRAY(
                    SELECT t FROM unnest(ts) t
                     WHERE t = d OR territory.is_ancestor(t, d) OR territory.is_ancestor(d, t)));
                near_label := CASE WHEN near_t IS NOT NULL THEN label END;
            END IF;
            IF far_label IS NULL AND ts <> '{}' THEN
                far_label := label;
                far_t := territory._best_territory(ts);
            END IF;
            IF to_label IS NULL THEN
                to_t := territory._best_territory(ARRAY(
                    SELECT t FROM unnest(ts) t WHERE (territory._territory_line(t, d)).number IS NOT NULL));
                IF to_t IS NOT NULL THEN
                    to_label := label;
                    SELECT * INTO to_line FROM territory._territory_line(to_t, d);
                END IF;
            END IF;
        END LOOP;
    END IF;
    IF caller IS NULL OR btrim(caller) = '' THEN
        who := 'caller''s number withheld';
    ELSIF cnum IS NULL THEN
        who := format('caller''s number "%s" is not an international number', caller);
    ELSIF total = 0 THEN
        who := format('caller %s is unknown', cnum);
    ELSIF near_label IS NOT NULL THEN
        who := format('caller is %s in %s', near_label, territory.path(near_t));
    ELSIF to_label IS NOT NULL THEN
        transfer_to := to_line.number;
        who := format('caller is %s in %s: transfer to the %s', to_label, territory.path(to_t),
                      territory._line_label(to_line.kind, to_line.territory_id, NULL));
    ELSIF far_label IS NOT NULL THEN
        who := format('caller is %s in %s, which has no phone number', far_label, territory.path(far_t));
    ELSE
        who := format('caller is %s, in no territory', first_label);
    END IF;
    IF total > 1 THEN
        who := who || format(' (%s records have this number)', total);
    END IF;
    reason := dial || '; ' || who;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION territory.route_call(text, text) IS
    'Route a call: the territory of the dialed number and the user to ring (NULL: the territory''s members), and when the caller is a record of another territory the number to transfer to; reason says why';
