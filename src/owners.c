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
 * Fairness under concurrency comes from the turns: the n-th turn of a territory goes to the
 * ((n - 1) mod members)-th member, so after every full cycle each member has had one more.  The
 * numbers come from the territory's counter in shared memory (turns.c), which gives concurrent
 * inserts consecutive turns without making them wait for each other's commits, and takes back the
 * turn of an insert that rolls back, to hand it out again next; every turn is a row of
 * territory.rotations.  Load balancing keeps the territory's turn lock until its transaction ends
 * and then counts the open records of the members with the latest snapshot: those committed, and
 * those of the current transaction and statement.
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
#include "turns.h"

/* Write a turn: the territory, the turn, the member given the record, when. */
static void
WriteTurn(Relation rel, Relation irel, int32 territory, int64 turn, int32 user_id)
{
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
}

/*
 * TakeTurn
 *		The next turn of a territory (from its counter, turns.c), written to territory.rotations
 *		for the member that choose(turn) picks: one row per turn, appended (a heap insert and its
 *		primary key entry, the way the system catalogs are written).  Round robin waits for
 *		nothing: concurrent inserts take consecutive turns.  Load balancing first takes the
 *		territory's turn lock and keeps it until its transaction ends: counting the open records of
 *		the members must see the records of those before it committed.
 */
static int32
TakeTurn(int32 territory, const int32 *user_ids, bool hold,
		 int32 (*choose) (void *arg, int64 turn), void *arg, int64 *taken)
{
	Oid			relid = TerritoryRelid("rotations");
	Relation	rel;
	Relation	irel;
	int64		turn;
	volatile int32 chosen = 0;
	int			pin;

	if (hold)
	{
		LockDatabaseObject(relid, (Oid) territory, 0, ExclusiveLock);
		/* the statement's own earlier records become visible to the count */
		CommandCounterIncrement();
	}
	rel = table_open(relid, RowExclusiveLock);
	irel = index_open(TerritoryRelid("rotations_pkey"), RowExclusiveLock);
	turn = TurnTake(rel, irel, territory, &pin);
	PG_TRY();
	{
		chosen = choose(arg, turn);
		WriteTurn(rel, irel, territory, turn, user_ids[chosen]);
	}
	PG_FINALLY();
	{
		TurnWritten(pin);
	}
	PG_END_TRY();
	index_close(irel, RowExclusiveLock);
	table_close(rel, RowExclusiveLock);
	*taken = turn;
	return chosen;
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
	const char *owner = t->owner_column;
	StringInfoData sql;
	Datum	   *elems = palloc(sizeof(Datum) * n);
	int64	   *counts = palloc0(sizeof(int64) * n);
	Datum		keys_arg;
	Oid			keys_type = TEXTARRAYOID;
	int32		best = 0;
	int32		i;
	uint64		r;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT d.%s::pg_catalog.text, pg_catalog.count(*) FROM %s d WHERE d.%s = ANY ($1::%s[])",
					 quote_identifier(owner),
					 TerritoryRelationName(RelationGetRelid(rel)),
					 quote_identifier(owner),
					 format_type_be(get_atttype(relid, t->owner_attno)));
	if (t->kind == 'd')
		appendStringInfo(&sql,
						 " AND coalesce((SELECT s.category FROM %s s"
						 " WHERE s.stage OPERATOR(pg_catalog.=) d.%s::pg_catalog.text), 'pipeline')"
						 " OPERATOR(pg_catalog.=) ANY ('{pipeline,best_case,commit}'::pg_catalog.text[])",
						 ConfigTable("stages"), quote_identifier(t->stage_column));
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

typedef struct Choice
{
	Relation	rel;
	const ManagedTable *t;
	const char **keys;
	int32		n;
} Choice;

/* Round robin: the n-th turn goes to the ((n - 1) mod members)-th member. */
static int32
ChooseInTurn(void *arg, int64 turn)
{
	Choice	   *c = arg;

	return (int32) ((turn - 1) % c->n);
}

/* Load balancing: the member with the fewest open records. */
static int32
ChooseFewest(void *arg, int64 turn)
{
	Choice	   *c = arg;
	TerritoryUser save;
	int32		chosen;

	TerritoryBecomeOwner(&save);
	SPI_connect();
	chosen = FewestOpen(c->rel, c->t, c->keys, c->n);
	SPI_finish();
	TerritoryRestoreUser(&save);
	return chosen;
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
	Choice		choice;
	char	   *host;
	int32		port;
	int64		turn;

	if (territory == 0 || !HierarchyFind(h, territory, &node))
		return NULL;
	today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
												TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())));
	nmembers = VisibilityRotation(territory, today, &user_ids, &keys);
	if (nmembers == 0)
		return NULL;
	/* load balancing counts the records of one node: not fair across a Citus cluster */
	if (node.owner_mode != 'r' && ConfigLogicalRelid(RelationGetRelid(rel)) != RelationGetRelid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("load balancing is not supported on tables that Citus distributes"),
				 errdetail("Territory %d gives the new records of %s to the member with the fewest open records.", territory,
						   get_rel_name(ConfigLogicalRelid(RelationGetRelid(rel)))),
				 errhint("Use round robin for the territory, or give new records their owner.")));
	/* the keys point into the visibility cache, which the queries below may rebuild */
	{
		int32		i;

		for (i = 0; i < nmembers; i++)
			keys[i] = pstrdup(keys[i]);
	}

	choice.rel = rel;
	choice.t = t;
	choice.keys = keys;
	choice.n = nmembers;
	if (node.owner_mode != 'r')
		chosen = TakeTurn(territory, user_ids, true, ChooseFewest, &choice, &turn);
	else if (ConfigCoordinator(&host, &port))
		/* a Citus worker: the cluster's turns are the coordinator's (remote.c) */
		chosen = ChooseInTurn(&choice, RemoteTakeTurn(host, port, territory, user_ids, nmembers));
	else
		chosen = TakeTurn(territory, user_ids, false, ChooseInTurn, &choice, &turn);
	owner = pstrdup(keys[chosen]);
	return owner;
}

/*
 * territory._take_turn(territory, user_ids): the next turn of a territory whose members in
 * rotation are user_ids, for a worker of a Citus cluster (remote.c) on its coordinator.
 */
PG_FUNCTION_INFO_V1(territory_take_turn);
Datum
territory_take_turn(PG_FUNCTION_ARGS)
{
	int32		territory = PG_GETARG_INT32(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Choice		choice = {0};
	char	   *host;
	int32		port;
	int64		turn;

	if (ARR_NDIM(arr) != 1 || ARR_ELEMTYPE(arr) != INT4OID || array_contains_nulls(arr) || ARR_DIMS(arr)[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the members in rotation are a non-empty array of sales user ids without nulls")));
	if (ConfigCoordinator(&host, &port))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the turns of owner assignment are taken on the coordinator %s:%d", host, port)));
	choice.n = ARR_DIMS(arr)[0];
	TakeTurn(territory, (const int32 *) ARR_DATA_PTR(arr), false, ChooseInTurn, &choice, &turn);
	PG_RETURN_INT64(turn);
}
