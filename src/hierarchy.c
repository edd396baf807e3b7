/*
 * hierarchy.c
 *		The territory hierarchy: a per-backend cache of every model's forest and the functions
 *		that read it.
 *
 * The cache holds all territories in pre-order (siblings ordered by name, then id; roots by
 * model, name, id) in parallel arrays indexed by pre-order position.  The subtree of the node at
 * position p is the contiguous range [p, last[p]], so:
 *
 *		is_ancestor(a, b)	pos(a) < pos(b) && pos(b) <= last[pos(a)]		O(1)
 *		descendants(t)		ids[pos(t) + 1 .. last[pos(t)]]					one copy
 *		depth(t)			depth[pos(t)]									O(1)
 *
 * and id -> position is a dense array over [min id, max id] (a binary search over sorted ids when
 * ids are too sparse for that).  All territories of a model are contiguous too.
 *
 * The cache is built from one MVCC snapshot of territory.models, territory.territory_types and
 * territory.territories by plain heap scans: O(n) apart from sorting each sibling group.  It is
 * marked stale by the relcache callback when the hierarchy signal relation is invalidated (see
 * territory.c) and rebuilt lazily by the next caller.  The snapshot is the latest one, including
 * the current transaction's own changes, so the functions behave like the system catalogs: they
 * see the committed hierarchy and the transaction's own changes, at every isolation level.  In
 * parallel mode that snapshot is a fresh catalog snapshot (TerritoryConfigSnapshot, territory.c)
 * and the cache is thrown away at the end of the transaction.
 *
 * Callers never keep a pointer to the cache across calls: set-returning functions materialize
 * their result at once, so a rebuild between two calls cannot pull memory from under them.
 */
#include "postgres.h"

#include <limits.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "territory.h"

/* Dense id -> position maps are used while max_id - min_id stays below this many slots per node. */
#define DENSE_SLOTS_PER_NODE 8

typedef struct HierarchyModel
{
	int32		id;
	char	   *name;
	char		state;			/* 'p'lanning, 'a'ctive, 'r'chived */
	char		policy;			/* assignment policy: 'd'eepest, 'a'll, 'p'riority */
	int32		start;			/* first pre-order position of its territories */
	int32		end;			/* one past the last */
	int32		min_id;			/* smallest and largest territory id (0 and 0 when none) */
	int32		max_id;
} HierarchyModel;

typedef struct HierarchyType
{
	int32		id;
	int32		priority;
	char	   *name;
} HierarchyType;

/*
 * Where a territory id is: its pre-order position and the last position of its subtree, side by
 * side, so that is_ancestor(a, b) needs two independent memory reads.
 */
typedef struct IdSlot
{
	int32		pos;			/* -1: no such id */
	int32		last;
} IdSlot;

typedef struct IdMap
{
	int32		n;
	int32		min_id;
	int32		max_id;
	IdSlot	   *dense;			/* dense[id - min_id] when ids are compact; or NULL */
	int32	   *sorted_ids;		/* otherwise: ids ascending ... */
	IdSlot	   *sorted;			/* ... and their slots */
} IdMap;

typedef struct Hierarchy
{
	MemoryContext cxt;

	/* territories, by pre-order position */
	int32		n;
	int32	   *ids;
	int32	   *parent;			/* position of the parent, -1 for a root */
	int32	   *last;			/* last position of the subtree */
	int32	   *depth;
	int32	   *model;			/* model id */
	int32	   *type;			/* type id, 0 for none */
	char	   *owner_mode;		/* owner assignment: 'n'one, 'r'ound robin, 'l'oad balanced */
	uint32	   *name;			/* offsets into strings */
	uint32	   *code;
	char	   *strings;

	IdMap		map;			/* id -> position and subtree end */

	int32		nmodels;
	HierarchyModel *models;		/* ascending id */
	int32		active_model;	/* 0 when no model is active */

	int32		ntypes;
	HierarchyType *types;		/* ascending id */
} Hierarchy;

static void AppendPath(StringInfo buf, const Hierarchy *h, int32 p);

static Hierarchy *hierarchy = NULL;
static bool hierarchy_valid = false;
static Oid	hierarchy_signal = InvalidOid;
/* set when built in parallel mode: valid only in that transaction */
static bool hierarchy_transient = false;
static LocalTransactionId hierarchy_lxid = InvalidLocalTransactionId;
/* pinned by a caller that keeps pointers into the cache while running queries (HierarchyPin) */
static int	hierarchy_pins = 0;
static LocalTransactionId hierarchy_pin_lxid = InvalidLocalTransactionId;

/* per call site: invalidations are accepted once per statement */
typedef struct HierarchyCallState
{
	bool		accepted;
} HierarchyCallState;

bool
HierarchyIsSignal(Oid relid)
{
	return OidIsValid(hierarchy_signal) && relid == hierarchy_signal;
}

void
HierarchyRelcacheCallback(Oid relid)
{
	if (relid == InvalidOid || (OidIsValid(hierarchy_signal) && relid == hierarchy_signal))
		hierarchy_valid = false;
}

/* ---------------------------------------------------------------- building */

/* One territory row as read by the scan, before ordering. */
typedef struct RawTerritory
{
	int32		id;
	int32		parent_id;		/* 0 for a root */
	int32		model;
	int32		type;
	uint32		name;
	uint32		code;
	char		owner_mode;		/* owner assignment: 'n'one, 'r'ound robin, 'l'oad balanced */
	int32		parent;			/* raw index of the parent, -1 for a root */
} RawTerritory;

typedef struct BuildState
{
	RawTerritory *raw;
	int32		nraw;
	int32		maxraw;
	StringInfoData strings;
	HierarchyModel *models;
	int32		nmodels;
	int32		maxmodels;
	HierarchyType *types;
	int32		ntypes;
	int32		maxtypes;
} BuildState;

/* One decoded row: values and nulls indexed by the scan's column list. */

static int32
GetInt4(Datum *values, bool *nulls, int col, int32 if_null)
{
	return nulls[col] ? if_null : DatumGetInt32(values[col]);
}

static char *
GetText(Datum *values, bool *nulls, int col)
{
	return nulls[col] ? NULL : TextDatumGetCString(values[col]);
}

/* Append a text value and its terminator to the string arena; returns its offset. */
static uint32
AddText(BuildState *state, Datum *values, bool *nulls, int col)
{
	uint32		off = state->strings.len;

	if (!nulls[col])
	{
		text	   *t = (text *) PG_DETOAST_DATUM_PACKED(values[col]);

		appendBinaryStringInfoNT(&state->strings, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		if ((Pointer) t != DatumGetPointer(values[col]))
			pfree(t);
	}
	appendStringInfoChar(&state->strings, '\0');
	return off;
}

/*
 * Make room for one more element in a growing array; returns the new element's index.  The
 * array may move: take the element's address only after the call.
 */
static int32
Grow(void **array, int32 *n, int32 *max, Size elem)
{
	if (*n == *max)
	{
		if ((Size) *max * 2 * elem > MaxAllocSize)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many rows for the territory hierarchy cache")));
		*max *= 2;
		*array = repalloc(*array, elem * *max);
	}
	return (*n)++;
}

static void
ModelRow(void *arg, Datum *values, bool *nulls)
{
	BuildState *state = arg;

	HierarchyModel *m;
	char	   *st;
	int32		i = Grow((void **) &state->models, &state->nmodels, &state->maxmodels,
						 sizeof(HierarchyModel));

	m = &state->models[i];
	m->id = GetInt4(values, nulls, 0, 0);
	m->name = GetText(values, nulls, 1);
	st = GetText(values, nulls, 2);
	m->state = (st == NULL) ? '?' : (strcmp(st, "archived") == 0 ? 'r' : st[0]);
	st = GetText(values, nulls, 3);
	m->policy = (st == NULL) ? 'd' : st[0];
	m->start = m->end = 0;
	m->min_id = m->max_id = 0;
}

static void
TypeRow(void *arg, Datum *values, bool *nulls)
{
	BuildState *state = arg;

	HierarchyType *t;
	int32		i = Grow((void **) &state->types, &state->ntypes, &state->maxtypes,
						 sizeof(HierarchyType));

	t = &state->types[i];
	t->id = GetInt4(values, nulls, 0, 0);
	t->name = GetText(values, nulls, 1);
	t->priority = GetInt4(values, nulls, 2, 0);
}

static char
OwnerModeOf(const char *mode)
{
	if (strcmp(mode, "round_robin") == 0)
		return 'r';
	if (strcmp(mode, "load_balanced") == 0)
		return 'l';
	return 'n';
}

static void
TerritoryRow(void *arg, Datum *values, bool *nulls)
{
	BuildState *state = arg;

	/* grow first: the array may move */
	int32		i = Grow((void **) &state->raw, &state->nraw, &state->maxraw, sizeof(RawTerritory));
	RawTerritory *r = &state->raw[i];

	r->id = GetInt4(values, nulls, 0, 0);
	r->model = GetInt4(values, nulls, 1, 0);
	r->parent_id = GetInt4(values, nulls, 2, 0);
	r->name = AddText(state, values, nulls, 3);
	r->code = AddText(state, values, nulls, 4);
	r->type = GetInt4(values, nulls, 5, 0);
	r->owner_mode = nulls[6] ? 'n' : OwnerModeOf(TextDatumGetCString(values[6]));
	r->parent = -1;
}

/* qsort over raw indices of one sibling group: by name (bytewise), then id */
static const RawTerritory *sort_raw;
static const char *sort_strings;

static int
CompareSiblings(const void *a, const void *b)
{
	const RawTerritory *x = &sort_raw[*(const int32 *) a];
	const RawTerritory *y = &sort_raw[*(const int32 *) b];
	int			c;

	if (x->model != y->model)
		return x->model < y->model ? -1 : 1;
	c = strcmp(sort_strings + x->name, sort_strings + y->name);
	if (c != 0)
		return c;
	return (x->id > y->id) - (x->id < y->id);
}

static int
CompareInt32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

static int
CompareInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static int
CompareModels(const void *a, const void *b)
{
	return CompareInt32(&((const HierarchyModel *) a)->id, &((const HierarchyModel *) b)->id);
}

static int
CompareTypes(const void *a, const void *b)
{
	return CompareInt32(&((const HierarchyType *) a)->id, &((const HierarchyType *) b)->id);
}

/*
 * Map ids to their index in ids[] (and, when last is given, the last index of their subtree):
 * a dense array when ids are compact enough, else a sorted array for binary search.
 */
static void
BuildIdMap(IdMap *map, const int32 *ids, const int32 *last, int32 n)
{
	int64		range;
	int32		i;

	map->n = n;
	map->min_id = INT_MAX;
	map->max_id = INT_MIN;
	for (i = 0; i < n; i++)
	{
		map->min_id = Min(map->min_id, ids[i]);
		map->max_id = Max(map->max_id, ids[i]);
	}
	map->dense = NULL;
	map->sorted_ids = NULL;
	map->sorted = NULL;
	if (n == 0)
		return;
	range = (int64) map->max_id - map->min_id + 1;
	if (range <= (int64) n * DENSE_SLOTS_PER_NODE + 1024)
	{
		map->dense = palloc(sizeof(IdSlot) * range);
		memset(map->dense, 0xff, sizeof(IdSlot) * range);	/* pos -1 */
		for (i = 0; i < n; i++)
		{
			map->dense[ids[i] - map->min_id].pos = i;
			map->dense[ids[i] - map->min_id].last = last ? last[i] : -1;
		}
	}
	else
	{
		int64	   *pairs = palloc(sizeof(int64) * n);

		/* sort (id, index) pairs packed in one int64: id in the high half keeps the order */
		for (i = 0; i < n; i++)
			pairs[i] = ((int64) ids[i] << 32) | (uint32) i;
		qsort(pairs, n, sizeof(int64), CompareInt64);
		map->sorted_ids = palloc(sizeof(int32) * n);
		map->sorted = palloc(sizeof(IdSlot) * n);
		for (i = 0; i < n; i++)
		{
			int32		index = (int32) (pairs[i] & 0xffffffff);

			map->sorted_ids[i] = (int32) (pairs[i] >> 32);
			map->sorted[i].pos = index;
			map->sorted[i].last = last ? last[index] : -1;
		}
		pfree(pairs);
	}
}

/* The slot of an id, NULL when there is no such id. */
static inline const IdSlot *
LookupId(const IdMap *map, int32 id)
{
	if (id < map->min_id || id > map->max_id)
		return NULL;
	if (map->dense)
	{
		const IdSlot *slot = &map->dense[id - map->min_id];

		return slot->pos >= 0 ? slot : NULL;
	}
	else
	{
		int32		lo = 0,
					hi = map->n - 1;

		while (lo <= hi)
		{
			int32		mid = lo + (hi - lo) / 2;

			if (map->sorted_ids[mid] == id)
				return &map->sorted[mid];
			if (map->sorted_ids[mid] < id)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
		return NULL;
	}
}

static Hierarchy *
BuildHierarchy(Snapshot snapshot)
{
	static const char *model_cols[] = {"id", "name", "state", "assignment_policy"};
	static const char *type_cols[] = {"id", "name", "priority"};
	static const char *terr_cols[] = {"id", "model_id", "parent_id", "name", "code", "type_id",
	"owner_assignment"};
	MemoryContext cxt;
	MemoryContext scratch;
	MemoryContext old;
	BuildState	st;
	Hierarchy  *h;
	IdMap		rawmap;
	int32	   *rawids;
	int32	   *child_start;	/* by raw index + 1 (slot 0: roots), into order[] */
	int32	   *order;			/* raw indices grouped by parent, each group sorted */
	int32	   *fill;
	int32	   *stack;
	int32	   *pos_of_raw;
	int32		n,
				i,
				sp,
				next;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "territory hierarchy",
								ALLOCSET_DEFAULT_SIZES);
	scratch = AllocSetContextCreate(CurrentMemoryContext, "territory hierarchy build",
									ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(scratch);

	memset(&st, 0, sizeof(st));
	st.maxraw = 1024;
	st.raw = palloc(sizeof(RawTerritory) * st.maxraw);

	/* the string arena, models and types live in the cache's own context */
	MemoryContextSwitchTo(cxt);
	initStringInfo(&st.strings);
	st.maxmodels = 8;
	st.models = palloc(sizeof(HierarchyModel) * st.maxmodels);
	st.maxtypes = 8;
	st.types = palloc(sizeof(HierarchyType) * st.maxtypes);
	ConfigScan("models", model_cols, 4, snapshot, ModelRow, &st, cxt);
	ConfigScan("territory_types", type_cols, 3, snapshot, TypeRow, &st, cxt);
	MemoryContextSwitchTo(scratch);
	ConfigScan("territories", terr_cols, 7, snapshot, TerritoryRow, &st, scratch);

	n = st.nraw;

	/* parent links by raw index */
	rawids = palloc(sizeof(int32) * Max(n, 1));
	for (i = 0; i < n; i++)
		rawids[i] = st.raw[i].id;
	BuildIdMap(&rawmap, rawids, NULL, n);
	for (i = 0; i < n; i++)
	{
		if (st.raw[i].parent_id != 0)
		{
			const IdSlot *slot = LookupId(&rawmap, st.raw[i].parent_id);

			if (slot == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("territory %d has a parent %d that does not exist",
								st.raw[i].id, st.raw[i].parent_id)));
			st.raw[i].parent = slot->pos;
		}
	}

	/* group by parent (counting sort; slot 0 holds the roots), then order each group */
	child_start = palloc0(sizeof(int32) * (n + 2));
	for (i = 0; i < n; i++)
		child_start[st.raw[i].parent + 2]++;
	for (i = 1; i < n + 2; i++)
		child_start[i] += child_start[i - 1];
	order = palloc(sizeof(int32) * Max(n, 1));
	fill = palloc(sizeof(int32) * (n + 1));
	memcpy(fill, child_start, sizeof(int32) * (n + 1));
	for (i = 0; i < n; i++)
		order[fill[st.raw[i].parent + 1]++] = i;
	sort_raw = st.raw;
	sort_strings = st.strings.data;
	for (i = 0; i < n + 1; i++)
	{
		int32		len = child_start[i + 1] - child_start[i];

		if (len > 1)
			qsort(order + child_start[i], len, sizeof(int32), CompareSiblings);
	}

	/* pre-order walk */
	MemoryContextSwitchTo(cxt);
	h = palloc0(sizeof(Hierarchy));
	h->cxt = cxt;
	h->n = n;
	h->ids = palloc(sizeof(int32) * Max(n, 1));
	h->parent = palloc(sizeof(int32) * Max(n, 1));
	h->last = palloc(sizeof(int32) * Max(n, 1));
	h->depth = palloc(sizeof(int32) * Max(n, 1));
	h->model = palloc(sizeof(int32) * Max(n, 1));
	h->type = palloc(sizeof(int32) * Max(n, 1));
	h->owner_mode = palloc(sizeof(char) * Max(n, 1));
	h->name = palloc(sizeof(uint32) * Max(n, 1));
	h->code = palloc(sizeof(uint32) * Max(n, 1));
	h->strings = st.strings.data;
	MemoryContextSwitchTo(scratch);

	pos_of_raw = palloc(sizeof(int32) * Max(n, 1));
	stack = palloc(sizeof(int32) * Max(n, 1));
	sp = 0;
	for (i = child_start[1] - 1; i >= child_start[0]; i--)
		stack[sp++] = order[i];
	next = 0;
	while (sp > 0)
	{
		int32		r = stack[--sp];
		RawTerritory *t = &st.raw[r];
		int32		p = next++;
		int32		c;

		pos_of_raw[r] = p;
		h->ids[p] = t->id;
		h->parent[p] = t->parent < 0 ? -1 : pos_of_raw[t->parent];
		h->depth[p] = t->parent < 0 ? 0 : h->depth[h->parent[p]] + 1;
		h->last[p] = p;
		h->model[p] = t->model;
		h->type[p] = t->type;
		h->owner_mode[p] = t->owner_mode;
		h->name[p] = t->name;
		h->code[p] = t->code;
		for (c = child_start[r + 2] - 1; c >= child_start[r + 1]; c--)
			stack[sp++] = order[c];
		CHECK_FOR_INTERRUPTS();
	}
	if (next != n)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the territory hierarchy contains a cycle"),
				 errdetail("%d territories cannot be reached from a root.", n - next)));
	for (i = n - 1; i > 0; i--)
		if (h->parent[i] >= 0 && h->last[i] > h->last[h->parent[i]])
			h->last[h->parent[i]] = h->last[i];

	/* final id map over positions, models and their ranges, types */
	MemoryContextSwitchTo(cxt);
	BuildIdMap(&h->map, h->ids, h->last, n);
	h->nmodels = st.nmodels;
	h->models = st.models;
	qsort(h->models, h->nmodels, sizeof(HierarchyModel), CompareModels);
	h->active_model = 0;
	for (i = 0; i < h->nmodels; i++)
		if (h->models[i].state == 'a')
			h->active_model = h->models[i].id;
	for (i = 0; i < n;)
	{
		int32		m = h->model[i];
		int32		j = i;
		HierarchyModel key;
		HierarchyModel *hm;

		while (j < n && h->model[j] == m)
			j++;
		key.id = m;
		hm = bsearch(&key, h->models, h->nmodels, sizeof(HierarchyModel), CompareModels);
		if (hm != NULL)
		{
			int32		k;

			hm->start = i;
			hm->end = j;
			hm->min_id = hm->max_id = h->ids[i];
			for (k = i + 1; k < j; k++)
			{
				hm->min_id = Min(hm->min_id, h->ids[k]);
				hm->max_id = Max(hm->max_id, h->ids[k]);
			}
		}
		i = j;
	}
	h->ntypes = st.ntypes;
	h->types = st.types;
	qsort(h->types, h->ntypes, sizeof(HierarchyType), CompareTypes);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(scratch);
	return h;
}

/*
 * GetHierarchy
 *		The current hierarchy cache, rebuilt first when stale.  Accepts pending invalidations once
 *		per statement and call site, so that a READ COMMITTED statement sees changes committed
 *		before it started even inside a long transaction.
 */
static Hierarchy *
GetHierarchy(FunctionCallInfo fcinfo)
{
	Snapshot	snapshot;
	bool		parallel;
	Hierarchy  *h;

	if (fcinfo != NULL)
	{
		HierarchyCallState *cs = (HierarchyCallState *) fcinfo->flinfo->fn_extra;

		if (cs == NULL)
		{
			cs = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(HierarchyCallState));
			fcinfo->flinfo->fn_extra = cs;
		}
		if (!cs->accepted)
		{
			AcceptInvalidationMessages();
			cs->accepted = true;
		}
	}

	if (likely(hierarchy_valid && hierarchy != NULL) &&
		(!hierarchy_transient || hierarchy_lxid == TerritoryLocalXid()))
		return hierarchy;

	/* the signal relation's OID may change when the extension is re-created */
	hierarchy_signal = TerritoryRelid(HIERARCHY_SIGNAL);
	parallel = IsInParallelMode();
	snapshot = RegisterSnapshot(TerritoryConfigSnapshot());
	hierarchy_valid = true;		/* an invalidation arriving during the build clears it */
	PG_TRY();
	{
		h = BuildHierarchy(snapshot);
	}
	PG_CATCH();
	{
		hierarchy_valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	UnregisterSnapshot(snapshot);

	MemoryContextSetParent(h->cxt, CacheMemoryContext);
	if (hierarchy != NULL)
	{
		/* a pinned cache stays until the end of the transaction */
		if (hierarchy_pins > 0 && hierarchy_pin_lxid == TerritoryLocalXid())
			MemoryContextSetParent(hierarchy->cxt, TopTransactionContext);
		else
			MemoryContextDelete(hierarchy->cxt);
	}
	hierarchy = h;
	hierarchy_transient = parallel;
	hierarchy_lxid = TerritoryLocalXid();
	return h;
}

/* ---------------------------------------------------------------- lookups */

static const IdSlot *
TerritorySlot(const Hierarchy *h, int32 id)
{
	const IdSlot *slot = LookupId(&h->map, id);

	if (unlikely(slot == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("territory %d does not exist", id)));
	return slot;
}

static int32
TerritoryPos(const Hierarchy *h, int32 id)
{
	return TerritorySlot(h, id)->pos;
}

static const HierarchyModel *
FindModel(const Hierarchy *h, int32 id)
{
	HierarchyModel key;

	key.id = id;
	return bsearch(&key, h->models, h->nmodels, sizeof(HierarchyModel), CompareModels);
}

/* The model named by an optional argument: NULL means the active one. */
static const HierarchyModel *
ModelArg(FunctionCallInfo fcinfo, const Hierarchy *h, int argno)
{
	const HierarchyModel *m;

	if (PG_ARGISNULL(argno))
	{
		if (h->active_model == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no territory model is active"),
					 errhint("Name a model.")));
		return FindModel(h, h->active_model);
	}
	m = FindModel(h, PG_GETARG_INT32(argno));
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("territory model %d does not exist", PG_GETARG_INT32(argno))));
	return m;
}

static const HierarchyType *
FindType(const Hierarchy *h, int32 type_id)
{
	HierarchyType key;

	if (type_id == 0)
		return NULL;
	key.id = type_id;
	return bsearch(&key, h->types, h->ntypes, sizeof(HierarchyType), CompareTypes);
}

/* ---------------------------------------------------------------- for other components */

/*
 * HierarchyCurrent
 *		The current hierarchy (rebuilt first when stale), for components that build their own
 *		caches on it.  Valid until the next invalidation is processed: copy what must last.
 */
const Hierarchy *
HierarchyCurrent(void)
{
	return GetHierarchy(NULL);
}

int32
HierarchyActiveModel(const Hierarchy *h)
{
	return h->active_model;
}

/* A model's assignment policy: 'd'eepest, 'a'll or 'p'riority. */
char
HierarchyModelPolicy(const Hierarchy *h, int32 model)
{
	const HierarchyModel *m = FindModel(h, model);

	return m ? m->policy : 'd';
}

/* Facts about a territory; false when there is no such territory. */
bool
HierarchyFind(const Hierarchy *h, int32 id, HierarchyNode *node)
{
	const IdSlot *slot = LookupId(&h->map, id);
	const HierarchyType *type;

	if (slot == NULL)
		return false;
	node->id = id;
	node->pos = slot->pos;
	node->last = slot->last;
	node->depth = h->depth[slot->pos];
	node->model = h->model[slot->pos];
	node->parent = h->parent[slot->pos] >= 0 ? h->ids[h->parent[slot->pos]] : 0;
	type = FindType(h, h->type[slot->pos]);
	node->type_priority = type ? type->priority : INT_MAX;
	node->owner_mode = h->owner_mode[slot->pos];
	return true;
}

/* A territory's code (pointing into the cache), NULL when there is no such territory. */
const char *
HierarchyCode(const Hierarchy *h, int32 id)
{
	const IdSlot *slot = LookupId(&h->map, id);

	return slot == NULL ? NULL : h->strings + h->code[slot->pos];
}

/*
 * HierarchyBestTerritory
 *		The one territory a deal gets among candidates: the best type priority, then the deepest,
 *		then the lowest id (never none on a tie); with owning, only among the territories that
 *		assign owners.  0 when there is no candidate.
 */
int32
HierarchyBestTerritory(const Hierarchy *h, const int32 *ids, int32 n, bool owning)
{
	HierarchyNode best;
	int32		i;

	best.id = 0;
	for (i = 0; i < n; i++)
	{
		HierarchyNode node;

		if (!HierarchyFind(h, ids[i], &node) || (owning && node.owner_mode == 'n'))
			continue;
		if (best.id == 0 || node.type_priority < best.type_priority ||
			(node.type_priority == best.type_priority &&
			 (node.depth > best.depth || (node.depth == best.depth && node.id < best.id))))
			best = node;
	}
	return best.id;
}

/* The smallest and largest territory id of a model (0 and 0 when it has none). */
void
HierarchyModelIdRange(const Hierarchy *h, int32 model, int32 *min_id, int32 *max_id)
{
	const HierarchyModel *m = FindModel(h, model);

	*min_id = m ? m->min_id : 0;
	*max_id = m ? m->max_id : 0;
}

/* Ids of a model's territories in pre-order; *n gets their number. */
const int32 *
HierarchyModelTerritories(const Hierarchy *h, int32 model, int32 *n)
{
	const HierarchyModel *m = FindModel(h, model);

	*n = m ? m->end - m->start : 0;
	return m ? h->ids + m->start : NULL;
}

/*
 * HierarchyPin / HierarchyUnpin
 *		The current hierarchy, kept in memory until unpinned (or the transaction ends) even when an
 *		invalidation makes the next caller build a new one: for a caller that keeps pointers into
 *		it while it runs queries, which may process invalidations.  An error between the two needs
 *		no cleanup: pins count only in the transaction that made them.
 */
const Hierarchy *
HierarchyPin(void)
{
	const Hierarchy *h = GetHierarchy(NULL);

	if (hierarchy_pin_lxid != TerritoryLocalXid())
	{
		hierarchy_pins = 0;
		hierarchy_pin_lxid = TerritoryLocalXid();
	}
	hierarchy_pins++;
	return h;
}

void
HierarchyUnpin(void)
{
	if (hierarchy_pin_lxid == TerritoryLocalXid() && hierarchy_pins > 0)
		hierarchy_pins--;
}

/* The position of a territory in the pre-order arrays; -1 when there is no such territory. */
int32
HierarchyPosition(const Hierarchy *h, int32 id)
{
	const IdSlot *slot = LookupId(&h->map, id);

	return slot ? slot->pos : -1;
}

/* The pre-order arrays, for components that walk the tree themselves. */
void
HierarchyGetArrays(const Hierarchy *h, HierarchyArrays *a)
{
	a->n = h->n;
	a->ids = h->ids;
	a->parent = h->parent;
	a->last = h->last;
	a->depth = h->depth;
}

/* The positions start .. end - 1 of a model's territories; false when there is no such model. */
bool
HierarchyModelRange(const Hierarchy *h, int32 model, int32 *start, int32 *end)
{
	const HierarchyModel *m = FindModel(h, model);

	if (m == NULL)
		return false;
	*start = m->start;
	*end = m->end;
	return true;
}

/*
 * HierarchyPathWalkStart / HierarchyPathWalkNext
 *		Paths ("Global / EMEA / DACH") of the positions first .. last visited in pre-order, built
 *		incrementally: a stack holds the length of the path at every depth, so a territory's path
 *		is its parent's plus its name.  The walk starts with the path above first.
 */
void
HierarchyPathWalkStart(const Hierarchy *h, HierarchyPathWalk *w, int32 first, int32 last)
{
	int32		maxdepth = 0;
	int32		p;

	for (p = first; p <= last; p++)
		maxdepth = Max(maxdepth, h->depth[p]);
	w->prefix = palloc(sizeof(int32) * (maxdepth + 1));
	initStringInfo(&w->path);
	if (first <= last && h->parent[first] >= 0)
	{
		AppendPath(&w->path, h, h->parent[first]);
		w->prefix[h->depth[first] - 1] = w->path.len;
	}
}

/* The path of p, the next position of the walk, as a text datum (palloc'd). */
Datum
HierarchyPathWalkNext(const Hierarchy *h, HierarchyPathWalk *w, int32 p)
{
	int32		d = h->depth[p];

	/* the path of p is its parent's path, which is on the stack at depth d - 1 */
	w->path.len = (d == 0) ? 0 : w->prefix[d - 1];
	w->path.data[w->path.len] = '\0';
	if (d > 0)
		appendStringInfoString(&w->path, " / ");
	appendStringInfoString(&w->path, h->strings + h->name[p]);
	w->prefix[d] = w->path.len;
	return PointerGetDatum(cstring_to_text_with_len(w->path.data, w->path.len));
}

/* ---------------------------------------------------------------- SQL functions */

/* Materialize a list of int4 as the rows of a SETOF int4 function. */
static void
ReturnIds(FunctionCallInfo fcinfo, const int32 *ids, int32 n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		i;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (i = 0; i < n; i++)
	{
		Datum		value = Int32GetDatum(ids[i]);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
}

PG_FUNCTION_INFO_V1(territory_ancestors);
Datum
territory_ancestors(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	int32		p = TerritoryPos(h, PG_GETARG_INT32(0));
	int32	   *ids = palloc(sizeof(int32) * (h->depth[p] + 1));
	int32		n = 0;

	for (p = h->parent[p]; p >= 0; p = h->parent[p])
		ids[n++] = h->ids[p];
	ReturnIds(fcinfo, ids, n);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(territory_descendants);
Datum
territory_descendants(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	int32		p = TerritoryPos(h, PG_GETARG_INT32(0));

	ReturnIds(fcinfo, h->ids + p + 1, h->last[p] - p);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(territory_subtree);
Datum
territory_subtree(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	int32		p = TerritoryPos(h, PG_GETARG_INT32(0));

	ReturnIds(fcinfo, h->ids + p, h->last[p] - p + 1);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(territory_children);
Datum
territory_children(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	int32		p = TerritoryPos(h, PG_GETARG_INT32(0));
	int32	   *ids = palloc(sizeof(int32) * (h->last[p] - p + 1));
	int32		n = 0;
	int32		c;

	for (c = p + 1; c <= h->last[p]; c = h->last[c] + 1)
		ids[n++] = h->ids[c];
	ReturnIds(fcinfo, ids, n);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(territory_is_ancestor);
Datum
territory_is_ancestor(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	const IdSlot *a = TerritorySlot(h, PG_GETARG_INT32(0));
	const IdSlot *b = TerritorySlot(h, PG_GETARG_INT32(1));

	PG_RETURN_BOOL(a->pos < b->pos && b->pos <= a->last);
}

/* active_model(): the id of the active model, NULL when none is active. */
PG_FUNCTION_INFO_V1(territory_active_model);
Datum
territory_active_model(PG_FUNCTION_ARGS)
{
	int32		model = HierarchyActiveModel(GetHierarchy(fcinfo));

	if (model == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(model);
}

PG_FUNCTION_INFO_V1(territory_depth);
Datum
territory_depth(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);

	PG_RETURN_INT32(h->depth[TerritoryPos(h, PG_GETARG_INT32(0))]);
}

/* Append the path of position p ("Global / EMEA / DACH") to buf. */
static void
AppendPath(StringInfo buf, const Hierarchy *h, int32 p)
{
	int32		d = h->depth[p];
	int32	   *chain = palloc(sizeof(int32) * (d + 1));
	int32		i;

	for (i = d; i >= 0; i--, p = h->parent[p])
		chain[i] = p;
	for (i = 0; i <= d; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, " / ");
		appendStringInfoString(buf, h->strings + h->name[chain[i]]);
	}
	pfree(chain);
}

PG_FUNCTION_INFO_V1(territory_path);
Datum
territory_path(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	int32		p = TerritoryPos(h, PG_GETARG_INT32(0));
	StringInfoData buf;

	initStringInfo(&buf);
	AppendPath(&buf, h, p);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * territory.tree(model): the model's territories in pre-order with parent, depth, name, code and
 * path.
 */
PG_FUNCTION_INFO_V1(territory_tree);
Datum
territory_tree(PG_FUNCTION_ARGS)
{
	Hierarchy  *h = GetHierarchy(fcinfo);
	const HierarchyModel *m = ModelArg(fcinfo, h, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HierarchyPathWalk walk;
	int32		p;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	HierarchyPathWalkStart(h, &walk, m->start, m->end - 1);
	for (p = m->start; p < m->end; p++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = Int32GetDatum(h->ids[p]);
		if (h->parent[p] >= 0)
			values[1] = Int32GetDatum(h->ids[h->parent[p]]);
		else
			nulls[1] = true;
		values[2] = Int32GetDatum(h->depth[p]);
		values[3] = CStringGetTextDatum(h->strings + h->name[p]);
		values[4] = CStringGetTextDatum(h->strings + h->code[p]);
		values[5] = HierarchyPathWalkNext(h, &walk, p);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(DatumGetPointer(values[3]));
		pfree(DatumGetPointer(values[4]));
		pfree(DatumGetPointer(values[5]));
	}
	return (Datum) 0;
}

/* Append s as the inside of a Graphviz double-quoted string. */
static void
AppendDotString(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			appendStringInfoChar(buf, '\\');
		if (*s == '\n')
			appendStringInfoString(buf, "\\n");
		else
			appendStringInfoChar(buf, *s);
	}
}

/*
 * territory.to_dot(model): the model's hierarchy as a Graphviz digraph; each node shows name,
 * code and type, coloured by the type's priority.
 */
PG_FUNCTION_INFO_V1(territory_to_dot);
Datum
territory_to_dot(PG_FUNCTION_ARGS)
{
	static const char *palette[] = {"#dbe8f7", "#e3f1dd", "#fdf0d5", "#f6dfe4", "#ece3f5", "#e0f2f1"};
	Hierarchy  *h = GetHierarchy(fcinfo);
	const HierarchyModel *m = ModelArg(fcinfo, h, 0);
	StringInfoData buf;
	int32		p;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "digraph territories {\n");
	appendStringInfoString(&buf, "  graph [rankdir=LR, label=\"");
	AppendDotString(&buf, m->name ? m->name : "");
	appendStringInfoString(&buf, "\", labelloc=t, fontname=\"Helvetica\", fontsize=20];\n");
	appendStringInfoString(&buf, "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", "
						   "fontname=\"Helvetica\", fontsize=10];\n");
	appendStringInfoString(&buf, "  edge [color=\"#8a8a8a\", arrowsize=0.6];\n");
	for (p = m->start; p < m->end; p++)
	{
		const HierarchyType *type = FindType(h, h->type[p]);

		appendStringInfo(&buf, "  t%d [label=\"", h->ids[p]);
		AppendDotString(&buf, h->strings + h->name[p]);
		appendStringInfoString(&buf, "\\n");
		AppendDotString(&buf, h->strings + h->code[p]);
		if (type != NULL)
		{
			appendStringInfoString(&buf, " · ");
			AppendDotString(&buf, type->name);
			appendStringInfo(&buf, "\", fillcolor=\"%s",
							 palette[(type->priority - 1) % lengthof(palette)]);
		}
		appendStringInfoString(&buf, "\"];\n");
		if (h->parent[p] >= 0)
			appendStringInfo(&buf, "  t%d -> t%d;\n", h->ids[h->parent[p]], h->ids[p]);
	}
	appendStringInfoString(&buf, "}\n");
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}
