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
#include "catalog/namespace.h"
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
#include "utils/varlena.h"

#include "territory.h"
#include "matcher.h"
#include "owners.h"
#include "inflight.h"
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
 *		The index of the member with the fewest open records of the table relid: for deals, those
 *		of an open category (pipeline, best case, commit, or an unknown stage); for accounts and
 *		leads, all.  Ties go to the first in key order.  counts[0 .. n) come in with the records
 *		in flight that the query cannot see (a Citus coordinator's, inflight.c), and checks[0 ..
 *		ncheck) are the groups in flight whose last record the query looks for, in the same scan
 *		(one snapshot per shard on a cluster): a group whose record shows counts by its records,
 *		and is forgotten; one whose record does not counts as in flight.
 */
static int32
FewestOpen(Oid relid, const ManagedTable *t, const char **keys, int32 n, int64 *counts,
		   const InflightCheck *checks, int ncheck)
{
	const char *owner = quote_identifier(t->owner_column);
	StringInfoData sql;
	StringInfoData open;
	Datum		args[2];
	Oid			types[2] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, ncheck));
	bool	   *seen = palloc0(sizeof(bool) * Max(ncheck, 1));
	int32		best = 0;
	int32		i;
	uint64		r;

	initStringInfo(&open);
	appendStringInfo(&open, "d.%s = ANY ($1::%s[])", owner, format_type_be(get_atttype(relid, t->owner_attno)));
	if (t->kind == 'd')
		appendStringInfo(&open,
						 " AND coalesce((SELECT s.category FROM %s s"
						 " WHERE s.stage OPERATOR(pg_catalog.=) d.%s::pg_catalog.text), 'pipeline')"
						 " OPERATOR(pg_catalog.=) ANY ('{pipeline,best_case,commit}'::pg_catalog.text[])",
						 ConfigTable("stages"), quote_identifier(t->stage_column));
	initStringInfo(&sql);
	if (ncheck == 0)
		appendStringInfo(&sql, "SELECT d.%s::pg_catalog.text, pg_catalog.count(*), NULL::pg_catalog.text FROM %s d WHERE %s GROUP BY 1",
						 owner, TerritoryRelationName(relid), open.data);
	else
	{
		const char *key = quote_identifier(get_attname(relid, t->key_attno, false));
		char	   *key_type = format_type_be(t->key_type);

		/* the records of the groups in flight, by their key (an index probe), owner or not */
		appendStringInfo(&sql,
						 "SELECT d.%s::pg_catalog.text, pg_catalog.count(*) FILTER (WHERE %s),"
						 " CASE WHEN d.%s = ANY ($2::pg_catalog.text[]::%s[]) THEN d.%s::pg_catalog.text END"
						 " FROM %s d WHERE (%s) OR d.%s = ANY ($2::pg_catalog.text[]::%s[]) GROUP BY 1, 3",
						 owner, open.data, key, key_type, key, TerritoryRelationName(relid), open.data, key, key_type);
	}

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(keys[i]);
	args[0] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
	for (i = 0; i < ncheck; i++)
		elems[i] = CStringGetTextDatum(checks[i].key);
	args[1] = PointerGetDatum(construct_array(elems, ncheck, TEXTOID, -1, false, TYPALIGN_INT));

	/*
	 * The records committed by those who took their turns before us, and on one server ours, those
	 * of the current statement included: taking the turn advanced the command counter past them.
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_execute_with_args(sql.data, ncheck == 0 ? 1 : 2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the open records of %s", get_rel_name(relid));
	PopActiveSnapshot();
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		char	   *key = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		char	   *record = SPI_getvalue(tup, SPI_tuptable->tupdesc, 3);
		bool		isnull;
		int64		c = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));

		for (i = 0; key != NULL && i < n; i++)
			if (strcmp(keys[i], key) == 0)
				counts[i] += c;
		for (i = 0; record != NULL && i < ncheck; i++)
			if (strcmp(checks[i].key, record) == 0)
				seen[i] = true;
	}
	for (i = 0; i < ncheck; i++)
	{
		if (seen[i])
			InflightSeen(&checks[i]);
		else
			counts[checks[i].member] += checks[i].count;
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
	chosen = FewestOpen(RelationGetRelid(c->rel), c->t, c->keys, c->n, palloc0(sizeof(int64) * c->n), NULL, 0);
	SPI_finish();
	TerritoryRestoreUser(&save);
	return chosen;
}

/* A choice made before the turn is taken (a Citus coordinator's pick for a worker). */
static int32
ChooseGiven(void *arg, int64 turn)
{
	return *(int32 *) arg;
}

/*
 * OwnerChoose
 *		The key of the owner a new record of rel (its key: key) in territories ids[0 .. n) gets,
 *		palloc'd; NULL when none of them assigns owners or the territory has nobody in rotation.
 */
char *
OwnerChoose(Relation rel, const ManagedTable *t, const int32 *ids, int32 n, const char *key)
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
	if (ConfigLogicalRelid(RelationGetRelid(rel)) == RelationGetRelid(rel))
		/* one server, or a table of the coordinator's own */
		chosen = node.owner_mode == 'r'
			? TakeTurn(territory, user_ids, false, ChooseInTurn, &choice, &turn)
			: TakeTurn(territory, user_ids, true, ChooseFewest, &choice, &turn);
	else if (!ConfigCoordinator(&host, &port))
	{
		/* a shard on the coordinator: the cluster's turns are its own, its count is a shard's */
		if (node.owner_mode != 'r')
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("load balancing is not supported on the coordinator's shards of a distributed table"),
					 errdetail("Territory %d gives the new records of %s to the member with the fewest open records.",
							   territory, get_rel_name(ConfigLogicalRelid(RelationGetRelid(rel)))),
					 errhint("Give the record its owner, use round robin for the territory, or keep the coordinator free of shards (doc/citus.md).")));
		chosen = TakeTurn(territory, user_ids, false, ChooseInTurn, &choice, &turn);
	}
	else if (node.owner_mode == 'r')
		/* a Citus worker: the cluster's turns are the coordinator's (remote.c) */
		chosen = ChooseInTurn(&choice, RemoteTakeTurn(host, port, territory, user_ids, nmembers));
	else
	{
		/* load balancing on a worker: the coordinator counts the cluster's records */
		int32		user_id;

		if (key == NULL || strlen(key) >= INFLIGHT_KEY)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("load balancing on a distributed table needs a record key of at most %d bytes", INFLIGHT_KEY - 1),
					 errdetail("Territory %d gives the new records of %s to the member with the fewest open records.",
							   territory, get_rel_name(ConfigLogicalRelid(RelationGetRelid(rel)))),
					 errhint("Give the record its owner, or use round robin for the territory.")));
		user_id = RemotePickFewest(host, port, territory, TerritoryRelationName(ConfigLogicalRelid(RelationGetRelid(rel))),
								   key, user_ids, keys, nmembers, ConfigDistributedXact());
		for (chosen = 0; chosen < nmembers; chosen++)
			if (user_ids[chosen] == user_id)
				break;
		if (chosen == nmembers)
			elog(ERROR, "the coordinator gave territory %d's new record a member not in rotation (%d)", territory, user_id);
	}
	owner = pstrdup(keys[chosen]);
	return owner;
}

/* The members of an internal function's call: a non-empty int4[] without nulls, or an error. */
static int32
MembersArg(ArrayType *arr)
{
	if (ARR_NDIM(arr) != 1 || ARR_ELEMTYPE(arr) != INT4OID || array_contains_nulls(arr) || ARR_DIMS(arr)[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the members in rotation are a non-empty array of sales user ids without nulls")));
	return ARR_DIMS(arr)[0];
}

/* An internal function for a worker runs on the coordinator only. */
static void
OnTheCoordinator(const char *what)
{
	char	   *host;
	int32		port;

	if (ConfigCoordinator(&host, &port))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the %s of owner assignment are taken on the coordinator %s:%d", what, host, port)));
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
	int64		turn;

	choice.n = MembersArg(arr);
	OnTheCoordinator("turns");
	TakeTurn(territory, (const int32 *) ARR_DATA_PTR(arr), false, ChooseInTurn, &choice, &turn);
	PG_RETURN_INT64(turn);
}

/*
 * territory._pick_fewest(territory, tbl, record, user_ids, keys, xact): for a worker of a Citus
 * cluster (remote.c), on its coordinator, the member of user_ids (sales user ids; keys, their
 * owner values) with the fewest open records of the distributed table tbl, counting the
 * cluster's committed records and those in flight (inflight.c), which it then gives the new
 * record record: a turn taken for it, remembered in flight until the workers' record shows.  One
 * pick at a time per territory, after the other transactions that gave owners in it have ended,
 * as on one server; the backends of the worker's distributed transaction xact wait only for each
 * other's picks, not for each other's commits.
 */
PG_FUNCTION_INFO_V1(territory_pick_fewest);
Datum
territory_pick_fewest(PG_FUNCTION_ARGS)
{
	int32		territory = PG_GETARG_INT32(0);
	List	   *names = textToQualifiedNameList(PG_GETARG_TEXT_PP(1));
	char	   *record = text_to_cstring(PG_GETARG_TEXT_PP(2));
	ArrayType  *ids = PG_GETARG_ARRAYTYPE_P(3);
	ArrayType  *key_arr = PG_GETARG_ARRAYTYPE_P(4);
	char	   *xact = text_to_cstring(PG_GETARG_TEXT_PP(5));
	int32		n = MembersArg(ids);
	const int32 *user_ids = (const int32 *) ARR_DATA_PTR(ids);
	Datum	   *key_datums;
	bool	   *key_nulls;
	int			nkeys;
	const char **keys;
	Oid			relid;
	const ManagedTable *t;
	int64	   *counts = palloc0(sizeof(int64) * n);
	InflightCheck *checks;
	int			ncheck;
	volatile int32 chosen = 0;
	int32		i;

	OnTheCoordinator("picks");
	deconstruct_array(key_arr, TEXTOID, -1, false, TYPALIGN_INT, &key_datums, &key_nulls, &nkeys);
	if (nkeys != n || array_contains_nulls(key_arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the members' keys are an array as long as their ids, without nulls")));
	if (strlen(record) >= INFLIGHT_KEY)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("load balancing on a distributed table needs a record key of at most %d bytes", INFLIGHT_KEY - 1)));
	keys = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
		keys[i] = TextDatumGetCString(key_datums[i]);
	relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock, false);
	t = MatcherTable(GetMatcher(relid));
	if (t->owner_attno == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" has no owner column", get_rel_name(relid))));

	InflightPickBegin(territory, xact);
	PG_TRY();
	{
		TerritoryUser save;
		int64		turn;

		ncheck = InflightCollect(relid, territory, user_ids, n, counts, &checks);
		TerritoryBecomeOwner(&save);
		SPI_connect();
		chosen = FewestOpen(relid, t, keys, n, counts, checks, ncheck);
		SPI_finish();
		TerritoryRestoreUser(&save);
		InflightAdd(relid, territory, user_ids[chosen], record, xact);
		TakeTurn(territory, user_ids, false, ChooseGiven, (void *) &chosen, &turn);
	}
	PG_FINALLY();
	{
		InflightPickEnd();
	}
	PG_END_TRY();
	PG_RETURN_INT32(user_ids[chosen]);
}
