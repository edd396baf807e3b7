-- Describes everything the extension territory puts into the current database, one fact a line
-- ("<object> | <attribute> | <value>", multi-line values split into numbered lines), sorted, with
-- no OIDs: test/upgrade/run compares this output between an updated and a fresh install.
-- Run with psql -X -A -t -v ON_ERROR_STOP=1.  A member object of a kind this file does not
-- describe yields a line starting with "!! unhandled": run fails on it, so extend this file.

\set QUIET on
SET search_path = pg_catalog, pg_temp;
SET extra_float_digits = 3;
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET TimeZone = 'UTC';

CREATE TEMP TABLE ext_members AS
SELECT d.classid, d.objid, d.objsubid, i.type, i.identity
FROM pg_depend d
CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) i
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'territory')
  AND d.deptype = 'e';

-- Relations to describe: the member relations and the composite types' relations.
CREATE TEMP TABLE ext_rels AS
SELECT c.oid, m.type || ' ' || m.identity AS key
FROM ext_members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
UNION ALL
SELECT t.typrelid, m.type || ' ' || m.identity
FROM ext_members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
WHERE t.typrelid <> 0;
ANALYZE ext_members;
ANALYZE ext_rels;

CREATE TEMP TABLE facts(key, attr, val) AS
-- the extension itself
SELECT 'extension territory', f.key, f.value
FROM pg_extension e
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', e.extowner::regrole::text,
    'schema', e.extnamespace::regnamespace::text,
    'relocatable', e.extrelocatable,
    'version', e.extversion)) f
WHERE e.extname = 'territory'
UNION ALL
-- pg_extension_config_dump registrations, by table name
SELECT 'extension territory', 'config_dump ' || c.tbl::regclass::text, coalesce(quote_literal(c.cond), 'NULL')
FROM pg_extension e
CROSS JOIN LATERAL unnest(e.extconfig, e.extcondition) AS c(tbl, cond)
WHERE e.extname = 'territory'
UNION ALL
SELECT 'extension territory', 'config_dump count',
    format('%s tables, %s conditions', cardinality(extconfig), cardinality(extcondition))
FROM pg_extension WHERE extname = 'territory'
UNION ALL
-- the schema (created by CREATE EXTENSION, not a member)
SELECT 'schema ' || n.nspname, f.key, f.value
FROM pg_namespace n
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', n.nspowner::regrole::text,
    'acl', n.nspacl::text)) f
WHERE n.nspname = 'territory'
UNION ALL
-- the set of members
SELECT m.type || ' ' || m.identity, 'member', pg_describe_object(m.classid, m.objid, m.objsubid)
FROM ext_members m
UNION ALL
SELECT '!! unhandled member class ' || m.classid::regclass::text, m.type || ' ' || m.identity, NULL
FROM ext_members m
WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass,
    'pg_operator'::regclass, 'pg_opclass'::regclass, 'pg_opfamily'::regclass, 'pg_cast'::regclass,
    'pg_event_trigger'::regclass)
   OR m.objsubid <> 0
UNION ALL
-- functions, procedures, aggregates
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', p.proowner::regrole::text,
    'kind', p.prokind,
    'language', (SELECT lanname FROM pg_language WHERE oid = p.prolang),
    'arguments', pg_get_function_arguments(p.oid),
    'result', pg_get_function_result(p.oid),
    'config', p.proconfig::text,
    'security_definer', p.prosecdef,
    'volatile', p.provolatile,
    'parallel', p.proparallel,
    'strict', p.proisstrict,
    'leakproof', p.proleakproof,
    'cost', p.procost,
    'rows', p.prorows,
    'support', p.prosupport::regprocedure::text,
    'acl', p.proacl::text,
    'definition', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END)) f
UNION ALL
SELECT m.type || ' ' || m.identity, 'aggregate ' || f.key, f.value
FROM ext_members m
JOIN pg_aggregate a ON m.classid = 'pg_proc'::regclass AND a.aggfnoid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'kind', a.aggkind,
    'direct_args', a.aggnumdirectargs,
    'transfn', a.aggtransfn::regprocedure::text,
    'finalfn', a.aggfinalfn::regprocedure::text,
    'combinefn', a.aggcombinefn::regprocedure::text,
    'serialfn', a.aggserialfn::regprocedure::text,
    'deserialfn', a.aggdeserialfn::regprocedure::text,
    'mtransfn', a.aggmtransfn::regprocedure::text,
    'minvtransfn', a.aggminvtransfn::regprocedure::text,
    'mfinalfn', a.aggmfinalfn::regprocedure::text,
    'finalextra', a.aggfinalextra,
    'mfinalextra', a.aggmfinalextra,
    'finalmodify', a.aggfinalmodify,
    'mfinalmodify', a.aggmfinalmodify,
    'sortop', a.aggsortop::regoperator::text,
    'transtype', a.aggtranstype::regtype::text,
    'transspace', a.aggtransspace,
    'mtranstype', a.aggmtranstype::regtype::text,
    'mtransspace', a.aggmtransspace,
    'initval', a.agginitval,
    'minitval', a.aggminitval)) f
UNION ALL
-- relations: tables, views, sequences, composite types' relations
SELECT r.key, f.key, f.value
FROM ext_rels r
JOIN pg_class c ON c.oid = r.oid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'kind', c.relkind,
    'persistence', c.relpersistence,
    'owner', c.relowner::regrole::text,
    'acl', c.relacl::text,
    'options', c.reloptions::text,
    'access_method', (SELECT amname FROM pg_am WHERE oid = c.relam),
    'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = c.reltablespace),
    'row_security', c.relrowsecurity,
    'force_row_security', c.relforcerowsecurity,
    'replica_identity', c.relreplident,
    'is_partition', c.relispartition,
    'partition_bound', pg_get_expr(c.relpartbound, c.oid),
    'partition_key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
    'of_type', CASE WHEN c.reloftype <> 0 THEN c.reloftype::regtype::text END,
    'inherits', (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno)
                 FROM pg_inherits i WHERE i.inhrelid = c.oid),
    'view_definition', CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END)) f
UNION ALL
-- columns, by their position among the columns that are not dropped
SELECT r.key || ' column ' || quote_ident(a.attname), f.key, f.value
FROM ext_rels r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'position', (SELECT count(*) FROM pg_attribute b
                 WHERE b.attrelid = a.attrelid AND b.attnum > 0 AND NOT b.attisdropped
                   AND b.attnum <= a.attnum),
    'type', format_type(a.atttypid, a.atttypmod),
    'not_null', a.attnotnull,
    'default', pg_get_expr(ad.adbin, ad.adrelid),
    'generated', a.attgenerated,
    'identity', a.attidentity,
    'collation', (SELECT collname FROM pg_collation WHERE oid = a.attcollation),
    'storage', a.attstorage,
    'compression', a.attcompression,
    'statistics_target', a.attstattarget,
    -- without the key pg_attver: PostgreSQL's own per-database attribute version
    'options', (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o
                WHERE o NOT LIKE 'pg\_attver=%')::text,
    'acl', a.attacl::text)) f
UNION ALL
-- constraints of relations and of domains
SELECT r.key || ' constraint ' || quote_ident(co.conname), f.key, f.value
FROM ext_rels r
JOIN pg_constraint co ON co.conrelid = r.oid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'type', co.contype,
    'definition', pg_get_constraintdef(co.oid),
    'deferrable', co.condeferrable,
    'deferred', co.condeferred,
    'validated', co.convalidated,
    'no_inherit', co.connoinherit,
    'index', CASE WHEN co.conindid <> 0 THEN co.conindid::regclass::text END)) f
UNION ALL
SELECT m.type || ' ' || m.identity || ' constraint ' || quote_ident(co.conname), f.key, f.value
FROM ext_members m
JOIN pg_constraint co ON m.classid = 'pg_type'::regclass AND co.contypid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'type', co.contype,
    'definition', pg_get_constraintdef(co.oid),
    'validated', co.convalidated)) f
UNION ALL
-- indexes (with their options, predicates, expressions, tablespace)
SELECT r.key || ' index ' || quote_ident(ic.relname), f.key, f.value
FROM ext_rels r
JOIN pg_index i ON i.indrelid = r.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'definition', pg_get_indexdef(i.indexrelid),
    'clustered', i.indisclustered,
    'replica_identity', i.indisreplident,
    'valid', i.indisvalid,
    'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = ic.reltablespace),
    'acl', ic.relacl::text)) f
UNION ALL
-- triggers (not the internal ones of foreign keys: their names carry OIDs; the constraints
-- above describe them)
SELECT r.key || ' trigger ' || quote_ident(t.tgname), f.key, f.value
FROM ext_rels r
JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'definition', pg_get_triggerdef(t.oid),
    'enabled', t.tgenabled)) f
UNION ALL
-- rewrite rules other than views' own
SELECT r.key || ' rule ' || quote_ident(rw.rulename), 'definition', pg_get_ruledef(rw.oid)
FROM ext_rels r
JOIN pg_rewrite rw ON rw.ev_class = r.oid AND rw.rulename <> '_RETURN'
UNION ALL
-- row-level security policies
SELECT r.key || ' policy ' || quote_ident(p.polname), f.key, f.value
FROM ext_rels r
JOIN pg_policy p ON p.polrelid = r.oid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'command', p.polcmd,
    'permissive', p.polpermissive,
    'roles', (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END, ', '
                                ORDER BY CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END)
              FROM unnest(p.polroles) x),
    'using', pg_get_expr(p.polqual, p.polrelid),
    'with_check', pg_get_expr(p.polwithcheck, p.polrelid))) f
UNION ALL
-- extended statistics
SELECT r.key || ' statistics ' || quote_ident(s.stxname), 'definition', pg_get_statisticsobjdef(s.oid)
FROM ext_rels r
JOIN pg_statistic_ext s ON s.stxrelid = r.oid
UNION ALL
-- sequences: parameters and what owns them
SELECT r.key, 'sequence ' || f.key, f.value
FROM ext_rels r
JOIN pg_sequence s ON s.seqrelid = r.oid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'type', s.seqtypid::regtype::text,
    'start', s.seqstart,
    'increment', s.seqincrement,
    'max', s.seqmax,
    'min', s.seqmin,
    'cache', s.seqcache,
    'cycle', s.seqcycle,
    'owned_by', (SELECT string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
                                   || ' (' || d.deptype::text || ')', ', ')
                 FROM pg_depend d
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))) f
UNION ALL
-- types
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', t.typowner::regrole::text,
    'type', t.typtype,
    'length', t.typlen,
    'by_value', t.typbyval,
    'category', t.typcategory,
    'preferred', t.typispreferred,
    'delimiter', t.typdelim,
    'input', t.typinput::regprocedure::text,
    'output', t.typoutput::regprocedure::text,
    'receive', t.typreceive::regprocedure::text,
    'send', t.typsend::regprocedure::text,
    'typmod_in', t.typmodin::regprocedure::text,
    'typmod_out', t.typmodout::regprocedure::text,
    'analyze', t.typanalyze::regprocedure::text,
    'subscript', t.typsubscript::regprocedure::text,
    'align', t.typalign,
    'storage', t.typstorage,
    'not_null', t.typnotnull,
    'base_type', CASE WHEN t.typbasetype <> 0 THEN format_type(t.typbasetype, t.typtypmod) END,
    'dimensions', t.typndims,
    'collation', (SELECT collname FROM pg_collation WHERE oid = t.typcollation),
    'default', t.typdefault,
    'element', CASE WHEN t.typelem <> 0 THEN t.typelem::regtype::text END,
    'array_type', CASE WHEN t.typarray <> 0 THEN t.typarray::regtype::text END,
    'acl', t.typacl::text,
    'enum_labels', (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                    FROM pg_enum e WHERE e.enumtypid = t.oid),
    'range', (SELECT format('subtype %s, opclass %s, collation %s, canonical %s, subdiff %s, multirange %s',
                            rg.rngsubtype::regtype, (SELECT opcname FROM pg_opclass WHERE oid = rg.rngsubopc),
                            rg.rngcollation, rg.rngcanonical::regprocedure, rg.rngsubdiff::regprocedure,
                            rg.rngmultitypid::regtype)
              FROM pg_range rg WHERE rg.rngtypid = t.oid))) f
UNION ALL
-- the array types of the member types (implicit, but their ACL and owner follow)
SELECT m.type || ' ' || m.identity || ' array', f.key, f.value
FROM ext_members m
JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
JOIN pg_type at ON at.oid = t.typarray
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'name', at.oid::regtype::text,
    'owner', at.typowner::regrole::text,
    'acl', at.typacl::text,
    'receive', at.typreceive::regprocedure::text,
    'send', at.typsend::regprocedure::text,
    'align', at.typalign,
    'storage', at.typstorage)) f
UNION ALL
-- operators
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', o.oprowner::regrole::text,
    'kind', o.oprkind,
    'left', o.oprleft::regtype::text,
    'right', o.oprright::regtype::text,
    'result', o.oprresult::regtype::text,
    'function', o.oprcode::regprocedure::text,
    'commutator', o.oprcom::regoperator::text,
    'negator', o.oprnegate::regoperator::text,
    'restrict', o.oprrest::regprocedure::text,
    'join', o.oprjoin::regprocedure::text,
    'merges', o.oprcanmerge,
    'hashes', o.oprcanhash)) f
UNION ALL
-- operator classes
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_opclass oc ON m.classid = 'pg_opclass'::regclass AND oc.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', oc.opcowner::regrole::text,
    'method', (SELECT amname FROM pg_am WHERE oid = oc.opcmethod),
    'input_type', oc.opcintype::regtype::text,
    'default', oc.opcdefault,
    'key_type', CASE WHEN oc.opckeytype <> 0 THEN oc.opckeytype::regtype::text END,
    'family', pg_describe_object('pg_opfamily'::regclass, oc.opcfamily, 0))) f
UNION ALL
-- operator families and their members (the operators and support functions of their classes)
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_opfamily of ON m.classid = 'pg_opfamily'::regclass AND of.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', of.opfowner::regrole::text,
    'method', (SELECT amname FROM pg_am WHERE oid = of.opfmethod))) f
UNION ALL
SELECT m.type || ' ' || m.identity,
    format('operator %s (%s, %s)', ao.amopstrategy, ao.amoplefttype::regtype, ao.amoprighttype::regtype),
    format('%s purpose %s sort family %s, %s', ao.amopopr::regoperator, ao.amoppurpose,
           CASE WHEN ao.amopsortfamily <> 0 THEN pg_describe_object('pg_opfamily'::regclass, ao.amopsortfamily, 0) END,
           (SELECT string_agg(d.deptype::text, '') FROM pg_depend d
            WHERE d.classid = 'pg_amop'::regclass AND d.objid = ao.oid AND d.refclassid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass)))
FROM ext_members m
JOIN pg_amop ao ON m.classid = 'pg_opfamily'::regclass AND ao.amopfamily = m.objid
UNION ALL
SELECT m.type || ' ' || m.identity,
    format('function %s (%s, %s)', ap.amprocnum, ap.amproclefttype::regtype, ap.amprocrighttype::regtype),
    format('%s, %s', ap.amproc::regprocedure,
           (SELECT string_agg(d.deptype::text, '') FROM pg_depend d
            WHERE d.classid = 'pg_amproc'::regclass AND d.objid = ap.oid AND d.refclassid IN ('pg_opclass'::regclass, 'pg_opfamily'::regclass)))
FROM ext_members m
JOIN pg_amproc ap ON m.classid = 'pg_opfamily'::regclass AND ap.amprocfamily = m.objid
UNION ALL
-- casts
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_cast ca ON m.classid = 'pg_cast'::regclass AND ca.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'function', ca.castfunc::regprocedure::text,
    'context', ca.castcontext,
    'method', ca.castmethod)) f
UNION ALL
-- event triggers
SELECT m.type || ' ' || m.identity, f.key, f.value
FROM ext_members m
JOIN pg_event_trigger et ON m.classid = 'pg_event_trigger'::regclass AND et.oid = m.objid
CROSS JOIN LATERAL jsonb_each_text(jsonb_build_object(
    'owner', et.evtowner::regrole::text,
    'event', et.evtevent,
    'function', et.evtfoid::regprocedure::text,
    'enabled', et.evtenabled,
    'tags', et.evttags::text)) f
UNION ALL
-- comments on every object of this database that is not built in (the test databases hold
-- nothing but the extension): objects, columns, constraints, triggers, policies, indexes, ...
SELECT 'comment on ' || pg_describe_object(d.classoid, d.objoid, d.objsubid), 'comment', d.description
FROM pg_description d
WHERE d.objoid >= 16384
UNION ALL
-- the privileges pg_dump treats as the extension's own (recorded while its scripts ran)
SELECT 'initial privileges of ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype::text, ip.initprivs::text
FROM pg_init_privs ip
WHERE ip.objoid >= 16384
UNION ALL
-- default privileges (none expected)
SELECT 'default privileges', format('role %s schema %s type %s', da.defaclrole::regrole,
       coalesce(da.defaclnamespace::regnamespace::text, '-'), da.defaclobjtype), da.defaclacl::text
FROM pg_default_acl da;

-- The facts, multi-line values split into numbered lines.
SELECT f.key || ' | ' || f.attr || ' | '
       || CASE WHEN f.val IS NULL THEN '<null>'
               WHEN l.n IS NULL THEN ''
               WHEN l.total = 1 THEN l.line
               ELSE format('%s: %s', lpad(l.n::text, 3), l.line) END
FROM facts f
LEFT JOIN LATERAL (
    SELECT x.line, x.n, count(*) OVER () AS total
    FROM regexp_split_to_table(f.val, E'\n') WITH ORDINALITY AS x(line, n)) l ON true
ORDER BY f.key COLLATE "C", f.attr COLLATE "C", l.n;

-- The contents of the extension's tables (configuration and seeded rows): one line a row, sorted.
-- Columns of date and time types are shown only as set or not (install times differ).
SELECT format('SELECT l FROM (SELECT %L || '' | row | '' || r::text AS l FROM (SELECT %s FROM %s) r) s ORDER BY l COLLATE "C"',
              'data ' || c.oid::regclass::text,
              string_agg(CASE WHEN a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype,
                                                  'timetz'::regtype, 'time'::regtype)
                              THEN format('%I IS NOT NULL AS %I', a.attname, a.attname)
                              ELSE quote_ident(a.attname) END, ', ' ORDER BY a.attnum),
              c.oid::regclass)
FROM ext_members m
JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind IN ('r', 'p')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
GROUP BY c.oid
ORDER BY c.oid::regclass::text COLLATE "C"
\gexec

-- The state of the sequences in the extension's schema (the identity sequences are not members).
SELECT l FROM (
    SELECT format('sequence state %s | last_value | %s', s.schemaname || '.' || s.sequencename,
                  coalesce(s.last_value::text, '<not called>')) AS l
    FROM pg_sequences s
    WHERE s.schemaname = 'territory') s
ORDER BY l COLLATE "C";
