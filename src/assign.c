/*
 * assign.c
 *		Assignment of records to territories: the triggers on managed tables, manual assignments
 *		and exclusions, and the assignment history.
 *
 * territory.assign_trigger() is a BEFORE INSERT OR UPDATE row trigger in C.  On INSERT, and on an
 * UPDATE that changes a column some rule reads (or the key, or the territories column itself),
 * it asks the table's matcher (matcher.c) for the rule territories, adds the record's manual
 * assignments, removes its manual exclusions and stores the result, sorted, in the territories
 * column.  Any other UPDATE costs one comparison per column the rules read.
 *
 * territory.history_trigger() is an AFTER row trigger that fires only when a record's territories
 * changed (its WHEN clause): it appends what was added and removed, with the cause (the rule, a
 * manual assignment or exclusion, the record's deletion) to a buffer that the AFTER statement
 * trigger territory.history_flush() writes to territory.assignment_history in one INSERT.  The
 * buffer follows (sub)transaction aborts: what an aborted subtransaction added is dropped.
 *
 * Manual assignments are cached per backend and table, keyed by the record key's text, and
 * invalidated through the manual signal.
 *
 * The triggers run with the search_path of whoever writes the table (pinning it would cost a
 * GUC change per row): every query they issue names its schema and operators explicitly.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "territory.h"
#include "matcher.h"
#include "history.h"
#include "owners.h"

/* territory.force_assign: set by run_rules() and manage_table() to recompute every record */
static bool force_assign = false;

/* ---------------------------------------------------------------- manual assignments */

typedef struct ManualItem
{
	char	   *key;
	int32		territory;
	bool		exclude;
} ManualItem;

typedef struct ManualBucket
{
	uint32		hash;			/* hash key */
	int32		nitems;
	int32		maxitems;
	ManualItem *items;
} ManualBucket;

typedef struct ManualKey
{
	Oid			relid;
	int32		model;
} ManualKey;

typedef struct ManualSet
{
	ManualKey	key;			/* hash key */
	bool		valid;
	MemoryContext cxt;
	HTAB	   *buckets;		/* NULL when the table has no manual assignments */
} ManualSet;

static HTAB *manual_sets = NULL;
static Oid	manual_signal = InvalidOid;

void
AssignRelcacheCallback(Oid relid)
{
	HASH_SEQ_STATUS seq;
	ManualSet  *ms;

	if (manual_sets == NULL)
		return;
	if (relid != InvalidOid && relid != manual_signal && !HierarchyIsSignal(relid))
		return;
	hash_seq_init(&seq, manual_sets);
	while ((ms = hash_seq_search(&seq)) != NULL)
		ms->valid = false;
}

static uint32
KeyHash(const char *key)
{
	return DatumGetUInt32(hash_any((const unsigned char *) key, strlen(key)));
}

static ManualSet *
GetManualSetFor(Oid relid, int32 model)
{
	ManualSet  *ms;
	bool		found;
	Datum		arg = ObjectIdGetDatum(ConfigLogicalRelid(relid));	/* a shard's are its table's */
	Oid			argtype = OIDOID;
	const Hierarchy *h;
	uint64		i;
	TerritoryUser save;
	ManualKey	mkey;

	if (manual_sets == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(ManualKey);
		ctl.entrysize = sizeof(ManualSet);
		ctl.hcxt = CacheMemoryContext;
		manual_sets = hash_create("territory manual assignments", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&mkey, 0, sizeof(mkey));
	mkey.relid = relid;
	mkey.model = model;
	ms = hash_search(manual_sets, &mkey, HASH_ENTER, &found);
	if (!found)
	{
		ms->valid = false;
		ms->cxt = NULL;
		ms->buckets = NULL;
	}
	if (ms->valid)
		return ms;

	manual_signal = TerritoryRelid(MANUAL_SIGNAL);
	if (ms->cxt != NULL)
		MemoryContextDelete(ms->cxt);
	ms->cxt = NULL;
	ms->buckets = NULL;
	ms->valid = true;			/* an invalidation during the load clears it */

	h = HierarchyCurrent();
	TerritoryBecomeOwner(&save);
	TerritoryConfigBegin();
	if (SPI_execute_with_args(psprintf("SELECT key, territory_id, action OPERATOR(pg_catalog.=) 'exclude'"
									   " FROM %s WHERE tbl OPERATOR(pg_catalog.=) $1",
									   ConfigTable("manual_assignments")),
							  1, &argtype, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read territory.manual_assignments");
	if (SPI_processed > 0)
	{
		HASHCTL		ctl;
		MemoryContext cxt = AllocSetContextCreate(CacheMemoryContext, "territory manual set",
												  ALLOCSET_SMALL_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(uint32);
		ctl.entrysize = sizeof(ManualBucket);
		ctl.hcxt = cxt;
		ms->buckets = hash_create("territory manual buckets", SPI_processed, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		ms->cxt = cxt;
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *key = SPI_getvalue(tup, desc, 1);
			int32		territory = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
			HierarchyNode node;
			uint32		hash;
			ManualBucket *b;

			if (!HierarchyFind(h, territory, &node) || node.model != model)
				continue;		/* a territory of another model */
			hash = KeyHash(key);
			b = hash_search(ms->buckets, &hash, HASH_ENTER, &found);
			if (!found)
			{
				b->nitems = 0;
				b->maxitems = 2;
				b->items = palloc(sizeof(ManualItem) * b->maxitems);
			}
			if (b->nitems == b->maxitems)
			{
				b->maxitems *= 2;
				b->items = repalloc(b->items, sizeof(ManualItem) * b->maxitems);
			}
			b->items[b->nitems].key = key;
			b->items[b->nitems].territory = territory;
			b->items[b->nitems].exclude = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			b->nitems++;
		}
		MemoryContextSwitchTo(old);
	}
	TerritoryConfigEnd();
	TerritoryRestoreUser(&save);
	return ms;
}

/* The manual assignments of a table in the active model. */
static ManualSet *
GetManualSet(Oid relid)
{
	return GetManualSetFor(relid, HierarchyActiveModel(HierarchyCurrent()));
}

/* The manual items of one record, NULL when it has none. */
static ManualBucket *
ManualOf(ManualSet *ms, const char *key)
{
	uint32		hash;

	if (ms->buckets == NULL || key == NULL)
		return NULL;
	hash = KeyHash(key);
	return hash_search(ms->buckets, &hash, HASH_FIND, NULL);
}

static bool
ManualHas(ManualBucket *b, const char *key, int32 territory, bool exclude)
{
	int32		i;

	if (b == NULL)
		return false;
	for (i = 0; i < b->nitems; i++)
		if (b->items[i].territory == territory && b->items[i].exclude == exclude &&
			strcmp(b->items[i].key, key) == 0)
			return true;
	return false;
}

/* The text of a record's key, as manual assignments and the history name it. */
static char *
KeyText(TupleTableSlot *slot, const ManagedTable *t)
{
	bool		isnull;
	Datum		key = slot_getattr(slot, t->key_attno, &isnull);

	if (isnull)
		return NULL;
	return OutputFunctionCall((FmgrInfo *) &t->key_out, key);
}

static int
CompareInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * The territories of a record: its rule territories, plus its manual assignments, minus its
 * manual exclusions; sorted, without duplicates.  Returns their number.
 */
static int32 ArrayIds(Datum d, bool isnull, int32 **out);

/* The territories of the account a contact or deal names (none without one). */
static int32
AccountTerritories(const ManagedTable *t, TupleTableSlot *slot, int32 **out)
{
	bool		isnull;
	Datum		account = slot_getattr(slot, t->account_attno, &isnull);
	TerritoryUser save;
	int32		n = 0;
	int32	   *ids = NULL;

	*out = NULL;
	if (isnull)
		return 0;
	TerritoryBecomeOwner(&save);
	SPI_connect();
	if (SPI_execute_plan((SPIPlanPtr) t->account_plan, &account, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the territories of an account");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		int32	   *found;

		n = ArrayIds(d, isnull, &found);
		ids = SPI_palloc(sizeof(int32) * Max(n, 1));
		if (n > 0)
			memcpy(ids, found, sizeof(int32) * n);
	}
	SPI_finish();
	TerritoryRestoreUser(&save);
	*out = ids;
	return n;
}

/* Apply a record's manual assignments (added) and exclusions (removed) to a sorted id list. */
static int32
ApplyManual(ManualBucket *b, const char *key, int32 *ids, int32 n, int32 **out)
{
	int32		i,
				k;

	if (b == NULL)
	{
		*out = ids;
		return n;
	}
	ids = ids ? repalloc(ids, sizeof(int32) * (n + b->nitems + 1))
		: palloc(sizeof(int32) * (b->nitems + 1));
	for (i = 0; i < b->nitems; i++)
		if (!b->items[i].exclude && strcmp(b->items[i].key, key) == 0)
			ids[n++] = b->items[i].territory;
	qsort(ids, n, sizeof(int32), CompareInt32);
	for (i = 0, k = 0; i < n; i++)
	{
		if (k > 0 && ids[k - 1] == ids[i])
			continue;
		if (ManualHas(b, key, ids[i], true))
			continue;
		ids[k++] = ids[i];
	}
	*out = ids;
	return k;
}

/* n causes, all the same */
static int32 *
SameCauses(int32 n, int32 cause)
{
	int32	   *c = palloc(sizeof(int32) * Max(n, 1));
	int32		i;

	for (i = 0; i < n; i++)
		c[i] = cause;
	return c;
}

/*
 * The territories of a record.  Accounts and leads: their rule territories, plus their manual
 * assignments, minus their manual exclusions.  Contacts: exactly their account's.  Deals: one
 * territory, their manual choice if any, else the best of their account's (or, without an
 * account, of their deal-level rules).  Sorted, without duplicates; returns their number.  With
 * causes, *causes gets why each is there: the rule's id, CAUSE_MANUAL or CAUSE_INHERITED.  key:
 * the record key's text when the caller has it (else computed when manual assignments need it).
 */
static int32
RecordTerritories(Matcher *m, ManualSet *ms, TupleTableSlot *slot, const char *key_given,
				  int32 **out, int32 **causes)
{
	const ManagedTable *t = MatcherTable(m);
	int32	   *ids;
	int32	   *rules = NULL;
	int32		n;
	const char *key = key_given ? key_given : ms->buckets ? KeyText(slot, t) : NULL;
	ManualBucket *b = ManualOf(ms, key);
	bool		isnull;
	int32		i;

	if (t->kind == 'c')
	{
		n = AccountTerritories(t, slot, out);
		if (causes)
			*causes = SameCauses(n, CAUSE_INHERITED);
		return n;
	}
	if (t->kind == 'd')
	{
		int32		k = 0;
		int32		best;

		/* a manual choice wins */
		if (b != NULL)
			for (i = 0; i < b->nitems; i++)
				if (!b->items[i].exclude && strcmp(b->items[i].key, key) == 0)
				{
					ids = palloc(sizeof(int32));
					ids[0] = b->items[i].territory;
					*out = ids;
					if (causes)
						*causes = SameCauses(1, CAUSE_MANUAL);
					return 1;
				}
		(void) slot_getattr(slot, t->account_attno, &isnull);
		n = isnull ? MatchRecord(m, slot, &ids, &rules) : AccountTerritories(t, slot, &ids);
		/* exclusions remove candidates */
		for (i = 0; i < n; i++)
			if (!ManualHas(b, key, ids[i], true))
			{
				if (rules)
					rules[k] = rules[i];
				ids[k++] = ids[i];
			}
		n = k;
		best = HierarchyBestTerritory(HierarchyCurrent(), ids, n, false);
		for (i = 0; i < n && ids[i] != best; i++)
			;
		if (causes)
			*causes = SameCauses(1, rules && i < n ? rules[i] : CAUSE_INHERITED);
		ids = ids ? ids : palloc(sizeof(int32));
		ids[0] = best;
		*out = ids;
		return best != 0 ? 1 : 0;
	}
	n = MatchRecord(m, slot, &ids, causes ? &rules : NULL);
	if (b == NULL)
	{
		*out = ids;
		if (causes)
			*causes = rules;
		return n;
	}
	{
		int32	   *matched = ids;
		int32		nmatched = n;
		int32	   *kept;

		ids = palloc(sizeof(int32) * (n + 1));
		if (n > 0)
			memcpy(ids, matched, sizeof(int32) * n);
		n = ApplyManual(b, key, ids, n, &kept);
		if (causes)
		{
			int32		j = 0;

			*causes = palloc(sizeof(int32) * Max(n, 1));
			for (i = 0; i < n; i++)
			{
				/* a manual assignment is the cause even where a rule agrees */
				while (j < nmatched && matched[j] < kept[i])
					j++;
				(*causes)[i] = ManualHas(b, key, kept[i], false) ? CAUSE_MANUAL
					: (j < nmatched && matched[j] == kept[i]) ? rules[j] : CAUSE_RULE;
			}
		}
		*out = kept;
		return n;
	}
}

static ArrayType *
IdArray(const int32 *ids, int32 n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int32		i;

	for (i = 0; i < n; i++)
		d[i] = Int32GetDatum(ids[i]);
	return construct_array(d, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
}

/* The ids of an int4[] datum (NULL: none). */
static int32
ArrayIds(Datum d, bool isnull, int32 **out)
{
	ArrayType  *arr;
	int32		n;

	if (isnull)
	{
		*out = NULL;
		return 0;
	}
	arr = DatumGetArrayTypeP(d);
	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the territories column must be a one-dimensional int4[] without NULLs")));
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	*out = (int32 *) ARR_DATA_PTR(arr);
	return n;
}

/* The territories a row holds now: the int4[] column, or a deal's territory_id. */
static int32
TerritoryIds(TupleTableSlot *slot, const ManagedTable *t, int32 **out)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, t->territory_attno, &isnull);

	if (t->kind != 'd')
		return ArrayIds(d, isnull, out);
	*out = palloc(sizeof(int32));
	(*out)[0] = isnull ? 0 : DatumGetInt32(d);
	return isnull ? 0 : 1;
}

static bool
SameIds(const int32 *a, int32 na, const int32 *b, int32 nb)
{
	return na == nb && (na == 0 || memcmp(a, b, sizeof(int32) * na) == 0);
}

static void
CheckRowTrigger(FunctionCallInfo fcinfo, const char *name, bool before)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		(before != TRIGGER_FIRED_BEFORE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be called as a %s row trigger", name, before ? "BEFORE" : "AFTER")));
}

/*
 * A territory removed and one added that are the same territory of two models (the same code:
 * a model activated gives a record the new model's ids of the territories it keeps): both get
 * CAUSE_MODEL, in old_causes and in the causes returned (new_causes, or a copy), so that the
 * history tells them from the territories the new model's rules move the record between.  Both
 * lists are sorted.
 */
static const int32 *
SameTerritories(const int32 *old, int32 *old_causes, int32 nold, const int32 *new, const int32 *new_causes,
				int32 nnew)
{
	const Hierarchy *h = HierarchyCurrent();
	int32	   *causes = NULL;
	int32		i,
				j;

	for (i = 0; i < nold; i++)
	{
		HierarchyNode from;
		const char *code;

		if (bsearch(&old[i], new, nnew, sizeof(int32), CompareInt32) != NULL || !HierarchyFind(h, old[i], &from))
			continue;
		code = NULL;
		for (j = 0; j < nnew; j++)
		{
			HierarchyNode to;

			if (bsearch(&new[j], old, nold, sizeof(int32), CompareInt32) != NULL ||
				!HierarchyFind(h, new[j], &to) || to.model == from.model)
				continue;
			if (code == NULL)
				code = HierarchyCode(h, old[i]);
			if (strcmp(code, HierarchyCode(h, new[j])) != 0)
				continue;
			if (causes == NULL)
			{
				causes = palloc(sizeof(int32) * nnew);
				memcpy(causes, new_causes, sizeof(int32) * nnew);
			}
			old_causes[i] = CAUSE_MODEL;
			causes[j] = CAUSE_MODEL;
			break;
		}
	}
	return causes != NULL ? causes : new_causes;
}

/*
 * Note in the history what the row's change does to its territories: from the old row's (none
 * for an INSERT) to ids.  A changed key ends the old record and starts the new one.
 */
static void
NoteChange(TriggerData *td, const ManagedTable *t, ManualSet *ms, const char *key, const int32 *ids,
		   const int32 *causes, int32 n)
{
	Oid			relid = RelationGetRelid(td->tg_relation);
	bool		update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	int32	   *old = NULL;
	int32		nold = 0;
	int32	   *old_causes;
	int32		i;

	if (update)
	{
		char	   *oldkey = KeyText(td->tg_trigslot, t);

		nold = TerritoryIds(td->tg_trigslot, t, &old);
		if ((oldkey == NULL) != (key == NULL) || (key != NULL && strcmp(oldkey, key) != 0))
		{
			HistoryNote(relid, td->tg_trigslot, oldkey, old, SameCauses(nold, CAUSE_DELETED), nold,
						NULL, NULL, 0, false);
			nold = 0;
		}
	}
	/* why a territory goes: an exclusion, it came from the account, or no rule gives it any more */
	old_causes = palloc(sizeof(int32) * Max(nold, 1));
	if (nold > 0)
	{
		ManualBucket *b = ManualOf(ms, key);
		bool		inherited = t->kind == 'c' ||
			(t->kind == 'd' && !slot_attisnull(td->tg_trigslot, t->account_attno));

		for (i = 0; i < nold; i++)
			old_causes[i] = ManualHas(b, key, old[i], true) ? CAUSE_MANUAL
				: inherited ? CAUSE_INHERITED : CAUSE_RULE;
		causes = SameTerritories(old, old_causes, nold, ids, causes, n);
	}
	HistoryNote(relid, td->tg_trigslot, key, old, old_causes, nold, ids, causes, n, !update);
}

typedef struct TriggerCaches
{
	uint64		epoch;
	Oid			relid;
	ManualSet  *ms;
	Matcher    *m;
} TriggerCaches;

PG_FUNCTION_INFO_V1(territory_assign_trigger);
Datum
territory_assign_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	bool		update;
	TupleTableSlot *newslot;
	HeapTuple	newtuple;
	ManualSet  *ms;
	Matcher    *m;
	const ManagedTable *t;
	int32	   *ids;
	int32	   *causes;
	char	   *key;
	int32		n;
	int32	   *current;
	int32		ncurrent;
	bool		isnull;
	Datum		value;
	char	   *owner;

	CheckRowTrigger(fcinfo, "territory.assign_trigger()", true);
	rel = td->tg_relation;
	update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
	if (!update && !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("territory.assign_trigger() fires on INSERT and UPDATE only")));
	newslot = update ? td->tg_newslot : td->tg_trigslot;
	newtuple = update ? td->tg_newtuple : td->tg_trigtuple;

	/*
	 * The table's manual set and matcher, looked up once per statement: the pointers stay good
	 * until an invalidation is processed (which bumps the epoch).  Manual set first: loading it
	 * may process invalidations that rebuild the matcher.
	 */
	{
		TriggerCaches *tc = (TriggerCaches *) fcinfo->flinfo->fn_extra;

		if (tc == NULL)
			tc = fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
																	sizeof(TriggerCaches));
		if (tc->epoch != territory_cache_epoch || tc->relid != RelationGetRelid(rel))
		{
			uint64		before = territory_cache_epoch;

			tc->ms = GetManualSet(RelationGetRelid(rel));
			tc->m = GetMatcher(RelationGetRelid(rel));
			tc->relid = RelationGetRelid(rel);
			tc->epoch = before;
		}
		ms = tc->ms;
		m = tc->m;
	}
	t = MatcherTable(m);

	if (update && !force_assign)
	{
		bool		oldnull;
		Datum		oldval;

		/* nothing the assignment depends on changed: keep the row as it is */
		Form_pg_attribute tattr = TupleDescAttr(RelationGetDescr(rel), t->territory_attno - 1);

		/* the territories column: int4[] (a varlena), or int4 for deals */
		oldval = slot_getattr(td->tg_trigslot, t->territory_attno, &oldnull);
		value = slot_getattr(newslot, t->territory_attno, &isnull);
		if (!MatcherReadsChanged(m, td->tg_trigslot, newslot) && oldnull == isnull &&
			(isnull || datumIsEqual(oldval, value, tattr->attbyval, tattr->attlen)))
		{
			Datum		oldkey = slot_getattr(td->tg_trigslot, t->key_attno, &oldnull);
			Datum		newkey = slot_getattr(newslot, t->key_attno, &isnull);
			Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), t->key_attno - 1);

			if (ms->buckets == NULL || (oldnull == isnull &&
										(isnull || datum_image_eq(oldkey, newkey, attr->attbyval,
																  attr->attlen))))
				return PointerGetDatum(newtuple);
		}
	}

	key = KeyText(newslot, t);	/* once: the history and manual assignments name it */
	n = RecordTerritories(m, ms, newslot, key, &ids, &causes);
	value = slot_getattr(newslot, t->territory_attno, &isnull);
	ncurrent = TerritoryIds(newslot, t, &current);
	NoteChange(td, t, ms, key, ids, causes, n);

	/* a new account, lead or deal without an owner, in a territory that assigns owners */
	owner = NULL;
	if (!update && t->kind != 'c' && t->owner_attno != InvalidAttrNumber && n > 0)
	{
		bool		owner_null;

		(void) slot_getattr(newslot, t->owner_attno, &owner_null);
		if (owner_null)
			owner = OwnerChoose(rel, t, ids, n, key);
	}
	if (owner == NULL && (!isnull || t->kind == 'd') && SameIds(current, ncurrent, ids, n))
		return PointerGetDatum(newtuple);
	{
		/* from the slot's values: the matcher has deformed most of them already */
		TupleDesc	desc = RelationGetDescr(rel);
		Datum	   *values = palloc(sizeof(Datum) * desc->natts);
		bool	   *nulls = palloc(sizeof(bool) * desc->natts);
		int			col = t->territory_attno;

		slot_getallattrs(newslot);
		memcpy(values, newslot->tts_values, sizeof(Datum) * desc->natts);
		memcpy(nulls, newslot->tts_isnull, sizeof(bool) * desc->natts);
		if (t->kind == 'd')
		{
			nulls[col - 1] = (n == 0);
			values[col - 1] = n == 0 ? (Datum) 0 : Int32GetDatum(ids[0]);
		}
		else
		{
			nulls[col - 1] = false;
			values[col - 1] = PointerGetDatum(IdArray(ids, n));
		}
		if (owner != NULL)
		{
			values[t->owner_attno - 1] = InputFunctionCall((FmgrInfo *) &t->owner_in, owner,
														   t->owner_ioparam, t->owner_typmod);
			nulls[t->owner_attno - 1] = false;
		}
		return PointerGetDatum(heap_form_tuple(desc, values, nulls));
	}
}

/*
 * territory.history_trigger(): AFTER DELETE row trigger whose WHEN clause lets through records
 * that had territories: their end goes to the history.
 */
PG_FUNCTION_INFO_V1(territory_history_trigger);
Datum
territory_history_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const ManagedTable *t;
	int32	   *ids;
	int32		n;

	CheckRowTrigger(fcinfo, "territory.history_trigger()", false);
	if (!TRIGGER_FIRED_BY_DELETE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("territory.history_trigger() fires on DELETE only")));
	t = MatcherTable(GetMatcher(RelationGetRelid(td->tg_relation)));
	n = TerritoryIds(td->tg_trigslot, t, &ids);
	HistoryNote(RelationGetRelid(td->tg_relation), td->tg_trigslot, KeyText(td->tg_trigslot, t), ids,
				SameCauses(n, CAUSE_DELETED), n, NULL, NULL, 0, false);
	return PointerGetDatum(NULL);
}

/*
 * territory.cascade_trigger(): AFTER INSERT, UPDATE or DELETE row trigger of an account table:
 * when an account with territories is inserted (contacts and deals may name it already), when
 * its territories or key change, or when it is deleted, its contacts and deals are assigned
 * again, in the same transaction.
 */
PG_FUNCTION_INFO_V1(territory_cascade_trigger);
Datum
territory_cascade_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Matcher    *m;
	const ManagedTable *t;
	TupleTableSlot *slots[2] = {NULL, NULL};
	int			s,
				i;
	bool		saved_force = force_assign;

	CheckRowTrigger(fcinfo, "territory.cascade_trigger()", false);
	m = GetMatcher(RelationGetRelid(td->tg_relation));
	t = MatcherTable(m);
	slots[0] = td->tg_trigslot;	/* the old row (the new one of an INSERT): records that name it */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		slots[1] = td->tg_newslot;	/* the new key, when it changed */

	force_assign = true;
	PG_TRY();
	{
		for (s = 0; s < 2 && slots[s] != NULL; s++)
		{
			bool		isnull;
			Datum		key = slot_getattr(slots[s], t->key_attno, &isnull);

			if (isnull || (s == 1 && datumIsEqual(key, slot_getattr(slots[0], t->key_attno, &isnull),
												  TupleDescAttr(slots[0]->tts_tupleDescriptor,
																t->key_attno - 1)->attbyval,
												  TupleDescAttr(slots[0]->tts_tupleDescriptor,
																t->key_attno - 1)->attlen)))
				continue;
			for (i = 0; i < t->ndependents; i++)
			{
				Oid			save_user;
				int			save_context;

				/*
				 * As the owner of the contact or deal table, exempt from its forced policies, the
				 * way foreign key actions run: the user was allowed to change the account, and the
				 * records that follow it must follow it all, whether or not the user may edit them
				 * (the update rewrites only their territories, which the user cannot choose).
				 */
				GetUserIdAndSecContext(&save_user, &save_context);
				SetUserIdAndSecContext(TerritoryRelationOwner(t->dependent_relids[i]),
									   save_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
				SPI_connect();
				if (SPI_execute_plan((SPIPlanPtr) t->dependent_plans[i], &key, NULL, false, 0) < 0)
					elog(ERROR, "could not reassign the contacts and deals of an account");
				SPI_finish();
				SetUserIdAndSecContext(save_user, save_context);
			}
		}
	}
	PG_FINALLY();
	{
		force_assign = saved_force;
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}

void
AssignInit(void)
{
	DefineCustomBoolVariable("territory.force_assign",
							 "Recompute the territories of every record an UPDATE touches.",
							 "Set by territory.run_rules() and territory.manage_table(); "
							 "not meant to be set by hand.",
							 &force_assign, false, PGC_USERSET,
							 GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- SQL access to the matcher */

/* Per call site: a slot of the table's row type to evaluate records in. */
typedef struct RecordCallState
{
	Oid			relid;
	TupleTableSlot *slot;
} RecordCallState;

/*
 * A slot holding the row datum of a record of *relid, checked to be of the table's row type or,
 * where Citus runs the call on a shard of the table, of the shard's: *relid is then the shard,
 * whose matcher evaluates the row.
 */
static TupleTableSlot *
RecordSlot(FunctionCallInfo fcinfo, Oid *relidp, HeapTupleHeader rec, HeapTupleData *tuple)
{
	RecordCallState *cs = (RecordCallState *) fcinfo->flinfo->fn_extra;
	Oid			relid = *relidp;
	Oid			rowrel = get_typ_typrelid(HeapTupleHeaderGetTypeId(rec));

	if (rowrel != relid && OidIsValid(rowrel) && ConfigLogicalRelid(rowrel) == relid)
		*relidp = relid = rowrel;
	if (cs == NULL || cs->relid != relid)
	{
		Relation	rel = table_open(relid, AccessShareLock);
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		cs = palloc0(sizeof(RecordCallState));
		cs->relid = relid;
		cs->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)),
											&TTSOpsHeapTuple);
		MemoryContextSwitchTo(old);
		table_close(rel, NoLock);
		fcinfo->flinfo->fn_extra = cs;
	}
	if (HeapTupleHeaderGetTypeId(rec) != get_rel_type_id(relid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the record is not a row of %s", get_rel_name(relid))));
	tuple->t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = relid;
	tuple->t_data = rec;
	ExecStoreHeapTuple(tuple, cs->slot, false);
	return cs->slot;
}

/* The territories a model's rules and manual assignments give the row in argument 1 of table arg 0. */
static Datum
ComputeTerritories(FunctionCallInfo fcinfo, int32 model)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(1);
	HeapTupleData tuple;
	TupleTableSlot *slot = RecordSlot(fcinfo, &relid, rec, &tuple);
	ManualSet  *ms = GetManualSetFor(relid, model);
	Matcher    *m = GetMatcherFor(relid, model);
	int32	   *ids;
	int32		n = RecordTerritories(m, ms, slot, NULL, &ids, NULL);

	PG_RETURN_ARRAYTYPE_P(IdArray(ids, n));
}

/*
 * territory.compute_territories(tbl regclass, rec record) RETURNS int4[]: the territories the
 * rules and manual assignments give a row of tbl now, without writing anything.
 */
PG_FUNCTION_INFO_V1(territory_compute_territories);
Datum
territory_compute_territories(PG_FUNCTION_ARGS)
{
	return ComputeTerritories(fcinfo, HierarchyActiveModel(HierarchyCurrent()));
}

/*
 * territory._compute_territories_in(tbl regclass, rec record, model int4) RETURNS int4[]: the same
 * for the rules and manual assignments of another model (territory.preview_model()).
 */
PG_FUNCTION_INFO_V1(territory_compute_territories_in);
Datum
territory_compute_territories_in(PG_FUNCTION_ARGS)
{
	return ComputeTerritories(fcinfo, PG_GETARG_INT32(2));
}

/*
 * territory._rule_results(tbl regclass, rec record) RETURNS TABLE(rule_id int4, holds bool):
 * every active rule of the table's matcher evaluated for one row, for territory.explain().
 */
PG_FUNCTION_INFO_V1(territory_rule_results);
Datum
territory_rule_results(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HeapTupleData tuple;
	TupleTableSlot *slot;
	Matcher    *m;
	int32		i,
				n;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	slot = RecordSlot(fcinfo, &relid, rec, &tuple);
	m = GetMatcher(relid);
	n = MatcherRuleCount(m);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int32GetDatum(MatcherRule(m, i)->id);
		values[1] = BoolGetDatum(MatcherEvaluate(m, slot, i));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
