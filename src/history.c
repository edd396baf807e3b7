/*
 * history.c
 *		The assignment history: every change of a record's territories, with its causes.
 *
 * The assignment trigger (assign.c) knows, when it computes a record's territories, what changes
 * and why; it notes that here, in a per-backend buffer.  The buffer is written to
 * territory.assignment_log (one row per record change: the territories after it, what was added
 * and removed and why) when the top-level statement ends, when 10,000 changes are waiting, when a
 * subtransaction starts (so that a rollback to it cannot take earlier changes with it) and before
 * commit; the rows go in with heap_multi_insert and the log's indexes are maintained as COPY
 * does, so that a change costs a small part of what an INSERT through SQL would.  What an aborted
 * (sub)transaction noted is dropped with it.  territory.assignment_history is the view that
 * shows the log one territory per row.
 *
 * A BEFORE INSERT trigger cannot tell whether the row will be inserted: INSERT ... ON CONFLICT
 * may skip it (DO NOTHING) or update the existing row instead (DO UPDATE).  The executor hooks
 * below keep a stack of the running statements; a change noted under a statement with ON CONFLICT
 * is tentative until the statement finishes, and then kept only when the row with that key is
 * there, written by this statement, and was not produced by the statement's DO UPDATE.
 *
 * Ordering: each write takes one value of territory.assignment_log_id_seq (which steps by
 * HISTORY_BLOCK) and numbers its rows from there, so ids follow the order of the changes; two
 * transactions changing one record write in the order of their row locks.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "territory.h"
#include "history.h"
#include "matcher.h"

/* rows of one write share one sequence value; it steps by this much */
#define HISTORY_BLOCK 16384
/* write when this many confirmed changes are waiting */
#define HISTORY_FLUSH_AT 10000

/* columns of territory.assignment_log */
enum
{
	LOG_ID = 0,
	LOG_TBL,
	LOG_KEY,
	LOG_TERRITORIES,
	LOG_ADDED,
	LOG_ADDED_CAUSES,
	LOG_REMOVED,
	LOG_REMOVED_CAUSES,
	LOG_AT,
	LOG_XID,
	LOG_NATTS
};

typedef struct HistoryEntry
{
	Oid			relid;
	char	   *key;
	Datum		dist;			/* on a Citus shard: the record's distribution value */
	bool		dist_null;
	int32		nterritories;	/* the territories after the change */
	int32		nadded;
	int32		nremoved;
	int32	   *ids;			/* territories, added, added causes, removed, removed causes */
	SubTransactionId subid;
	uintptr_t	tag;			/* 0: confirmed; else the statement that may not have done it */
	bool		insert;			/* an INSERT's change (may be tentative) */
	bool		dropped;		/* a tentative change found not to have happened */
} HistoryEntry;

#define TAG_UNKNOWN ((uintptr_t) 1)

/* territory.history: off skips the history (superusers only, for loads that want none) */
static bool history_enabled = true;

static MemoryContext history_cxt = NULL;
static HistoryEntry *entries = NULL;
static int32 nentries = 0;
static int32 maxentries = 0;
static int32 ntentative = 0;

/* The statements running in this backend, innermost last. */
typedef struct RunningStatement
{
	QueryDesc  *query;			/* NULL: a utility command, or executor finishing */
	bool		on_conflict;
} RunningStatement;

static RunningStatement *running = NULL;
static int	nrunning = 0;
static int	maxrunning = 0;

static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
HistoryReset(void)
{
	if (history_cxt != NULL)
		MemoryContextReset(history_cxt);
	entries = NULL;
	nentries = maxentries = ntentative = 0;
}

/* ---------------------------------------------------------------- noting changes */

/* Whether a change noted now may not happen: the running statement has ON CONFLICT. */
static uintptr_t
CurrentTag(void)
{
	RunningStatement *top;

	if (nrunning == 0)
		return TAG_UNKNOWN;		/* the library was loaded inside this statement */
	top = &running[nrunning - 1];
	if (top->query == NULL || !top->on_conflict)
		return 0;
	return (uintptr_t) top->query;
}

/*
 * HistoryNote
 *		Note a change of a record's territories, from old to new (both sorted, without
 *		duplicates).  old_causes and new_causes give for each territory the cause of its removal
 *		or addition (used for those that are); nothing is noted when nothing changed.  insert:
 *		the change of an INSERT, which ON CONFLICT may not carry out.
 */
void
HistoryNote(Oid relid, TupleTableSlot *row, const char *key, const int32 *old, const int32 *old_causes,
			int32 nold, const int32 *new, const int32 *new_causes, int32 nnew, bool insert)
{
	AttrNumber	dist_attno;
	HistoryEntry *e;
	int32		i,
				j,
				nadded = 0,
				nremoved = 0;
	int32	   *added,
			   *removed;

	if (!history_enabled)
		return;
	/* merge the two sorted lists */
	for (i = 0, j = 0; i < nnew || j < nold;)
	{
		if (j >= nold || (i < nnew && new[i] < old[j]))
			nadded++, i++;
		else if (i >= nnew || old[j] < new[i])
			nremoved++, j++;
		else
			i++, j++;
	}
	if (nadded == 0 && nremoved == 0)
		return;

	if (history_cxt == NULL)
		history_cxt = AllocSetContextCreate(TopMemoryContext, "territory history buffer",
											ALLOCSET_DEFAULT_SIZES);
	if (nentries == maxentries)
	{
		maxentries = Max(maxentries * 2, 256);
		entries = entries ? repalloc(entries, sizeof(HistoryEntry) * maxentries)
			: MemoryContextAlloc(history_cxt, sizeof(HistoryEntry) * maxentries);
	}
	e = &entries[nentries];
	e->relid = relid;
	/* on a shard, the row goes to the co-located shard of the history: by the record's value */
	dist_attno = row != NULL ? ConfigDistributionAttno(relid) : InvalidAttrNumber;
	e->dist_null = true;
	if (dist_attno != InvalidAttrNumber)
	{
		Form_pg_attribute attr = TupleDescAttr(row->tts_tupleDescriptor, dist_attno - 1);
		Datum		d = slot_getattr(row, dist_attno, &e->dist_null);
		MemoryContext old_cxt = MemoryContextSwitchTo(history_cxt);

		e->dist = e->dist_null ? (Datum) 0 : datumCopy(d, attr->attbyval, attr->attlen);
		MemoryContextSwitchTo(old_cxt);
	}
	{
		/* the ids and the key in one allocation */
		Size		nids = nnew + 2 * (nadded + nremoved);
		Size		keylen = key ? strlen(key) : 0;
		char	   *chunk = MemoryContextAlloc(history_cxt, sizeof(int32) * Max(nids, 1) + keylen + 1);

		e->ids = (int32 *) chunk;
		e->key = chunk + sizeof(int32) * Max(nids, 1);
		memcpy(e->key, key ? key : "", keylen + 1);
	}
	e->nterritories = nnew;
	e->nadded = nadded;
	e->nremoved = nremoved;
	if (nnew > 0)
		memcpy(e->ids, new, sizeof(int32) * nnew);
	added = e->ids + nnew;
	removed = added + 2 * nadded;
	nadded = nremoved = 0;
	for (i = 0, j = 0; i < nnew || j < nold;)
	{
		if (j >= nold || (i < nnew && new[i] < old[j]))
		{
			added[nadded] = new[i];
			added[e->nadded + nadded] = new_causes[i];
			nadded++, i++;
		}
		else if (i >= nnew || old[j] < new[i])
		{
			removed[nremoved] = old[j];
			removed[e->nremoved + nremoved] = old_causes[j];
			nremoved++, j++;
		}
		else
			i++, j++;
	}
	e->subid = GetCurrentSubTransactionId();
	e->insert = insert;
	e->dropped = false;
	e->tag = insert ? CurrentTag() : 0;
	if (e->tag != 0)
		ntentative++;
	nentries++;
	if (nentries >= HISTORY_FLUSH_AT && ntentative == 0)
		HistoryFlush();
}

/* ---------------------------------------------------------------- writing */

/* An int4[] of n ids, built in one allocation (empty: the shared empty array). */
static Datum
IntArray(const int32 *ids, int32 n, Datum empty)
{
	ArrayType  *a;
	Size		size;

	if (n == 0)
		return empty;
	size = ARR_OVERHEAD_NONULLS(1) + sizeof(int32) * n;
	a = (ArrayType *) palloc(size);
	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT4OID;
	ARR_DIMS(a)[0] = n;
	ARR_LBOUND(a)[0] = 1;
	memcpy(ARR_DATA_PTR(a), ids, sizeof(int32) * n);
	return PointerGetDatum(a);
}

/* Insert a batch of rows as COPY does, and free them. */
static void
WriteBatch(Relation rel, ResultRelInfo *rri, EState *estate, BulkInsertState bistate, CommandId cid,
		   TupleTableSlot **slots, int32 n)
{
	int32		i;

	table_multi_insert(rel, slots, n, cid, 0, bistate);
	for (i = 0; i < n; i++)
	{
		if (rri->ri_NumIndices > 0)
			TerritoryInsertIndexTuples(rri, slots[i], estate);
		ExecClearTuple(slots[i]);
	}
	ResetPerTupleExprContext(estate);
}

#define WRITE_BATCH 1000

/* The relation that holds the history of the records of relid (a table, or a Citus shard). */
static Oid
HistoryTarget(Oid relid)
{
	return ConfigColocatedShard(TerritoryRelid("assignment_log"), relid);
}

/*
 * Write the confirmed changes whose history target is target, in the order they were noted:
 * territory.assignment_log, or on a Citus cluster, for the changes of a shard of a managed table,
 * the co-located shard of the distributed history on this node (with the records' distribution
 * values in its column dist_value).
 */
static void
WriteEntries(Oid target, const Oid *targets, Datum empty, Datum at, Datum xid, MemoryContext cxt)
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	TupleTableSlot *slots[WRITE_BATCH];
	MemoryContext batch = AllocSetContextCreate(cxt, "territory history batch", ALLOCSET_DEFAULT_SIZES);
	CommandId	cid;
	Oid			seqid = TerritoryRelid("assignment_log_id_seq");
	AttrNumber	dist_attno;
	int64		base = 0;
	int32		block = HISTORY_BLOCK;
	int32		i,
				nslots = 0,
				nmade = 0;

	rel = table_open(target, RowExclusiveLock);
	dist_attno = RelationGetDescr(rel)->natts == LOG_NATTS + 1 ? LOG_NATTS + 1 : InvalidAttrNumber;
	if ((RelationGetDescr(rel)->natts != LOG_NATTS && dist_attno == InvalidAttrNumber) ||
		(dist_attno != InvalidAttrNumber &&
		 strcmp(NameStr(TupleDescAttr(RelationGetDescr(rel), dist_attno - 1)->attname), "dist_value") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("territory.assignment_log does not have the columns this library writes"),
				 errhint("Update the territory extension to the version of its library.")));
	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	bistate = GetBulkInsertState();
	cid = GetCurrentCommandId(true);

	for (i = 0; i < nentries; i++)
	{
		HistoryEntry *e = &entries[i];
		TupleTableSlot *slot;
		int32	   *added = e->ids + e->nterritories;
		int32	   *removed = added + 2 * e->nadded;

		if (e->tag != 0 || e->dropped || targets[i] != target)
			continue;
		if (block == HISTORY_BLOCK)
		{
			base = nextval_internal(seqid, false);
			block = 0;
		}
		if (nslots == WRITE_BATCH)
		{
			WriteBatch(rel, rri, estate, bistate, cid, slots, nslots);
			MemoryContextReset(batch);
			nslots = 0;
		}
		if (nslots == nmade)
			slots[nmade++] = MakeSingleTupleTableSlot(RelationGetDescr(rel), table_slot_callbacks(rel));
		slot = slots[nslots++];
		ExecClearTuple(slot);
		MemoryContextSwitchTo(batch);
		memset(slot->tts_isnull, 0, sizeof(bool) * RelationGetDescr(rel)->natts);
		slot->tts_values[LOG_ID] = Int64GetDatum(base + block++);
		slot->tts_values[LOG_TBL] = ObjectIdGetDatum(ConfigLogicalRelid(e->relid));	/* a shard's table */
		slot->tts_values[LOG_KEY] = CStringGetTextDatum(e->key);
		slot->tts_values[LOG_TERRITORIES] = IntArray(e->ids, e->nterritories, empty);
		slot->tts_values[LOG_ADDED] = IntArray(added, e->nadded, empty);
		slot->tts_values[LOG_ADDED_CAUSES] = IntArray(added + e->nadded, e->nadded, empty);
		slot->tts_values[LOG_REMOVED] = IntArray(removed, e->nremoved, empty);
		slot->tts_values[LOG_REMOVED_CAUSES] = IntArray(removed + e->nremoved, e->nremoved, empty);
		slot->tts_values[LOG_AT] = at;
		slot->tts_values[LOG_XID] = xid;
		if (dist_attno != InvalidAttrNumber)
		{
			slot->tts_values[dist_attno - 1] = e->dist;
			slot->tts_isnull[dist_attno - 1] = e->dist_null;
		}
		ExecStoreVirtualTuple(slot);
		MemoryContextSwitchTo(cxt);
	}
	if (nslots > 0)
		WriteBatch(rel, rri, estate, bistate, cid, slots, nslots);
	for (i = 0; i < nmade; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	FreeBulkInsertState(bistate);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
	MemoryContextDelete(batch);
}

/*
 * HistoryFlush
 *		Write the confirmed changes to territory.assignment_log; tentative ones stay.
 */
void
HistoryFlush(void)
{
	MemoryContext cxt,
				old;
	Datum		at;
	Datum		xid;
	Datum		empty;
	Oid		   *targets;		/* by entry */
	Oid		   *distinct;
	int32		ndistinct = 0;
	int32		i,
				k;

	if (nentries == ntentative || !IsTransactionState())
		return;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "territory history write",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	empty = PointerGetDatum(construct_empty_array(INT4OID));
	at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	xid = FullTransactionIdGetDatum(GetTopFullTransactionId());

	/* where each confirmed change goes: one relation, except on a Citus worker */
	targets = palloc(sizeof(Oid) * nentries);
	distinct = palloc(sizeof(Oid) * nentries);
	for (i = 0; i < nentries; i++)
	{
		HistoryEntry *e = &entries[i];
		int32		j;

		targets[i] = InvalidOid;
		if (e->tag != 0 || e->dropped)
			continue;
		targets[i] = i > 0 && entries[i - 1].relid == e->relid && OidIsValid(targets[i - 1])
			? targets[i - 1] : HistoryTarget(e->relid);
		for (j = ndistinct - 1; j >= 0 && distinct[j] != targets[i]; j--)
			;
		if (j < 0)
			distinct[ndistinct++] = targets[i];
	}
	for (i = 0; i < ndistinct; i++)
		WriteEntries(distinct[i], targets, empty, at, xid, cxt);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	/* tentative changes stay; the written entries' memory goes when the buffer empties */
	for (i = 0, k = 0; i < nentries; i++)
		if (entries[i].tag != 0)
			entries[k++] = entries[i];
	nentries = k;
	if (nentries == 0)
		HistoryReset();
}

/* ---------------------------------------------------------------- INSERT ... ON CONFLICT */

static int
CompareKeys(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool
KeyIn(char **sorted, int32 n, const char *key)
{
	return bsearch(&key, sorted, n, sizeof(char *), CompareKeys) != NULL;
}

/*
 * The tentative changes of a statement with ON CONFLICT on the table relid: keep those whose row
 * the statement inserted, drop the others.
 */
static void
VerifyInserts(QueryDesc *query, uintptr_t tag, Oid relid)
{
	const ManagedTable *t = MatcherTable(GetMatcher(relid));
	char	  **keys;
	char	  **updated;
	char	  **inserted;
	int32		nkeys = 0,
				nupdated = 0,
				ninserted = 0;
	int32		i;
	bool		seen = false;
	Datum		arg;
	Oid			argtype = TEXTARRAYOID;
	StringInfoData sql;
	TerritoryUser save;

	keys = palloc(sizeof(char *) * nentries);
	updated = palloc(sizeof(char *) * nentries);
	for (i = 0; i < nentries; i++)
	{
		HistoryEntry *e = &entries[i];

		if (e->relid != relid)
			continue;
		if (e->tag == tag || e->tag == TAG_UNKNOWN)
		{
			keys[nkeys++] = e->key;
			seen = true;
		}
		else if (seen && !e->insert && !e->dropped)
			updated[nupdated++] = e->key;	/* the statement's DO UPDATE */
	}
	qsort(updated, nupdated, sizeof(char *), CompareKeys);

	/* which of those keys are rows this statement wrote */
	{
		Datum	   *d = palloc(sizeof(Datum) * Max(nkeys, 1));

		for (i = 0; i < nkeys; i++)
			d[i] = CStringGetTextDatum(keys[i]);
		arg = PointerGetDatum(construct_array(d, nkeys, TEXTOID, -1, false, TYPALIGN_INT));
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT k.key, t.xmin, t.cmin FROM pg_catalog.unnest($1) AS k(key)"
					 " JOIN %s AS t ON t.%s OPERATOR(pg_catalog.=) k.key::%s",
					 TerritoryRelationName(relid),
					 quote_identifier(get_attname(relid, t->key_attno, false)),
					 format_type_be_qualified(t->key_type));
	inserted = palloc(sizeof(char *) * Max(nkeys, 1));
	TerritoryBecomeOwner(&save);
	SPI_connect();
	if (SPI_execute_with_args(sql.data, 1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the rows of an INSERT ... ON CONFLICT");
	for (i = 0; i < (int32) SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(SPI_getbinval(tup, desc, 2, &isnull));
		CommandId	cmin = DatumGetCommandId(SPI_getbinval(tup, desc, 3, &isnull));

		if (TransactionIdIsCurrentTransactionId(xmin) && cmin == query->estate->es_output_cid)
			inserted[ninserted++] = MemoryContextStrdup(CurTransactionContext,
														SPI_getvalue(tup, desc, 1));
	}
	SPI_finish();
	TerritoryRestoreUser(&save);
	qsort(inserted, ninserted, sizeof(char *), CompareKeys);

	for (i = 0; i < nentries; i++)
	{
		HistoryEntry *e = &entries[i];

		if (e->relid != relid || (e->tag != tag && e->tag != TAG_UNKNOWN))
			continue;
		e->dropped = KeyIn(updated, nupdated, e->key) || !KeyIn(inserted, ninserted, e->key);
		e->tag = 0;
		ntentative--;
	}
}

/* The statement query finished: its tentative changes become certain, or are dropped. */
static void
ResolveTentative(QueryDesc *query, bool on_conflict)
{
	uintptr_t	tag = (uintptr_t) query;
	int32		i;

	if (ntentative == 0)
		return;
	for (i = 0; i < nentries && ntentative > 0; i++)
	{
		HistoryEntry *e = &entries[i];

		if (e->tag == 0 || (e->tag != tag && e->tag != TAG_UNKNOWN))
			continue;
		if (on_conflict && query != NULL)
			VerifyInserts(query, tag, e->relid);	/* every entry of that table at once */
		else
		{
			e->tag = 0;
			ntentative--;
		}
	}
}

/* Whether a plan inserts with ON CONFLICT, in its main statement or a WITH clause. */
static bool
PlanHasOnConflict(PlannedStmt *ps)
{
	ListCell   *lc;

	if (ps->commandType == CMD_INSERT && IsA(ps->planTree, ModifyTable) &&
		((ModifyTable *) ps->planTree)->onConflictAction != ONCONFLICT_NONE)
		return true;
	if (!ps->hasModifyingCTE)
		return false;
	foreach(lc, ps->subplans)
	{
		Plan	   *p = lfirst(lc);

		if (p != NULL && IsA(p, ModifyTable) && ((ModifyTable *) p)->onConflictAction != ONCONFLICT_NONE)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- hooks */

static void
PushRunning(QueryDesc *query)
{
	if (nrunning == maxrunning)
	{
		maxrunning = Max(maxrunning * 2, 16);
		running = running ? repalloc(running, sizeof(RunningStatement) * maxrunning)
			: MemoryContextAlloc(TopMemoryContext, sizeof(RunningStatement) * maxrunning);
	}
	running[nrunning].query = query;
	running[nrunning].on_conflict = query != NULL && PlanHasOnConflict(query->plannedstmt);
	nrunning++;
}

/* At the end of a top-level statement the changes it noted are written. */
static void
FlushAtTopLevel(void)
{
	if (nrunning == 0 && nentries > 0 && IsTransactionState() && !IsAbortedTransactionBlockState())
		HistoryFlush();
}

static void
HistoryExecutorRun(TERRITORY_EXECUTOR_RUN_PARAMS)
{
	int			depth = nrunning;

	PushRunning(queryDesc);
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(TERRITORY_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(TERRITORY_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		nrunning = depth;
	}
	PG_END_TRY();
}

static void
HistoryExecutorFinish(QueryDesc *queryDesc)
{
	int			depth = nrunning;

	/* before AFTER triggers run: the statement's own rows are as it left them */
	ResolveTentative(queryDesc, PlanHasOnConflict(queryDesc->plannedstmt));
	PushRunning(NULL);
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nrunning = depth;
	}
	PG_END_TRY();
	FlushAtTopLevel();
}

static void
HistoryProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	int			depth = nrunning;

	PushRunning(NULL);
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
									dest, qc);
	}
	PG_FINALLY();
	{
		nrunning = depth;
	}
	PG_END_TRY();
	if (nrunning == 0)
	{
		/* a COPY that loaded the library: no ON CONFLICT there */
		ResolveTentative(NULL, false);
		FlushAtTopLevel();
	}
}

static void
HistoryXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			ResolveTentative(NULL, false);
			HistoryFlush();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			HistoryReset();
			break;
		default:
			break;
	}
}

static void
HistorySubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	int32		i,
				k;

	if (event == SUBXACT_EVENT_START_SUB)
	{
		/* a rollback to it must not take the changes made before it */
		HistoryFlush();
		return;
	}
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* drop what the aborted subtransaction and its children noted */
	for (i = 0, k = 0; i < nentries; i++)
	{
		if (entries[i].subid < mySubid)
			entries[k++] = entries[i];
		else if (entries[i].tag != 0)
			ntentative--;
	}
	nentries = k;
}

void
HistoryInit(void)
{
	DefineCustomBoolVariable("territory.history",
							 "Record changes of records' territories in territory.assignment_log.",
							 "Off skips the history, for loads whose assignments need none.",
							 &history_enabled, true, PGC_SUSET, 0, NULL, NULL, NULL);
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = HistoryExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = HistoryExecutorFinish;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = HistoryProcessUtility;
	RegisterXactCallback(HistoryXactCallback, NULL);
	RegisterSubXactCallback(HistorySubXactCallback, NULL);
}

/* territory._flush_history(): write this transaction's noted changes now. */
PG_FUNCTION_INFO_V1(territory_flush_history);
Datum
territory_flush_history(PG_FUNCTION_ARGS)
{
	HistoryFlush();
	PG_RETURN_VOID();
}
