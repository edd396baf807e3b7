/*
 * owners.c
 *		Owner assignment: a new account, lead or deal written without an owner that lands in a
 *		territory assigning owners gets one in the same statement, by round robin over the
 *		territory's members in rotation, or the member with the fewest open records.
 *
 * The territory is the one a deal would get among the record's territories that assign owners
 * (type priority, depth, id).  Its members in rotation are the current members with rotation on,
 * of active sales users, in the order of their keys (from the cache the row checks use).
 *
 * Fairness under concurrency comes from one row per territory in territory.rotations: every
 * assignment in a territory counts a turn there (INSERT ... ON CONFLICT DO UPDATE), so concurrent
 * assignments in one territory take their turns one after the other, each after those that
 * committed, and the n-th turn goes to the ((n - 1) mod members)-th member: after every full cycle
 * each member has had one more.  A rolled-back insert rolls its turn back with it.  The row stays
 * locked until the inserting transaction ends: inserts into one territory serialize from their
 * assignment to their commit; inserts into different territories do not wait for each other.
 * Load balancing takes the same turn first (which serializes it the same way) and then counts the
 * open records of the members with the latest snapshot: those committed, and those of the current
 * transaction and statement (taking the turn advanced the command counter past them).
 *
 * The turn is counted in place (TakeTurnDirect: an index probe, a row lock, a heap update) once the
 * territory's row exists; the first assignment of a territory creates it with SQL.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "territory.h"
#include "matcher.h"
#include "owners.h"

static SPIPlanPtr turn_plan = NULL;

/*
 * TakeTurnDirect
 *		The next turn of a territory whose row in territory.rotations exists, counted without SQL:
 *		the row is locked (waiting for a transaction that holds it; its newest version then) and
 *		updated in place, the way the system catalogs are.  False when there is no row.
 */
static bool
TakeTurnDirect(int32 territory, int64 *turn)
{
	Relation	rel = table_open(TerritoryRelid("rotations"), RowExclusiveLock);
	Oid			index = TerritoryRelid("rotations_pkey");
	Snapshot	snapshot;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	ItemPointerData tid;
	bool		found = false;
	TupleTableSlot *slot;
	TM_FailureData tmfd;
	TM_Result	res;

	/* an earlier turn of the current statement becomes visible, and can be taken again */
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(territory));
	scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		tid = tup->t_self;
		found = true;
	}
	systable_endscan(scan);
	if (!found)
	{
		UnregisterSnapshot(snapshot);
		table_close(rel, RowExclusiveLock);
		return false;
	}

	slot = table_slot_create(rel, NULL);
	res = table_tuple_lock(rel, &tid, snapshot, slot, GetCurrentCommandId(true), LockTupleNoKeyExclusive,
						   LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
	UnregisterSnapshot(snapshot);
	if (res == TM_Deleted)
	{
		/* the territory went away meanwhile */
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, RowExclusiveLock);
		return false;
	}
	if (res != TM_Ok)
		elog(ERROR, "could not lock the rotation of territory %d (%d)", territory, (int) res);
	{
		TupleDesc	desc = RelationGetDescr(rel);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		bool		replace[3] = {false, true, true};
		bool		isnull;
		HeapTuple	old = ExecFetchSlotHeapTuple(slot, false, NULL);
		HeapTuple	newtup;

		*turn = DatumGetInt64(heap_getattr(old, 2, desc, &isnull)) + 1;
		values[1] = Int64GetDatum(*turn);
		values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		newtup = heap_modify_tuple(old, desc, values, nulls, replace);
		tid = slot->tts_tid;
		simple_heap_update(rel, &tid, newtup);
		/* a HOT update needs no new index entry; otherwise the primary key (the only index) does */
		if (!HeapTupleIsHeapOnly(newtup))
		{
			Relation	irel = index_open(index, RowExclusiveLock);
			Datum		keyval = heap_getattr(newtup, 1, desc, &isnull);

			index_insert(irel, &keyval, &isnull, &newtup->t_self, rel, UNIQUE_CHECK_YES, false,
						 BuildIndexInfo(irel));
			index_close(irel, RowExclusiveLock);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, RowExclusiveLock);
	return true;
}

/*
 * TakeTurnSql
 *		The next turn of a territory whose row may not exist yet: INSERT ... ON CONFLICT DO UPDATE
 *		(SPI connected, as the owner).
 */
static int64
TakeTurnSql(int32 territory)
{
	Datum		arg = Int32GetDatum(territory);
	bool		isnull;
	int64		turn;

	if (turn_plan == NULL)
	{
		Oid			argtype = INT4OID;
		SPIPlanPtr	plan = SPI_prepare("INSERT INTO territory.rotations AS r (territory_id, turns, updated_at)"
									   " VALUES ($1, 1, pg_catalog.now()) ON CONFLICT (territory_id)"
									   " DO UPDATE SET turns = r.turns OPERATOR(pg_catalog.+) 1,"
									   " updated_at = pg_catalog.now() RETURNING r.turns",
									   1, &argtype);

		if (plan == NULL)
			elog(ERROR, "could not prepare the turn of a rotation: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		turn_plan = plan;
	}
	if (SPI_execute_plan(turn_plan, &arg, NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not count the turn of territory %d", territory);
	turn = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return turn;
}

/*
 * FewestOpen
 *		The index of the member with the fewest open records of the table: for deals, those of an
 *		open category (pipeline, best case, commit, or an unknown stage); for accounts and leads,
 *		all.  Ties go to the first in key order.
 */
static int32
FewestOpen(Relation rel, const ManagedTable *t, const char **keys, int32 n)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	char	   *owner;
	char	   *stage;
	StringInfoData sql;
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int64	   *counts = palloc0(sizeof(int64) * n);
	Datum		keys_arg;
	Oid			keys_type = TEXTARRAYOID;
	int32		best = 0;
	int32		i;
	uint64		r;

	if (SPI_execute_with_args("SELECT owner_column, stage_column FROM territory.managed_tables"
							  " WHERE tbl OPERATOR(pg_catalog.=) $1", 1, &argtype, &arg, NULL, true, 1)
		!= SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read territory.managed_tables");
	owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	stage = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT d.%s::pg_catalog.text, pg_catalog.count(*) FROM %s d WHERE d.%s = ANY ($1::%s[])",
					 quote_identifier(owner),
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)),
					 quote_identifier(owner),
					 format_type_be(get_atttype(relid, t->owner_attno)));
	if (t->kind == 'd')
		appendStringInfo(&sql,
						 " AND coalesce((SELECT s.category FROM territory.stages s"
						 " WHERE s.stage OPERATOR(pg_catalog.=) d.%s::pg_catalog.text), 'pipeline')"
						 " OPERATOR(pg_catalog.=) ANY ('{pipeline,best_case,commit}'::pg_catalog.text[])",
						 quote_identifier(stage));
	appendStringInfoString(&sql, " GROUP BY 1");

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(keys[i]);
	keys_arg = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));

	/*
	 * The records committed by those who took their turns before us, and ours, those of the
	 * current statement included: taking the turn advanced the command counter past them.
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_execute_with_args(sql.data, 1, &keys_type, &keys_arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the open records of %s", RelationGetRelationName(rel));
	PopActiveSnapshot();
	for (r = 0; r < SPI_processed; r++)
	{
		char	   *key = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		int64		c = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		for (i = 0; i < n; i++)
			if (strcmp(keys[i], key) == 0)
				counts[i] += c;
	}
	for (i = 0; i < n; i++)
		if (counts[i] < counts[best])
			best = i;
	return best;
}

/*
 * OwnerChoose
 *		The key of the owner a new record of rel in territories ids[0 .. n) gets, palloc'd; NULL
 *		when none of them assigns owners or the territory has nobody in rotation.
 */
char *
OwnerChoose(Relation rel, const ManagedTable *t, const int32 *ids, int32 n)
{
	const Hierarchy *h = HierarchyCurrent();
	int32		territory = HierarchyBestTerritory(h, ids, n, true);
	HierarchyNode node;
	DateADT		today;
	int32	   *user_ids;
	const char **keys;
	int32		nmembers;
	int32		chosen;
	char	   *owner;
	TerritoryUser save;
	int64		turn = 0;
	bool		direct;

	if (territory == 0 || !HierarchyFind(h, territory, &node))
		return NULL;
	today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
												TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())));
	nmembers = VisibilityRotation(territory, today, &user_ids, &keys);
	if (nmembers == 0)
		return NULL;
	/* the keys point into the visibility cache, which the queries below may rebuild */
	{
		int32		i;

		for (i = 0; i < nmembers; i++)
			keys[i] = pstrdup(keys[i]);
	}

	/* a turn first (it serializes the assignments of the territory), then the choice */
	direct = TakeTurnDirect(territory, &turn);
	if (direct && node.owner_mode == 'r')
		chosen = (int32) ((turn - 1) % nmembers);
	else
	{
		TerritoryBecomeOwner(&save);
		SPI_connect();
		if (!direct)
			turn = TakeTurnSql(territory);
		chosen = node.owner_mode == 'l' ? FewestOpen(rel, t, keys, nmembers)
			: (int32) ((turn - 1) % nmembers);
		SPI_finish();
		TerritoryRestoreUser(&save);
	}
	owner = pstrdup(keys[chosen]);
	return owner;
}
