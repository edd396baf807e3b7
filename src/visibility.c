/*
 * visibility.c
 *		Who sees which records: sales users, memberships, access levels, and the row checks the
 *		row-level security policies call.
 *
 * The configuration (territory.sales_users, territory.members, territory.territory_access) is
 * cached per backend and rebuilt after an invalidation of the visibility signal or of the
 * hierarchy.  The current sales user is the setting territory.user (superuser-set: only roles
 * granted SET on it can impersonate), or else the sales user whose login is the current role;
 * nobody when neither names an active user.
 *
 * For the current user, a kind of record and an access level, the visible set is computed once
 * and kept until the configuration, the identity or the day changes: a bitmap over territory ids
 * (the subtrees of the user's current memberships, each territory at its own access level for
 * the kind; managers edit everywhere below them) and a hash set of the owner keys the user sees
 * (their own and those of everyone below them in the manager hierarchy).  Row checks cost a
 * comparison of generation numbers and one bit test per territory of the record.
 *
 * The policies that territory.enable_visibility() writes are an OR of three arms, each of which
 * an index can serve, so that the planner can use a BitmapOr for a user who sees little:
 *		territory.in_visible(territories, kind, access)		GIN on territories (support function)
 *		territory.owner_visible(owner)						btree on the owner (support function)
 *		territory.unassigned_visible(territories)			GIN: territories = _unassigned_probe()
 *		territory_id IS NULL AND (...) = NULLIF(sees_all(), false)	deals: a partial index
 * in_visible is true exactly when the record has a visible territory, which for a user who sees
 * everything means every territory: the index condition the support function derives,
 * territories && visible_territories(kind, access), is then implied by it.
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/selfuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "storage/proc.h"

#include "territory.h"

/* access levels */
#define ACCESS_NONE 0
#define ACCESS_READ 1
#define ACCESS_EDIT 2

#define NKINDS 4				/* account, lead, contact, deal */

/* territory.user */
static char *user_setting = NULL;

/*
 * Bumped whenever territory.user takes a value (SET, SET LOCAL, set_config, a function's SET
 * clause, the restore at the end of a transaction or function): what was resolved or cached for
 * one identity is never used for another, whatever the transaction, statement or call site.
 */
static uint64 identity_epoch = 1;

static void
UserSettingAssign(const char *newval, void *extra)
{
	identity_epoch++;
}

typedef struct SalesUser
{
	int32		id;
	char	   *key;
	char	   *login;			/* NULL: none */
	int32		manager;		/* index, -1: none */
	bool		sees_all;
	bool		active;
	int32		first_member;	/* its memberships: members[first_member .. +nmembers] */
	int32		nmembers;
	int32		first_report;	/* its direct reports: reports[first_report .. +nreports] */
	int32		nreports;
} SalesUser;

typedef struct Membership
{
	int32		territory;
	bool		manager;		/* role 'manager': edit everywhere below */
	bool		rotation;		/* takes part in round-robin owner assignment */
	DateADT		valid_from;		/* DATEVAL_NOBEGIN when open */
	DateADT		valid_to;		/* DATEVAL_NOEND when open */
} Membership;

/*
 * Sales user keys are shorter than 128 bytes (sales_users_key_check), logins are names; a name
 * key is "k:" or "l:" and the whole of one of them.  A longer setting names nobody: it is never
 * cut to a key that exists.
 */
#define USER_KEY_MAX 127
#define NAME_KEY_SIZE (2 + USER_KEY_MAX + 1)

typedef struct UserSlot
{
	char		name[NAME_KEY_SIZE];	/* hash key: a user key or a login (prefixed) */
	int32		user;
} UserSlot;

typedef struct AccessKey
{
	int32		territory;
	int32		kind;
} AccessKey;

typedef struct AccessEntry
{
	AccessKey	key;
	int8		access;
} AccessEntry;

typedef struct Visibility
{
	MemoryContext cxt;
	MemoryContext members_cxt;	/* members, access: rebuilt alone when only they changed */
	HTAB	   *by_id;			/* user id -> index */
	int32		nusers;
	SalesUser  *users;
	Membership *members;
	int32	   *reports;
	HTAB	   *by_name;		/* "k:" || key, "l:" || login -> user index */
	HTAB	   *access;			/* (territory, kind) -> level; absent: edit */
	/* memberships by territory, then user key (built on first use): (territory, user, member) */
	int32		nby_territory;
	int32	   *by_territory;
} Visibility;

static Visibility *visibility = NULL;
/* built in parallel mode: good in this transaction only */
static LocalTransactionId visibility_transient_lxid = InvalidLocalTransactionId;
static bool visibility_valid = false;	/* users */
static bool members_valid = false;	/* memberships and access levels */
static Oid	visibility_signal = InvalidOid;
static Oid	membership_signal = InvalidOid;
/* invalidations are accepted once per top-level statement */
static TimestampTz accepted_at = 0;
static LocalTransactionId accepted_lxid = InvalidLocalTransactionId;
/* today, once per transaction */
static DateADT today;
static LocalTransactionId today_lxid = InvalidLocalTransactionId;
/* bumped by every invalidation: cached sets compare it (they are keyed by user, kind, access) */
static uint64 generation = 1;

/* A visible set: for one user, kind and access level, on one day. */
typedef struct VisibleSet
{
	uint64		generation;
	Oid			role;			/* the role the identity was resolved for */
	DateADT		day;
	int32		user;			/* index, -1: nobody */
	int32		kind;
	int32		access;
	bool		sees_all;
	int32		min_id;			/* bitmap over territory ids min_id .. max_id */
	int32		max_id;
	uint8	   *bits;
	int32		nids;			/* the same, as a sorted array */
	int32	   *ids;
	HTAB	   *owners;			/* owner keys, NULL when none */
	int32		nowners;
	char	  **owner_keys;
} VisibleSet;

#define NSETS 8
static VisibleSet sets[NSETS];
static int	next_set = 0;
static MemoryContext sets_cxt = NULL;

void
VisibilityRelcacheCallback(Oid relid)
{
	if (relid == InvalidOid || (OidIsValid(visibility_signal) && relid == visibility_signal))
	{
		visibility_valid = false;
		members_valid = false;
		generation++;
	}
	else if ((OidIsValid(membership_signal) && relid == membership_signal) || HierarchyIsSignal(relid))
	{
		members_valid = false;
		generation++;
	}
}


void
VisibilityInit(void)
{
	DefineCustomStringVariable("territory.user",
							   "The sales user whose records this session sees (their key).",
							   "Empty: the sales user whose login is the current role. Only roles "
							   "granted SET on this parameter may set it.",
							   &user_setting, "", PGC_SUSET, 0, NULL, UserSettingAssign, NULL);
}

/* ---------------------------------------------------------------- building */

static int32
KindIndex(const char *kind)
{
	if (strcmp(kind, "account") == 0)
		return 0;
	if (strcmp(kind, "lead") == 0)
		return 1;
	if (strcmp(kind, "contact") == 0)
		return 2;
	if (strcmp(kind, "deal") == 0)
		return 3;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown kind of record: %s", kind),
			 errhint("The kinds are account, lead, contact and deal.")));
	return -1;
}

static int32
AccessIndex(const char *access)
{
	if (strcmp(access, "read") == 0)
		return ACCESS_READ;
	if (strcmp(access, "edit") == 0)
		return ACCESS_EDIT;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown access level: %s", access),
			 errhint("Ask for read or edit.")));
	return -1;
}

/* The hash key of a user key or login in buf (NAME_KEY_SIZE bytes); false when too long for any. */
static bool
NameKey(char *buf, char prefix, const char *name)
{
	size_t		len = strlen(name);

	memset(buf, 0, NAME_KEY_SIZE);
	if (len > USER_KEY_MAX)
		return false;
	buf[0] = prefix;
	buf[1] = ':';
	memcpy(buf + 2, name, len);
	return true;
}

static int
CompareMemberUser(const void *a, const void *b)
{
	return ((const int32 *) a)[0] - ((const int32 *) b)[0];
}

/*
 * The rows of the configuration, read with ConfigScan() (no parser or planner: a new backend
 * builds these caches before its first row check), into growable arrays.
 */
typedef struct UserRow
{
	int32		id;
	char	   *key;
	char	   *login;
	int32		manager_id;		/* 0: none */
	bool		sees_all;
	bool		active;
} UserRow;

typedef struct MemberRow
{
	int32		user_id;
	Membership	m;
} MemberRow;

typedef struct Rows
{
	MemoryContext cxt;			/* where the array and its strings go */
	Size		width;
	int32		n;
	int32		size;
	char	   *items;
} Rows;

static void
RowsInit(Rows *rows, MemoryContext cxt, Size width)
{
	rows->cxt = cxt;
	rows->width = width;
	rows->n = 0;
	rows->size = 16;
	rows->items = MemoryContextAlloc(cxt, width * rows->size);
}

static void *
RowsAdd(Rows *rows)
{
	if (rows->n == rows->size)
	{
		rows->size *= 2;
		rows->items = repalloc(rows->items, rows->width * rows->size);
	}
	return rows->items + rows->width * rows->n++;
}

static const char *user_cols[] = {"id", "key", "login", "manager_id", "sees_all", "active"};

static void
ReadUser(void *arg, Datum *values, bool *nulls)
{
	Rows	   *rows = arg;
	UserRow    *r = RowsAdd(rows);

	r->id = DatumGetInt32(values[0]);
	r->key = MemoryContextStrdup(rows->cxt, TextDatumGetCString(values[1]));
	r->login = nulls[2] ? NULL : MemoryContextStrdup(rows->cxt, NameStr(*DatumGetName(values[2])));
	r->manager_id = nulls[3] ? 0 : DatumGetInt32(values[3]);
	r->sees_all = !nulls[4] && DatumGetBool(values[4]);
	r->active = !nulls[5] && DatumGetBool(values[5]);
}

static int
CompareUserRows(const void *a, const void *b)
{
	int32		x = ((const UserRow *) a)->id;
	int32		y = ((const UserRow *) b)->id;

	return x < y ? -1 : x > y;
}

static const char *member_cols[] = {"user_id", "territory_id", "role", "valid_from", "valid_to", "rotation"};

static void
ReadMember(void *arg, Datum *values, bool *nulls)
{
	MemberRow  *r = RowsAdd(arg);
	char	   *role = TextDatumGetCString(values[2]);

	r->user_id = DatumGetInt32(values[0]);
	r->m.territory = DatumGetInt32(values[1]);
	r->m.manager = strcmp(role, "manager") == 0;
	r->m.rotation = !nulls[5] && DatumGetBool(values[5]);
	if (nulls[3])
		DATE_NOBEGIN(r->m.valid_from);
	else
		r->m.valid_from = DatumGetDateADT(values[3]);
	if (nulls[4])
		DATE_NOEND(r->m.valid_to);
	else
		r->m.valid_to = DatumGetDateADT(values[4]);
}

static const char *access_cols[] = {"territory_id", "kind", "access"};

static void
ReadAccess(void *arg, Datum *values, bool *nulls)
{
	HTAB	   *access = arg;
	char	   *level = TextDatumGetCString(values[2]);
	AccessKey	key;
	AccessEntry *e;

	memset(&key, 0, sizeof(key));
	key.territory = DatumGetInt32(values[0]);
	key.kind = KindIndex(TextDatumGetCString(values[1]));
	e = hash_search(access, &key, HASH_ENTER, NULL);
	e->access = strcmp(level, "none") == 0 ? ACCESS_NONE
		: strcmp(level, "read") == 0 ? ACCESS_READ : ACCESS_EDIT;
}

static Visibility *
BuildVisibility(void)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "territory visibility",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "territory visibility rows",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Visibility *v;
	HASHCTL		ctl;
	HTAB	   *by_id;
	int32		i;
	Rows		rows;
	UserRow    *user_rows;
	Snapshot	snapshot;

	old = MemoryContextSwitchTo(cxt);
	v = palloc0(sizeof(Visibility));
	v->cxt = cxt;

	if (IsInParallelMode())
		visibility_transient_lxid = TerritoryLocalXid();
	RowsInit(&rows, scratch, sizeof(UserRow));
	snapshot = RegisterSnapshot(TerritoryConfigSnapshot());
	ConfigScan("sales_users", user_cols, lengthof(user_cols), snapshot, ReadUser, &rows, scratch);
	UnregisterSnapshot(snapshot);
	user_rows = (UserRow *) rows.items;
	qsort(user_rows, rows.n, sizeof(UserRow), CompareUserRows);

	v->nusers = rows.n;
	v->users = MemoryContextAllocZero(cxt, sizeof(SalesUser) * Max(v->nusers, 1));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(int32) * 2;
	ctl.hcxt = cxt;
	by_id = hash_create("territory users by id", Max(v->nusers, 16), &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	v->by_id = by_id;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAME_KEY_SIZE;
	ctl.entrysize = sizeof(UserSlot);
	ctl.hcxt = cxt;
	v->by_name = hash_create("territory users by name", Max(v->nusers * 2, 16), &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (i = 0; i < v->nusers; i++)
	{
		const UserRow *r = &user_rows[i];
		SalesUser  *u = &v->users[i];
		int32	   *e;
		UserSlot   *slot;
		char		buf[NAME_KEY_SIZE];

		u->id = r->id;
		u->key = MemoryContextStrdup(cxt, r->key);
		u->login = r->login ? MemoryContextStrdup(cxt, r->login) : NULL;
		u->sees_all = r->sees_all;
		u->active = r->active;
		e = hash_search(by_id, &u->id, HASH_ENTER, NULL);
		e[1] = i;
		if (NameKey(buf, 'k', u->key))
		{
			slot = hash_search(v->by_name, buf, HASH_ENTER, NULL);
			slot->user = i;
		}
		if (u->login && NameKey(buf, 'l', u->login))
		{
			slot = hash_search(v->by_name, buf, HASH_ENTER, NULL);
			slot->user = i;
		}
	}
	/* managers, and each manager's direct reports */
	{
		int32	   *count = MemoryContextAllocZero(scratch, sizeof(int32) * Max(v->nusers, 1));
		int32		total = 0;

		for (i = 0; i < v->nusers; i++)
		{
			int32		manager = user_rows[i].manager_id;
			int32	   *e = manager ? hash_search(by_id, &manager, HASH_FIND, NULL) : NULL;

			v->users[i].manager = e ? e[1] : -1;
			if (e)
				count[e[1]]++;
		}
		for (i = 0; i < v->nusers; i++)
		{
			v->users[i].first_report = total;
			total += count[i];
		}
		v->reports = MemoryContextAlloc(cxt, sizeof(int32) * Max(total, 1));
		for (i = 0; i < v->nusers; i++)
		{
			int32		m = v->users[i].manager;

			if (m >= 0)
				v->reports[v->users[m].first_report + v->users[m].nreports++] = i;
		}
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(scratch);
	return v;
}

/* Memberships and access levels, into v (its users' member ranges are set). */
static void
BuildMembers(Visibility *v)
{
	MemoryContext cxt = AllocSetContextCreate(v->cxt, "territory memberships", ALLOCSET_DEFAULT_SIZES);
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "territory membership rows",
												  ALLOCSET_DEFAULT_SIZES);
	HASHCTL		ctl;
	HTAB	   *by_id = v->by_id;
	int32		i;
	int32		nmembers;
	int32	   *member_rows;	/* (user index, member index) pairs, sorted by user */
	MemberRow  *raw;
	Rows		rows;
	Snapshot	snapshot;

	for (i = 0; i < v->nusers; i++)
		v->users[i].nmembers = 0;
	if (IsInParallelMode())
		visibility_transient_lxid = TerritoryLocalXid();
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AccessKey);
	ctl.entrysize = sizeof(AccessEntry);
	ctl.hcxt = cxt;
	v->access = hash_create("territory access levels", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	RowsInit(&rows, scratch, sizeof(MemberRow));
	snapshot = RegisterSnapshot(TerritoryConfigSnapshot());
	ConfigScan("members", member_cols, lengthof(member_cols), snapshot, ReadMember, &rows, scratch);
	ConfigScan("territory_access", access_cols, lengthof(access_cols), snapshot, ReadAccess, v->access, scratch);
	UnregisterSnapshot(snapshot);

	nmembers = rows.n;
	raw = (MemberRow *) rows.items;
	member_rows = MemoryContextAlloc(scratch, sizeof(int32) * 2 * Max(nmembers, 1));
	for (i = 0; i < nmembers; i++)
	{
		int32	   *e = hash_search(by_id, &raw[i].user_id, HASH_FIND, NULL);

		member_rows[2 * i] = e ? e[1] : INT_MAX;
		member_rows[2 * i + 1] = i;
	}
	qsort(member_rows, nmembers, sizeof(int32) * 2, CompareMemberUser);
	v->members = MemoryContextAlloc(cxt, sizeof(Membership) * Max(nmembers, 1));
	for (i = 0; i < nmembers; i++)
	{
		int32		u = member_rows[2 * i];

		v->members[i] = raw[member_rows[2 * i + 1]].m;
		if (u == INT_MAX)
			continue;
		if (v->users[u].nmembers == 0)
			v->users[u].first_member = i;
		v->users[u].nmembers++;
	}

	MemoryContextDelete(scratch);
	if (v->members_cxt != NULL)
		MemoryContextDelete(v->members_cxt);
	v->members_cxt = cxt;
	v->by_territory = NULL;
	v->nby_territory = 0;
}

static Visibility *
CurrentVisibility(void)
{
	uint64		before;
	Visibility *v;

	/* changes committed elsewhere: seen from the next top-level statement on */
	if (accepted_lxid != TerritoryLocalXid() || accepted_at != GetCurrentStatementStartTimestamp())
	{
		AcceptInvalidationMessages();
		accepted_lxid = TerritoryLocalXid();
		accepted_at = GetCurrentStatementStartTimestamp();
	}
	if (visibility_transient_lxid != InvalidLocalTransactionId &&
		visibility_transient_lxid != TerritoryLocalXid())
	{
		/* read from an earlier transaction's snapshot: read again */
		visibility_valid = members_valid = false;
		visibility_transient_lxid = InvalidLocalTransactionId;
		generation++;
	}
	if (visibility_valid && members_valid && visibility != NULL)
		return visibility;
	visibility_signal = TerritoryRelid(VISIBILITY_SIGNAL);
	membership_signal = TerritoryRelid(MEMBERSHIP_SIGNAL);
	(void) HierarchyCurrent();	/* sets the hierarchy's signal, so that its changes reach us */
	before = generation;
	if (!visibility_valid || visibility == NULL)
	{
		visibility_transient_lxid = InvalidLocalTransactionId;
		v = BuildVisibility();
		if (visibility != NULL)
			MemoryContextDelete(visibility->cxt);
		visibility = v;
		visibility_valid = true;
	}
	members_valid = true;
	BuildMembers(visibility);
	/* an invalidation during the build leaves it stale: used now, rebuilt next time */
	if (generation != before)
		visibility_valid = members_valid = false;
	generation++;
	return visibility;
}

/* ---------------------------------------------------------------- identity */

/* The last identity resolved: the same setting and role in the same generation give the same user. */
static uint64 identity_generation = 0;
static Oid	identity_role = InvalidOid;
static uint64 identity_resolved_epoch = 0;
static int32 identity_user = -1;

static int32 ResolveUser(Visibility *v);

/* The current sales user (index), or -1. */
static int32
CurrentUser(Visibility *v)
{
	if (identity_generation == generation && identity_role == GetOuterUserId() &&
		identity_resolved_epoch == identity_epoch)
		return identity_user;
	identity_user = ResolveUser(v);
	identity_generation = generation;
	identity_role = GetOuterUserId();
	identity_resolved_epoch = identity_epoch;
	return identity_user;
}

static int32
ResolveUser(Visibility *v)
{
	char		buf[NAME_KEY_SIZE];
	UserSlot   *slot;

	if (user_setting != NULL && user_setting[0] != '\0')
	{
		if (!NameKey(buf, 'k', user_setting))
			return -1;
	}
	else
	{
		char	   *role = GetUserNameFromId(GetOuterUserId(), true);

		if (role == NULL || !NameKey(buf, 'l', role))
			return -1;
	}
	slot = hash_search(v->by_name, buf, HASH_FIND, NULL);
	if (slot == NULL || !v->users[slot->user].active)
		return -1;
	return slot->user;
}

static DateADT
Today(void)
{
	if (today_lxid != TerritoryLocalXid())
	{
		today = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
													TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())));
		today_lxid = TerritoryLocalXid();
	}
	return today;
}

/* ---------------------------------------------------------------- visible sets */

static void
SetBit(VisibleSet *s, int32 id)
{
	if (id < s->min_id || id > s->max_id)
		return;
	s->bits[(id - s->min_id) >> 3] |= 1 << ((id - s->min_id) & 7);
}

static inline bool
TestBit(const VisibleSet *s, int32 id)
{
	return id >= s->min_id && id <= s->max_id &&
		(s->bits[(id - s->min_id) >> 3] & (1 << ((id - s->min_id) & 7))) != 0;
}

static void
AddOwner(VisibleSet *s, const char *key, int32 *max)
{
	bool		found;

	(void) hash_search(s->owners, key, HASH_ENTER, &found);
	if (found)
		return;
	if (s->nowners == *max)
	{
		*max *= 2;
		s->owner_keys = repalloc(s->owner_keys, sizeof(char *) * *max);
	}
	s->owner_keys[s->nowners++] = MemoryContextStrdup(sets_cxt, key);
}

static void
FreeSet(VisibleSet *s)
{
	if (s->bits)
		pfree(s->bits);
	if (s->ids)
		pfree(s->ids);
	if (s->owners)
		hash_destroy(s->owners);
	if (s->owner_keys)
	{
		int32		i;

		for (i = 0; i < s->nowners; i++)
			pfree(s->owner_keys[i]);
		pfree(s->owner_keys);
	}
	memset(s, 0, sizeof(VisibleSet));
}

static int
CompareInt32Ids(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * BuildSet: the visible set of a user for a kind and access.  Its cost is that of the
 * territories the user sees (their subtrees are walked, their ids sorted), not of the model: a
 * pooled backend meets many users, and a rep's set must not cost a walk of every territory.
 */
static void
BuildSet(Visibility *v, VisibleSet *s, int32 user, int32 kind, int32 access, DateADT day)
{
	const Hierarchy *h = HierarchyCurrent();
	int32		n;
	const int32 *all = HierarchyModelTerritories(h, HierarchyActiveModel(h), &n);
	int32		i,
				j;
	int32		maxowners = 16;
	int32		maxids = 64;
	MemoryContext old = MemoryContextSwitchTo(sets_cxt);

	s->user = user;
	s->kind = kind;
	s->access = access;
	s->day = day;
	s->sees_all = user >= 0 && v->users[user].sees_all;
	/* the bitmap spans the active model's territory ids */
	HierarchyModelIdRange(h, HierarchyActiveModel(h), &s->min_id, &s->max_id);
	s->bits = palloc0((s->max_id - s->min_id) / 8 + 1);
	s->ids = palloc(sizeof(int32) * maxids);
	s->owner_keys = palloc(sizeof(char *) * maxowners);
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = USER_KEY_MAX + 1;
		ctl.entrysize = USER_KEY_MAX + 1;
		ctl.hcxt = sets_cxt;
		s->owners = hash_create("territory visible owners", 16, &ctl,
								HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}

	if (user >= 0 && s->sees_all)
	{
		for (i = 0; i < n; i++)
			SetBit(s, all[i]);
		s->nids = n;
	}
	else if (user >= 0 && n > 0)
	{
		SalesUser  *u = &v->users[user];
		HierarchyNode first;
		uint8	   *blocked = NULL;	/* territories whose level for the kind is below access */

		(void) HierarchyFind(h, all[0], &first);	/* positions are counted from the model's first */
		if (hash_get_num_entries(v->access) > 0)
		{
			HASH_SEQ_STATUS seq;
			AccessEntry *e;

			blocked = palloc0((s->max_id - s->min_id) / 8 + 1);
			hash_seq_init(&seq, v->access);
			while ((e = hash_seq_search(&seq)) != NULL)
				if (e->key.kind == kind && e->access < access &&
					e->key.territory >= s->min_id && e->key.territory <= s->max_id)
					blocked[(e->key.territory - s->min_id) >> 3] |= 1 << ((e->key.territory - s->min_id) & 7);
		}

		for (j = 0; j < u->nmembers; j++)
		{
			Membership *m = &v->members[u->first_member + j];
			HierarchyNode node;
			int32		pos;

			if (day < m->valid_from || day > m->valid_to)
				continue;		/* outside its validity period */
			if (!HierarchyFind(h, m->territory, &node) || node.model != HierarchyActiveModel(h))
				continue;
			/* its subtree, contiguous in pre-order, each territory at its own level (managers edit) */
			for (pos = node.pos - first.pos; pos <= node.last - first.pos && pos < n; pos++)
			{
				int32		b = all[pos] - s->min_id;

				if ((m->manager || blocked == NULL || (blocked[b >> 3] & (1 << (b & 7))) == 0) &&
					!TestBit(s, all[pos]))
				{
					SetBit(s, all[pos]);
					if (s->nids == maxids)
					{
						maxids *= 2;
						s->ids = repalloc(s->ids, sizeof(int32) * maxids);
					}
					s->ids[s->nids++] = all[pos];
				}
			}
		}
	}
	/*
	 * The sorted array of the same: a few ids (a rep's) are sorted as found; many are read off
	 * the bitmap in order, skipping its empty bytes.
	 */
	if (s->nids <= (s->max_id - s->min_id) / 64)
		qsort(s->ids, s->nids, sizeof(int32), CompareInt32Ids);
	else
	{
		int32		nbytes = (s->max_id - s->min_id) / 8 + 1;

		s->ids = repalloc(s->ids, sizeof(int32) * Max(s->nids, 1));
		s->nids = 0;
		for (i = 0; i < nbytes; i++)
		{
			uint32		byte = s->bits[i];
			int32		bit;

			for (bit = 0; byte != 0; bit++, byte >>= 1)
				if (byte & 1)
					s->ids[s->nids++] = s->min_id + i * 8 + bit;
		}
	}
	/* owners: the user and everyone below them */
	if (user >= 0)
	{
		int32	   *stack = palloc(sizeof(int32) * Max(v->nusers, 1));
		bool	   *seen = palloc0(sizeof(bool) * Max(v->nusers, 1));
		int32		top = 0;

		stack[top++] = user;
		seen[user] = true;
		while (top > 0)
		{
			SalesUser  *u = &v->users[stack[--top]];

			AddOwner(s, u->key, &maxowners);
			for (j = 0; j < u->nreports; j++)
			{
				int32		r = v->reports[u->first_report + j];

				if (!seen[r])
				{
					seen[r] = true;
					stack[top++] = r;
				}
			}
		}
		pfree(stack);
		pfree(seen);
	}
	MemoryContextSwitchTo(old);
}

/*
 * CurrentSet
 *		The visible set of the current user for a kind and access level; computed at most once
 *		per configuration, identity and day.
 */
static VisibleSet *
CurrentSet(int32 kind, int32 access)
{
	Visibility *v = CurrentVisibility();
	int32		user = CurrentUser(v);
	DateADT		day = Today();
	Oid			role = GetOuterUserId();
	int			i;
	VisibleSet *s;

	for (i = 0; i < NSETS; i++)
	{
		s = &sets[i];
		if (s->generation == generation && s->role == role && s->user == user && s->kind == kind &&
			s->access == access && s->day == day)
			return s;
	}
	if (sets_cxt == NULL)
		sets_cxt = AllocSetContextCreate(TopMemoryContext, "territory visible sets",
										 ALLOCSET_DEFAULT_SIZES);
	s = &sets[next_set];
	next_set = (next_set + 1) % NSETS;
	FreeSet(s);
	BuildSet(v, s, user, kind, access, day);
	s->generation = generation;
	s->role = role;
	return s;
}

/* Per call site: the set last used, valid while the generation, role and day hold. */
typedef struct CallSet
{
	bool		args_parsed;	/* kind and access are constants of the call site, parsed */
	int32		arg_kind;
	int32		arg_access;
	uint64		generation;
	Oid			role;
	uint64		identity;		/* identity_epoch */
	LocalTransactionId lxid;	/* the day can change only between transactions */
	int32		kind;
	int32		access;
	VisibleSet *set;
} CallSet;

static VisibleSet *
SetOfCall(CallSet *cs, int32 kind, int32 access)
{
	/* the set may have been recycled for another user, kind or access since */
	if (cs->set != NULL && (cs->set->generation != cs->generation || cs->set->kind != kind ||
							cs->set->access != access || cs->set->role != cs->role))
		cs->set = NULL;
	if (cs->set == NULL || cs->generation != generation || cs->role != GetOuterUserId() ||
		cs->identity != identity_epoch || cs->lxid != TerritoryLocalXid() || cs->kind != kind ||
		cs->access != access)
	{
		cs->set = CurrentSet(kind, access);
		cs->generation = generation;
		cs->role = GetOuterUserId();
		cs->identity = identity_epoch;
		cs->lxid = TerritoryLocalXid();
		cs->kind = kind;
		cs->access = access;
	}
	return cs->set;
}

/*
 * VisibilityTerritoryReadable
 *		Whether the current sales user reads the records of a kind that are in territory id (a
 *		current membership of it or of an ancestor with read access, or sees_all): for components
 *		that report on territories, such as forecasts.
 */
bool
VisibilityTerritoryReadable(const char *kind, int32 id)
{
	VisibleSet *s = CurrentSet(KindIndex(kind), ACCESS_READ);

	return s->sees_all || TestBit(s, id);
}

/*
 * VisibilityReadableTerritories
 *		The territories whose records of a kind the current sales user reads, ascending, in *ids
 *		and *n (valid until the next call into visibility); returns true instead for a user who
 *		sees everything.
 */
bool
VisibilityReadableTerritories(const char *kind, const int32 **ids, int32 *n)
{
	VisibleSet *s = CurrentSet(KindIndex(kind), ACCESS_READ);

	*ids = s->ids;
	*n = s->sees_all ? 0 : s->nids;
	return s->sees_all;
}

/*
 * VisibilityForEachMember
 *		Calls fn for every membership of an active sales user in the cached configuration (the
 *		one the row checks use): territory, user id and key, first and last day (DATE_NOBEGIN and
 *		DATE_NOEND when open).  The key is valid during the call only.
 */
void
VisibilityForEachMember(VisibilityMemberFn fn, void *arg)
{
	Visibility *v = CurrentVisibility();
	int32		u;

	for (u = 0; u < v->nusers; u++)
	{
		const SalesUser *user = &v->users[u];
		int32		j;

		if (!user->active)
			continue;
		for (j = user->first_member; j < user->first_member + user->nmembers; j++)
			fn(arg, v->members[j].territory, user->id, user->key, v->members[j].valid_from,
			   v->members[j].valid_to);
	}
}

static int
CompareByTerritory(const void *a, const void *b, void *arg)
{
	const int32 *x = a;
	const int32 *y = b;
	const Visibility *v = arg;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return strcmp(v->users[x[1]].key, v->users[y[1]].key);
}

/*
 * VisibilityRotation
 *		The sales users in the rotation of a territory on a day: current members with rotation on,
 *		of active users, in the order of their keys.  Fills ids and keys (palloc'd, keys valid
 *		until the configuration changes: copy them to keep them) and returns their number.
 */
int32
VisibilityRotation(int32 territory, DateADT day, int32 **ids, const char ***keys)
{
	Visibility *v = CurrentVisibility();
	int32		lo = 0,
				hi,
				n = 0;

	if (v->by_territory == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(v->members_cxt);
		int32		u;
		int32		k = 0;

		for (u = 0; u < v->nusers; u++)
			k += v->users[u].nmembers;
		v->by_territory = palloc(sizeof(int32) * 3 * Max(k, 1));
		for (u = 0; u < v->nusers; u++)
		{
			int32		j;

			for (j = v->users[u].first_member; j < v->users[u].first_member + v->users[u].nmembers; j++)
			{
				v->by_territory[3 * v->nby_territory] = v->members[j].territory;
				v->by_territory[3 * v->nby_territory + 1] = u;
				v->by_territory[3 * v->nby_territory + 2] = j;
				v->nby_territory++;
			}
		}
		qsort_arg(v->by_territory, v->nby_territory, sizeof(int32) * 3, CompareByTerritory, v);
		MemoryContextSwitchTo(old);
	}
	/* the first entry of the territory */
	hi = v->nby_territory;
	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (v->by_territory[3 * mid] < territory)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < v->nby_territory && v->by_territory[3 * hi] == territory; hi++)
		;
	*ids = palloc(sizeof(int32) * Max(hi - lo, 1));
	*keys = palloc(sizeof(char *) * Max(hi - lo, 1));
	for (; lo < hi; lo++)
	{
		const SalesUser *u = &v->users[v->by_territory[3 * lo + 1]];
		const Membership *m = &v->members[v->by_territory[3 * lo + 2]];

		if (!u->active || !m->rotation || day < m->valid_from || day > m->valid_to)
			continue;
		(*ids)[n] = u->id;
		(*keys)[n] = u->key;
		n++;
	}
	return n;
}

static int32 TextArgKind(FunctionCallInfo fcinfo, int argno);
static int32 TextArgAccess(FunctionCallInfo fcinfo, int argno);

/*
 * Whether argument argno of the call is a constant of its expression.  Not
 * get_fn_expr_arg_stable(), which also says so of a PARAM_EXTERN: a PL/pgSQL variable, whose
 * value changes while PL/pgSQL keeps the call's state (fn_extra) for the whole transaction.
 */
static bool
ArgIsConst(FmgrInfo *flinfo, int argno)
{
	Node	   *expr = flinfo->fn_expr;
	List	   *args;

	if (expr == NULL || !IsA(expr, FuncExpr))
		return false;
	args = ((FuncExpr *) expr)->args;
	return argno < list_length(args) && IsA(list_nth(args, argno), Const);
}

/*
 * Per call site (fn_extra, which lives as long as the statement's plan state, or a PL/pgSQL
 * simple expression's transaction): the set for the kind (argument kind_arg) and access
 * (argument access_arg, or fixed when -1) of the call.  Constant arguments, as in the policies,
 * are parsed once per call site, not per row; any other argument at every call.
 */
static VisibleSet *
CallSiteSetArgs(FunctionCallInfo fcinfo, int kind_arg, int access_arg, int32 access)
{
	CallSet    *cs = (CallSet *) fcinfo->flinfo->fn_extra;

	if (cs == NULL)
	{
		cs = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallSet));
		fcinfo->flinfo->fn_extra = cs;
	}
	if (!cs->args_parsed)
	{
		cs->arg_kind = kind_arg >= 0 ? TextArgKind(fcinfo, kind_arg) : 0;
		cs->arg_access = access_arg >= 0 ? TextArgAccess(fcinfo, access_arg) : access;
		cs->args_parsed = (kind_arg < 0 || ArgIsConst(fcinfo->flinfo, kind_arg)) &&
			(access_arg < 0 || ArgIsConst(fcinfo->flinfo, access_arg));
	}
	return SetOfCall(cs, cs->arg_kind, cs->arg_access);
}

static int32
TextArgKind(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? 0 : KindIndex(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}

static int32
TextArgAccess(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? ACCESS_READ : AccessIndex(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}


/* ---------------------------------------------------------------- SQL functions */

PG_FUNCTION_INFO_V1(territory_current_user_id);
Datum
territory_current_user_id(PG_FUNCTION_ARGS)
{
	Visibility *v = CurrentVisibility();
	int32		user = CurrentUser(v);

	if (user < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(v->users[user].id);
}

PG_FUNCTION_INFO_V1(territory_sees_all);
Datum
territory_sees_all(PG_FUNCTION_ARGS)
{
	Visibility *v = CurrentVisibility();
	int32		user = CurrentUser(v);

	PG_RETURN_BOOL(user >= 0 && v->users[user].sees_all);
}

PG_FUNCTION_INFO_V1(territory_visible_territories);
Datum
territory_visible_territories(PG_FUNCTION_ARGS)
{
	VisibleSet *s = CallSiteSetArgs(fcinfo, 0, 1, ACCESS_READ);
	Datum	   *d = palloc(sizeof(Datum) * Max(s->nids, 1));
	int32		i;

	for (i = 0; i < s->nids; i++)
		d[i] = Int32GetDatum(s->ids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, s->nids, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(territory_visible_owners);
Datum
territory_visible_owners(PG_FUNCTION_ARGS)
{
	VisibleSet *s = CallSiteSetArgs(fcinfo, -1, -1, ACCESS_READ);
	Datum	   *d = palloc(sizeof(Datum) * Max(s->nowners, 1));
	int32		i;

	for (i = 0; i < s->nowners; i++)
		d[i] = CStringGetTextDatum(s->owner_keys[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(d, s->nowners, TEXTOID, -1, false, TYPALIGN_INT));
}

static void
BadTerritories(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("territories must be a one-dimensional int4[] without NULLs")));
}

/*
 * Whether one of the ids of an int4[] datum is in the set.  A small array stored in a row has a
 * one-byte header and unaligned contents; it is read in place (memcpy) rather than copied out
 * as detoasting would, once per row.
 */
static inline bool
InlineShort(const struct varlena *v)
{
	/* a one-byte header in place: not a TOAST pointer, not an expanded array (PL/pgSQL's) */
	return VARATT_IS_SHORT(v) && !VARATT_IS_EXTERNAL(v);
}

static bool
AnyVisible(const VisibleSet *s, Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (InlineShort(v))
	{
		const char *p = VARDATA_SHORT(v);
		int32		header[3];	/* ndim, dataoffset, elemtype */
		int32		n,
					i;

		memcpy(header, p, sizeof(header));
		if (header[0] == 0)
			return false;
		if (header[0] != 1 || header[1] != 0 || (Oid) header[2] != INT4OID)
			BadTerritories();
		memcpy(&n, p + sizeof(header), sizeof(int32));
		/* the elements follow the header, dims and lower bounds, at the array's data offset */
		p += ARR_OVERHEAD_NONULLS(1) - VARHDRSZ;
		for (i = 0; i < n; i++)
		{
			int32		id;

			memcpy(&id, p + i * sizeof(int32), sizeof(int32));
			if (TestBit(s, id))
				return true;
		}
		return false;
	}
	else
	{
		/* toasted, compressed, expanded or with a 4-byte header: the array API reads them all */
		ArrayType  *arr = DatumGetArrayTypeP(d);
		int32	   *ids;
		int32		n,
					i;

		if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID)
			BadTerritories();
		n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
		ids = (int32 *) ARR_DATA_PTR(arr);
		for (i = 0; i < n; i++)
			if (TestBit(s, ids[i]))
				return true;
		return false;
	}
}

/* Whether an int4[] datum (in any representation) has no element. */
static bool
NoTerritories(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	if (InlineShort(v) || (VARATT_IS_4B_U(v)))
		return VARSIZE_ANY_EXHDR(v) <= ARR_OVERHEAD_NONULLS(0) - VARHDRSZ;
	{
		ArrayType  *arr = DatumGetArrayTypeP(d);	/* read in once */

		return ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) == 0;
	}
}

/* in_visible(territories int4[], kind text, access text): a territory of the record is visible. */
PG_FUNCTION_INFO_V1(territory_in_visible);
Datum
territory_in_visible(PG_FUNCTION_ARGS)
{
	VisibleSet *s;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	s = CallSiteSetArgs(fcinfo, 1, 2, ACCESS_READ);
	/* every territory is visible to who sees everything (an empty array: the third arm) */
	if (s->sees_all)
		PG_RETURN_BOOL(!NoTerritories(PG_GETARG_DATUM(0)));
	PG_RETURN_BOOL(AnyVisible(s, PG_GETARG_DATUM(0)));
}

/* in_visible(territory int4, kind text, access text): a deal's territory is visible. */
PG_FUNCTION_INFO_V1(territory_in_visible_one);
Datum
territory_in_visible_one(PG_FUNCTION_ARGS)
{
	VisibleSet *s;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	s = CallSiteSetArgs(fcinfo, 1, 2, ACCESS_READ);
	PG_RETURN_BOOL(TestBit(s, PG_GETARG_INT32(0)));
}

/*
 * unassigned_visible(territories int4[]): a record without territory, for a user who sees
 * everything (the third arm of the policies; GIN serves territories = _unassigned_probe()).  The
 * int4 form of deal tables is SQL, inlined into the policies (33_visibility_api.sql).
 */
PG_FUNCTION_INFO_V1(territory_unassigned_visible);
Datum
territory_unassigned_visible(PG_FUNCTION_ARGS)
{
	VisibleSet *s = CallSiteSetArgs(fcinfo, -1, -1, ACCESS_READ);

	if (!s->sees_all)
		PG_RETURN_BOOL(false);
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(NoTerritories(PG_GETARG_DATUM(0)));
}

/*
 * _unassigned_probe(): what territories = ... must match for the unassigned arm: '{}' for a
 * user who sees everything, else an array no record holds.
 */
PG_FUNCTION_INFO_V1(territory_unassigned_probe);
Datum
territory_unassigned_probe(PG_FUNCTION_ARGS)
{
	VisibleSet *s = CallSiteSetArgs(fcinfo, -1, -1, ACCESS_READ);
	Datum		none = Int32GetDatum(PG_INT32_MIN);

	if (s->sees_all)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT4OID));
	PG_RETURN_ARRAYTYPE_P(construct_array(&none, 1, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/* owner_visible(owner anyelement): the record's owner is the user or someone below them. */
typedef struct OwnerCall
{
	CallSet		set;
	Oid			type;
	FmgrInfo	out;
} OwnerCall;

PG_FUNCTION_INFO_V1(territory_owner_visible);
Datum
territory_owner_visible(PG_FUNCTION_ARGS)
{
	OwnerCall  *oc;
	VisibleSet *s;
	char		buf[USER_KEY_MAX + 1];
	char	   *key;
	Oid			type;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	oc = (OwnerCall *) fcinfo->flinfo->fn_extra;
	if (oc == NULL)
	{
		type = get_fn_expr_argtype(fcinfo->flinfo, 0);
		oc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(OwnerCall));
		if (type != TEXTOID && type != VARCHAROID)
		{
			Oid			outfn;
			bool		varlena;

			getTypeOutputInfo(type, &outfn, &varlena);
			fmgr_info_cxt(outfn, &oc->out, fcinfo->flinfo->fn_mcxt);
		}
		oc->type = type;
		fcinfo->flinfo->fn_extra = oc;
	}
	type = oc->type;
	/* the owner set does not depend on the kind */
	s = SetOfCall(&oc->set, 0, ACCESS_READ);
	if (s->nowners == 0)
		PG_RETURN_BOOL(false);
	if (type == TEXTOID || type == VARCHAROID)
	{
		/* in place: no copy per row */
		text	   *t = PG_GETARG_TEXT_PP(0);
		int			len = VARSIZE_ANY_EXHDR(t);

		if (len >= (int) sizeof(buf))
			PG_RETURN_BOOL(false);	/* longer than any key the set holds */
		memcpy(buf, VARDATA_ANY(t), len);
		buf[len] = '\0';
		PG_RETURN_BOOL(hash_search(s->owners, buf, HASH_FIND, NULL) != NULL);
	}
	key = OutputFunctionCall(&oc->out, PG_GETARG_DATUM(0));
	if (strlen(key) >= sizeof(buf))
		PG_RETURN_BOOL(false);
	strlcpy(buf, key, sizeof(buf));
	PG_RETURN_BOOL(hash_search(s->owners, buf, HASH_FIND, NULL) != NULL);
}

/*
 * can_read / can_edit (territories int4[], owner text, kind text): the whole check in one call,
 * for applications and ad-hoc queries (the policies use the three indexable arms instead).
 */
static bool
CanAccess(FunctionCallInfo fcinfo, int32 access)
{
	VisibleSet *s = CallSiteSetArgs(fcinfo, 2, -1, access);

	if (s->sees_all)
		return true;
	if (!PG_ARGISNULL(0) && AnyVisible(s, PG_GETARG_DATUM(0)))
		return true;
	if (!PG_ARGISNULL(1) && s->nowners > 0)
	{
		char		buf[USER_KEY_MAX + 1];
		char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));

		if (strlen(key) >= sizeof(buf))
			return false;
		memset(buf, 0, sizeof(buf));
		strlcpy(buf, key, sizeof(buf));
		return hash_search(s->owners, buf, HASH_FIND, NULL) != NULL;
	}
	return false;
}

PG_FUNCTION_INFO_V1(territory_can_read);
Datum
territory_can_read(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CanAccess(fcinfo, ACCESS_READ));
}

PG_FUNCTION_INFO_V1(territory_can_edit);
Datum
territory_can_edit(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(CanAccess(fcinfo, ACCESS_EDIT));
}

/* ---------------------------------------------------------------- planner support */

/* A function of the extension's schema, looked up once per backend (again if it was re-created). */
static Oid
TerritoryFunction(Oid *cache, const char *name, int nargs, Oid *argtypes)
{
	char	   *known = OidIsValid(*cache) ? get_func_name(*cache) : NULL;

	if (known == NULL || strcmp(known, name) != 0)
		*cache = LookupFuncName(list_make2(makeString(TERRITORY_SCHEMA), makeString((char *) name)),
								nargs, argtypes, false);
	return *cache;
}

static Oid	visible_owners_fn = InvalidOid;
static Oid	visible_territories_fn = InvalidOid;
static Oid	unassigned_probe_fn = InvalidOid;

/* Whether a function is territory.unassigned_visible() (either). */
static bool
IsUnassignedArm(Oid funcid)
{
	char	   *name = get_func_name(funcid);

	return name != NULL && strcmp(name, "unassigned_visible") == 0 &&
		get_func_namespace(funcid) == get_namespace_oid(TERRITORY_SCHEMA, false);
}

/* The kind and access of a call whose arguments are constants, or false. */
static bool
ConstKindAccess(List *args, int32 *kind, int32 *access)
{
	Node	   *k = list_length(args) > 1 ? lsecond(args) : NULL;
	Node	   *a = list_length(args) > 2 ? lthird(args) : NULL;

	*kind = 0;
	*access = ACCESS_READ;
	if (k != NULL)
	{
		if (!IsA(k, Const) || ((Const *) k)->constisnull)
			return false;
		*kind = KindIndex(TextDatumGetCString(((Const *) k)->constvalue));
	}
	if (a != NULL)
	{
		if (!IsA(a, Const) || ((Const *) a)->constisnull)
			return false;
		*access = AccessIndex(TextDatumGetCString(((Const *) a)->constvalue));
	}
	return true;
}

/*
 * territory._visibility_support(internal): for in_visible(), the index condition
 * territories && visible_territories(kind, access) (GIN array_ops), or territory_id =
 * ANY(visible_territories(kind, access)) (btree); for owner_visible(), owner =
 * ANY(visible_owners()) (btree).  Selectivity: the share of the active model's territories the
 * current user sees (of the sales users, for owners), at plan time.
 */
PG_FUNCTION_INFO_V1(territory_visibility_support);
Datum
territory_visibility_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	Oid			textargs[2] = {TEXTOID, TEXTOID};

	if (IsA(rawreq, SupportRequestIndexCondition))
	{
		SupportRequestIndexCondition *req = (SupportRequestIndexCondition *) rawreq;
		FuncExpr   *fe;
		Node	   *arg;
		Oid			argtype;
		Oid			opno;
		Node	   *set;
		bool		owner;

		if (!IsA(req->node, FuncExpr) || req->indexarg != 0)
			PG_RETURN_POINTER(NULL);
		fe = (FuncExpr *) req->node;
		arg = linitial(fe->args);
		argtype = exprType(arg);
		if (IsUnassignedArm(fe->funcid))
		{
			/* territories = _unassigned_probe() (GIN array_ops) */
			if (argtype != INT4ARRAYOID)
				PG_RETURN_POINTER(NULL);
			opno = get_opfamily_member(req->opfamily, ANYARRAYOID, ANYARRAYOID, 4);
			if (!OidIsValid(opno))
				PG_RETURN_POINTER(NULL);
			/* the probe is '{}' only for a user who sees everything; the arm is rechecked */
			req->lossy = true;
			PG_RETURN_POINTER(list_make1(make_opclause(opno, BOOLOID, false, (Expr *) arg,
													   (Expr *) makeFuncExpr(TerritoryFunction(&unassigned_probe_fn, "_unassigned_probe", 0, NULL),
																			 INT4ARRAYOID, NIL, InvalidOid, InvalidOid,
																			 COERCE_EXPLICIT_CALL),
													   InvalidOid, InvalidOid)));
		}
		owner = list_length(fe->args) == 1;
		if (list_length(fe->args) > 1 && contain_var_clause((Node *) list_delete_first(list_copy(fe->args))))
			PG_RETURN_POINTER(NULL);
		if (owner)
		{
			Node	   *owners = (Node *) makeFuncExpr(TerritoryFunction(&visible_owners_fn, "visible_owners", 0, NULL),
													   TEXTARRAYOID, NIL, InvalidOid, InvalidOid,
													   COERCE_EXPLICIT_CALL);
			/*
			 * Text owners only: converting the keys to another type could fail on a key that is
			 * not of that type (an index condition must not raise errors the check would not).
			 */
			if (argtype != TEXTOID)
				PG_RETURN_POINTER(NULL);
			set = owners;
		}
		else
			set = (Node *) makeFuncExpr(TerritoryFunction(&visible_territories_fn, "visible_territories", 2, textargs),
										INT4ARRAYOID, list_make2(lsecond(fe->args), lthird(fe->args)),
										InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		if (argtype == INT4ARRAYOID)
		{
			/* GIN array_ops: && */
			opno = get_opfamily_member(req->opfamily, ANYARRAYOID, ANYARRAYOID, 1);
			if (!OidIsValid(opno))
				PG_RETURN_POINTER(NULL);
			req->lossy = true;
			PG_RETURN_POINTER(list_make1(make_opclause(opno, BOOLOID, false, (Expr *) arg,
													   (Expr *) set, InvalidOid, InvalidOid)));
		}
		else
		{
			/* btree: = ANY */
			ScalarArrayOpExpr *sa;

			opno = get_opfamily_member(req->opfamily, argtype, argtype, BTEqualStrategyNumber);
			if (!OidIsValid(opno))
				PG_RETURN_POINTER(NULL);
			sa = makeNode(ScalarArrayOpExpr);
			sa->opno = opno;
			sa->opfuncid = get_opcode(opno);
			sa->useOr = true;
			sa->inputcollid = exprCollation(arg);
			sa->args = list_make2(arg, set);
			sa->location = -1;
			req->lossy = true;
			PG_RETURN_POINTER(list_make1(sa));
		}
	}
	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;
		int32		kind,
					access;
		VisibleSet *s;
		const Hierarchy *h;
		int32		n;

		if (req->is_join || !ConstKindAccess(req->args, &kind, &access))
			PG_RETURN_POINTER(NULL);
		s = CurrentSet(kind, access);
		if (IsUnassignedArm(req->funcid))
			req->selectivity = s->sees_all ? 0.01 : 0.0001;
		else if (list_length(req->args) == 1)
			req->selectivity = (double) s->nowners / Max(visibility->nusers, 1);
		else
		{
			h = HierarchyCurrent();
			(void) HierarchyModelTerritories(h, HierarchyActiveModel(h), &n);
			req->selectivity = (double) s->nids / Max(n, 1);
		}
		CLAMP_PROBABILITY(req->selectivity);
		req->selectivity = Max(req->selectivity, 0.0001);
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
