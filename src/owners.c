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
 * Fairness under concurrency comes from the territory's turn lock and turn log: every assignment
 * in a territory takes the territory's turn lock (kept until its transaction ends) and appends the
 * next turn to territory.rotations, so concurrent assignments in one territory take their turns
 * one after the other, each after those that committed, and the n-th turn goes to the
 * ((n - 1) mod members)-th member: after every full cycle each member has had one more.  A
 * rolled-back insert takes its turn with it.  Inserts into one territory serialize from their
 * assignment to their commit; inserts into different territories do not wait for each other.
 * Load balancing takes the same turn first (which serializes it the same way) and then counts the
 * open records of the members with the latest snapshot: those committed, and those of the current
 * transaction and statement (taking the turn advanced the command counter past them).
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
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
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

/*
 * TakeTurn
 *		The next turn of a territory (1, 2, ...), and the member it goes to, written to
 *		territory.rotations: one row per turn, appended in place (a heap insert and its primary key
 *		entry, the way the system catalogs are written) while holding the territory's turn lock,
 *		a lock on the object (territory.rotations, territory) kept until the transaction ends.
 *		The last turn is the last entry of the territory in the primary key, read with the latest
 *		snapshot after the lock: the turns of those who held it before and committed.
 *
 *		Rows are only ever added, never updated: a counter row updated for every turn would grow a
 *		chain of versions as long as the turns taken during the oldest running transaction (a
 *		long report, a backup), and every turn would walk it.
 */
static int64
TakeTurn(int32 territory)
{
	Oid			relid = TerritoryRelid("rotations");
	Oid			index = TerritoryRelid("rotations_pkey");
	Relation	rel;
	Relation	irel;
	Snapshot	snapshot;
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	int64		turn = 1;
	bool		isnull;

	LockDatabaseObject(relid, (Oid) territory, 0, ExclusiveLock);
	/* the statement's earlier turns become visible */
	CommandCounterIncrement();
	rel = table_open(relid, RowExclusiveLock);
	irel = index_open(index, RowExclusiveLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(territory));
	scan = index_beginscan(rel, irel, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
		turn = DatumGetInt64(slot_getattr(slot, 2, &isnull)) + 1;
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	index_close(irel, NoLock);
	table_close(rel, NoLock);
	return turn;
}

/* Write the turn: the territory, the turn, the member given the record, when. */
static void
WriteTurn(int32 territory, int64 turn, int32 user_id)
{
	Relation	rel = table_open(TerritoryRelid("rotations"), RowExclusiveLock);
	Relation	irel = index_open(TerritoryRelid("rotations_pkey"), RowExclusiveLock);
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	HeapTuple	tup;

	values[0] = Int32GetDatum(territory);
	values[1] = Int64GetDatum(turn);
	values[2] = Int32GetDatum(user_id);
	values[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	simple_heap_insert(rel, tup);
	index_insert(irel, values, nulls, &tup->t_self, rel, UNIQUE_CHECK_YES, false, BuildIndexInfo(irel));
	index_close(irel, RowExclusiveLock);
	table_close(rel, RowExclusiveLock);
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
	int64		turn;

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
	turn = TakeTurn(territory);
	if (node.owner_mode == 'r')
		chosen = (int32) ((turn - 1) % nmembers);
	else
	{
		TerritoryBecomeOwner(&save);
		SPI_connect();
		chosen = FewestOpen(rel, t, keys, nmembers);
		SPI_finish();
		TerritoryRestoreUser(&save);
	}
	WriteTurn(territory, turn, user_ids[chosen]);
	owner = pstrdup(keys[chosen]);
	return owner;
}
