/*
 * config.c
 *		Configuration access, one home: which relation holds the rows of a configuration table
 *		on this server.
 *
 * On one server that is the table itself.  On a Citus cluster, territory.enable_citus() makes
 * the configuration tables reference tables: every node then holds the rows in its placement,
 * a table of the same schema named after the table with the shard id appended, and the table
 * itself becomes a shell (empty on a worker, stale on the coordinator).  Queries on a shell are
 * planned by Citus, which refuses them inside a query it sends to a shard (a trigger firing on
 * a placement, a managed table's shard) and would write every node from every node; a placement
 * is a plain local table.  So every reader of the configuration below the API (the caches' heap
 * scans, the components' SPI queries, the triggers' SQL) reads the relation ConfigRelid() names,
 * and the triggers write it: a write through the coordinator reaches each placement once, and
 * its triggers then act on that node's placements, the same way on every node.  The API's own
 * writes (plain SQL on the tables) stay on the tables, which Citus sends to every node.
 *
 * Nothing else in the extension knows whether it runs on one server, a coordinator or a worker.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "nodes/readfuncs.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "common/string.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "territory.h"

/* Per-backend map of table name to the relation holding its rows, dropped at any relcache
 * invalidation (Citus making a table a reference table invalidates it). */
typedef struct ConfigEntry
{
	char		name[NAMEDATALEN];
	Oid			relid;
} ConfigEntry;

#define CONFIG_ENTRIES 32
static ConfigEntry entries[CONFIG_ENTRIES];
static int	nentries;

static int	nshard_entries;

void
ConfigRelcacheCallback(Oid relid)
{
	nentries = 0;
	nshard_entries = 0;
}

/*
 * A scan of Citus's pg_dist_shard by one of its columns, through the index named (*rel: the
 * catalog, to close after the scan); NULL without Citus in the database.
 */
static SysScanDesc
DistShardScan(const char *column, const char *index, RegProcedure eq, Datum value, Relation *rel)
{
	Oid			shards = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	Oid			indexid = get_relname_relid(index, PG_CATALOG_NAMESPACE);
	AttrNumber	att;
	ScanKeyData key;

	*rel = NULL;
	if (!OidIsValid(shards) || (att = get_attnum(shards, column)) == InvalidAttrNumber)
		return NULL;
	*rel = table_open(shards, AccessShareLock);
	ScanKeyInit(&key, att, BTEqualStrategyNumber, eq, value);
	return systable_beginscan(*rel, indexid, OidIsValid(indexid), NULL, 1, &key);
}

static void
DistShardEnd(SysScanDesc scan, Relation rel)
{
	if (scan != NULL)
		systable_endscan(scan);
	if (rel != NULL)
		table_close(rel, AccessShareLock);
}

static Datum
ShardColumn(Relation rel, HeapTuple tuple, const char *column, bool *isnull)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), column);

	if (att == InvalidAttrNumber)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return heap_getattr(tuple, att, RelationGetDescr(rel), isnull);
}

/*
 * The shard of table on this node (the relation of table's schema named table_<shardid>) whose
 * pg_dist_shard row has shardminvalue minvalue, or any shard when minvalue is NULL; InvalidOid
 * when there is none (or no Citus).
 */
static Oid
LocalShard(Oid table, const char *minvalue)
{
	Relation	rel;
	SysScanDesc scan = DistShardScan("logicalrelid", "pg_dist_shard_logical_relid_index", F_OIDEQ,
									 ObjectIdGetDatum(table), &rel);
	HeapTuple	tuple;
	Oid			found = InvalidOid;

	while (scan != NULL && !OidIsValid(found) && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		shardid = ShardColumn(rel, tuple, "shardid", &isnull);

		if (isnull)
			continue;
		if (minvalue != NULL)
		{
			bool		minnull;
			Datum		min = ShardColumn(rel, tuple, "shardminvalue", &minnull);

			if (minnull || strcmp(TextDatumGetCString(min), minvalue) != 0)
				continue;
		}
		found = get_relname_relid(psprintf("%s_" INT64_FORMAT, get_rel_name(table), DatumGetInt64(shardid)),
								  get_rel_namespace(table));
	}
	DistShardEnd(scan, rel);
	return found;
}

/*
 * ConfigRelid
 *		The relation that holds the rows of the extension's table relname on this server: the
 *		table itself, or its placement on this node when Citus has made it a reference table.
 *		An error when the table does not exist.
 */
Oid
ConfigRelid(const char *relname)
{
	Oid			relid;
	Oid			placement;
	int			i;

	for (i = 0; i < nentries; i++)
		if (strcmp(entries[i].name, relname) == 0)
			return entries[i].relid;
	relid = TerritoryRelid(relname);
	placement = LocalShard(relid, NULL);
	if (OidIsValid(placement))
		relid = placement;
	if (nentries < CONFIG_ENTRIES && strlen(relname) < NAMEDATALEN)
	{
		strlcpy(entries[nentries].name, relname, NAMEDATALEN);
		entries[nentries].relid = relid;
		nentries++;
	}
	return relid;
}

/*
 * ConfigScan
 *		Feed every row of a configuration table (the relation ConfigRelid() names) visible to
 *		snapshot to callback, decoded once into the named columns (looked up by name, so upgrades
 *		may add columns), in rowcxt: how the per-backend caches read the configuration, without
 *		the parser and planner (a new backend builds its caches before its first row check).
 *		No privilege check: the caches serve the extension's own functions.
 */
void
ConfigScan(const char *relname, const char **columns, int ncolumns, Snapshot snapshot,
		   ConfigRowCallback callback, void *arg, MemoryContext rowcxt)
{
	Relation	rel = table_open(ConfigRelid(relname), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	atts[8];
	Datum	   *all_values = palloc(sizeof(Datum) * desc->natts);
	bool	   *all_nulls = palloc(sizeof(bool) * desc->natts);
	Datum		values[8];
	bool		nulls[8];
	TableScanDesc scan;
	HeapTuple	tuple;
	int			i;

	Assert(ncolumns <= lengthof(atts));
	for (i = 0; i < ncolumns; i++)
	{
		atts[i] = InvalidAttrNumber;
		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute attr = TupleDescAttr(desc, a);

			if (!attr->attisdropped && strcmp(NameStr(attr->attname), columns[i]) == 0)
				atts[i] = attr->attnum;
		}
		if (atts[i] == InvalidAttrNumber)
			elog(ERROR, "column \"%s\" of territory.%s is missing", columns[i], relname);
	}

	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(rowcxt);

		heap_deform_tuple(tuple, desc, all_values, all_nulls);
		for (i = 0; i < ncolumns; i++)
		{
			values[i] = all_values[atts[i] - 1];
			nulls[i] = all_nulls[atts[i] - 1];
		}
		callback(arg, values, nulls);
		MemoryContextSwitchTo(old);
		CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	table_close(rel, NoLock);
}

/*
 * TerritoryRelationName
 *		A relation's name, schema-qualified and quoted, for a query's text (palloc'd).
 */
char *
TerritoryRelationName(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

/*
 * ConfigTable
 *		ConfigRelid() as a name for a query's text (palloc'd).
 */
char *
ConfigTable(const char *relname)
{
	return TerritoryRelationName(ConfigRelid(relname));
}

/* territory._config_table(name): ConfigRelid() for the triggers' dynamic SQL. */
PG_FUNCTION_INFO_V1(territory_config_table);
Datum
territory_config_table(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_OID(ConfigRelid(name));
}

/*
 * An index of rel whose leading columns are the named ones, or InvalidOid: the lookups below
 * go through the primary and unique keys the tables have, on one server as on a placement
 * (Citus gives a placement the table's indexes).
 */
static Oid
IndexOn(Relation rel, int ncols, char **cols)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Oid			indexid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexid));
		Form_pg_index form;
		bool		match;

		if (!HeapTupleIsValid(tup))
			continue;
		form = (Form_pg_index) GETSTRUCT(tup);
		match = form->indisvalid && form->indnkeyatts >= ncols && heap_attisnull(tup, Anum_pg_index_indexprs, NULL) &&
			heap_attisnull(tup, Anum_pg_index_indpred, NULL);
		for (int i = 0; match && i < ncols; i++)
		{
			AttrNumber	att = form->indkey.values[i];

			match = att > 0 && strcmp(NameStr(TupleDescAttr(RelationGetDescr(rel), att - 1)->attname), cols[i]) == 0;
		}
		ReleaseSysCache(tup);
		if (match)
		{
			found = indexid;
			break;
		}
	}
	list_free(indexes);
	return found;
}

static AttrNumber
ColumnOf(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, a);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
			return attr->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of %s does not exist", name, RelationGetRelationName(rel))));
	return InvalidAttrNumber;
}

/*
 * territory._config_value(tbl, col, VARIADIC key): column col, as text, of the row of the
 * configuration table tbl whose key columns equal the given values (key: column, value, column,
 * value, ...), as the active snapshot sees it (what a query of a STABLE function sees); NULL
 * when there is no such row.  The caller needs SELECT on the table, as for the query.  An index lookup on the relation that ConfigRelid() names: the
 * triggers' lookups, planned once here instead of by dynamic SQL at every row.
 */
PG_FUNCTION_INFO_V1(territory_config_value);
Datum
territory_config_value(PG_FUNCTION_ARGS)
{
	char	   *relname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *column = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ArrayType  *key = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *elems;
	bool	   *elemnulls;
	int			nelems;
	int			nkeys;
	char	  **cols;
	ScanKeyData *skeys;
	Relation	rel;
	Relation	irel;
	Oid			indexid;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	AttrNumber	att;
	AclResult	aclresult;
	text	   *result = NULL;

	deconstruct_array(key, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elemnulls, &nelems);
	if (nelems == 0 || nelems % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("territory._config_value() takes pairs of a column and a value")));
	nkeys = nelems / 2;
	for (int i = 0; i < nelems; i++)
		if (elemnulls[i])
			PG_RETURN_NULL();	/* nothing equals NULL */
	cols = palloc(sizeof(char *) * nkeys);
	skeys = palloc(sizeof(ScanKeyData) * nkeys);
	for (int i = 0; i < nkeys; i++)
		cols[i] = TextDatumGetCString(elems[2 * i]);

	/* what the caller may read of the table, as a query would check it */
	aclresult = pg_class_aclcheck(TerritoryRelid(relname), GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, psprintf("%s.%s", TERRITORY_SCHEMA, relname));
	rel = table_open(ConfigRelid(relname), AccessShareLock);
	att = ColumnOf(rel, column);
	indexid = IndexOn(rel, nkeys, cols);
	if (!OidIsValid(indexid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s has no index on the key columns given", RelationGetRelationName(rel))));
	irel = index_open(indexid, AccessShareLock);
	for (int i = 0; i < nkeys; i++)
	{
		Oid			opfamily = irel->rd_opfamily[i];
		Oid			type = irel->rd_opcintype[i];
		Oid			eq = get_opfamily_member(opfamily, type, type, BTEqualStrategyNumber);
		Oid			input;
		Oid			ioparam;
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), irel->rd_index->indkey.values[i] - 1);

		getTypeInputInfo(attr->atttypid, &input, &ioparam);
		ScanKeyInit(&skeys[i], i + 1, BTEqualStrategyNumber, get_opcode(eq),
					OidInputFunctionCall(input, TextDatumGetCString(elems[2 * i + 1]), ioparam, attr->atttypmod));
		skeys[i].sk_collation = irel->rd_indcollation[i];
	}
	slot = table_slot_create(rel, NULL);
	scan = TerritoryIndexBeginScan(rel, irel, GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, skeys, nkeys, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, att, &isnull);

		if (!isnull)
		{
			Oid			output;
			bool		varlena;

			getTypeOutputInfo(TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid, &output, &varlena);
			result = cstring_to_text(OidOutputFunctionCall(output, d));
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(irel, AccessShareLock);
	table_close(rel, AccessShareLock);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/* ---------------------------------------------------------------- shards of managed tables */

/*
 * The managed tables' triggers fire, on a Citus cluster, on the shards of the distributed
 * tables, and the assignment engine reads through these: the configuration names the
 * distributed table (ConfigLogicalRelid), and the account of a contact or deal, or the deals
 * of an account, are in the shard of the other table that Citus co-locates with it on the same
 * node (ConfigColocatedShard).  A relation that is not a shard is its own table and its own
 * co-located shard: on one server, and on the coordinator outside a shard's query, nothing
 * changes.
 */
typedef struct ShardEntry
{
	Oid			relid;
	Oid			logical;
	int64		shardid;		/* 0: relid is not a shard */
	AttrNumber	dist_attno;		/* the distribution column, in relid */
	bool		minnull;
	char		minvalue[24];	/* the low end of its hash range, as pg_dist_shard has it */
} ShardEntry;

#define SHARD_ENTRIES 64
static ShardEntry shard_entries[SHARD_ENTRIES];
static int	next_shard_entry;

/*
 * The distribution column of Citus table logical (pg_dist_partition's partkey, a Var of the
 * table), as an attribute of relation shard (by name: a shard has the table's columns, without
 * the dropped ones); InvalidAttrNumber for a table without one (a reference table).
 */
static AttrNumber
DistributionAttno(Oid logical, Oid shard)
{
	Oid			partitions = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	Oid			index = get_relname_relid("pg_dist_partition_logical_relid_index", PG_CATALOG_NAMESPACE);
	AttrNumber	logical_att;
	AttrNumber	key_att;
	AttrNumber	result = InvalidAttrNumber;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;

	if (!OidIsValid(partitions) ||
		(logical_att = get_attnum(partitions, "logicalrelid")) == InvalidAttrNumber ||
		(key_att = get_attnum(partitions, "partkey")) == InvalidAttrNumber)
		return InvalidAttrNumber;
	rel = table_open(partitions, AccessShareLock);
	ScanKeyInit(&key, logical_att, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(logical));
	scan = systable_beginscan(rel, index, OidIsValid(index), NULL, 1, &key);
	if (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		partkey = heap_getattr(tuple, key_att, RelationGetDescr(rel), &isnull);
		Node	   *node = isnull ? NULL : stringToNode(TextDatumGetCString(partkey));

		if (node != NULL && IsA(node, Var))
		{
			char	   *name = get_attname(logical, ((Var *) node)->varattno, true);

			if (name != NULL)
				result = get_attnum(shard, name);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

static const ShardEntry *
ShardOf(Oid relid)
{
	ShardEntry	e = {relid, relid, 0, InvalidAttrNumber, true, ""};
	char	   *name;
	char	   *suffix;
	int			i;

	for (i = 0; i < nshard_entries; i++)
		if (shard_entries[i].relid == relid)
			return &shard_entries[i];
	name = get_rel_name(relid);
	suffix = name ? strrchr(name, '_') : NULL;
	if (suffix != NULL && suffix[1] >= '0' && suffix[1] <= '9' &&
		OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)))
	{
		char	   *end;
		int64		shardid = strtoi64(suffix + 1, &end, 10);
		Relation	rel;
		SysScanDesc scan = *end != '\0' ? NULL :
			DistShardScan("shardid", "pg_dist_shard_shardid_index", F_INT8EQ, Int64GetDatum(shardid), &rel);
		HeapTuple	row = scan != NULL ? systable_getnext(scan) : NULL;

		if (HeapTupleIsValid(row))
		{
			bool		isnull;
			Datum		logical = ShardColumn(rel, row, "logicalrelid", &isnull);
			Datum		min = ShardColumn(rel, row, "shardminvalue", &e.minnull);
			char	   *logical_name = isnull ? NULL : get_rel_name(DatumGetObjectId(logical));

			/* the shard's name is the table's with the shard id: nothing else is taken for one */
			if (logical_name != NULL &&
				get_rel_namespace(DatumGetObjectId(logical)) == get_rel_namespace(relid) &&
				strcmp(psprintf("%s_" INT64_FORMAT, logical_name, shardid), name) == 0)
			{
				e.logical = DatumGetObjectId(logical);
				e.shardid = shardid;
				if (!e.minnull)
					strlcpy(e.minvalue, TextDatumGetCString(min), sizeof(e.minvalue));
			}
		}
		if (scan != NULL)
			DistShardEnd(scan, rel);
		if (e.shardid != 0)
			e.dist_attno = DistributionAttno(e.logical, relid);
	}
	if (nshard_entries < SHARD_ENTRIES)
		i = nshard_entries++;
	else
		i = next_shard_entry++ % SHARD_ENTRIES;
	shard_entries[i] = e;
	return &shard_entries[i];
}

/*
 * ConfigLogicalRelid
 *		The table that the configuration names for relid: the distributed table when relid is one
 *		of its shards, else relid itself.
 */
Oid
ConfigLogicalRelid(Oid relid)
{
	return ShardOf(relid)->logical;
}

/*
 * ConfigDistributionAttno
 *		When relid is a shard of a distributed table, its distribution column; else
 *		InvalidAttrNumber.
 */
AttrNumber
ConfigDistributionAttno(Oid relid)
{
	return ShardOf(relid)->dist_attno;
}

/*
 * ConfigColocatedShard
 *		The relation holding the rows of table that go with the rows of relation: when relation is
 *		a shard, the shard of table with the same hash range (Citus keeps co-located shards on the
 *		same node); else table itself.  An error when table has no such shard on this node (it is
 *		not co-located with relation's table: territory.manage_table() checks that it is).
 */
Oid
ConfigColocatedShard(Oid table, Oid relation)
{
	const ShardEntry *s = ShardOf(relation);
	Oid			found;

	if (s->shardid == 0)
		return table;
	found = s->minnull ? InvalidOid : LocalShard(table, s->minvalue);
	if (!OidIsValid(found))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s has no shard on this node co-located with %s", get_rel_name(table), get_rel_name(relation)),
				 errhint("Distribute the contact and deal tables by their account column, co-located with the account table.")));
	return found;
}

/*
 * ConfigCoordinator
 *		Where the turns of owner assignment are taken (owners.c): false on one server and on the
 *		coordinator of a Citus cluster, which take them themselves; on a worker true, with the
 *		coordinator's host and port (palloc'd) from Citus's metadata.  An error on a worker of a
 *		cluster whose coordinator is not in the metadata.
 */
bool
ConfigCoordinator(char **host, int32 *port)
{
	MemoryContext caller = CurrentMemoryContext;
	TerritoryUser save;
	bool		isnull;
	bool		worker = false;

	if (!OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)) ||
		!OidIsValid(get_relname_relid("pg_dist_node", PG_CATALOG_NAMESPACE)))
		return false;
	TerritoryBecomeOwner(&save);
	SPI_connect();
	if (SPI_execute("SELECT groupid OPERATOR(pg_catalog.<>) 0 FROM pg_catalog.pg_dist_local_group", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		worker = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	if (worker)
	{
		if (SPI_execute("SELECT nodename, nodeport FROM pg_catalog.pg_dist_node"
						" WHERE groupid OPERATOR(pg_catalog.=) 0 AND isactive AND noderole OPERATOR(pg_catalog.=) 'primary'",
						true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the coordinator of the Citus cluster is not in its metadata"),
					 errdetail("A worker takes the turns of owner assignment on the coordinator."),
					 errhint("On the coordinator: SELECT citus_set_coordinator_host('host', port);")));
		*host = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		*port = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	TerritoryRestoreUser(&save);
	return worker;
}

/*
 * ConfigDistributedXact
 *		The Citus distributed transaction the current transaction belongs to, as a string that the
 *		backends of one distributed transaction on every node share (the initiator node, the
 *		transaction number and stamp, Citus's get_current_transaction_id()); "" when it is in
 *		none (yet), or Citus is not there.  Palloc'd.
 */
char *
ConfigDistributedXact(void)
{
	MemoryContext caller = CurrentMemoryContext;
	TerritoryUser save;
	char	   *xact = "";

	if (!OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)))
		return pstrdup("");
	TerritoryBecomeOwner(&save);
	SPI_connect();
	if (SPI_execute("SELECT t.initiator_node_identifier::pg_catalog.text OPERATOR(pg_catalog.||) ':'"
					" OPERATOR(pg_catalog.||) t.transaction_number::pg_catalog.text OPERATOR(pg_catalog.||) ':'"
					" OPERATOR(pg_catalog.||) t.transaction_stamp::pg_catalog.text"
					" FROM pg_catalog.get_current_transaction_id() t WHERE t.transaction_number OPERATOR(pg_catalog.<>) 0",
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		xact = MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	TerritoryRestoreUser(&save);
	return xact[0] ? xact : pstrdup("");
}
