/*
 * inflight.c
 *		The owners load balancing gave on a Citus cluster to records the coordinator cannot see
 *		yet, in the coordinator's shared memory.
 *
 * On one server, load balancing holds the territory's turn lock until its transaction ends and
 * then counts the members' open records (owners.c): each new record sees those before it.  On a
 * cluster the records are written on the workers, in transactions a count through the
 * coordinator does not see until they commit, and the backends of one distributed transaction
 * cannot wait for each other's commits.  So the coordinator remembers what it gave away: a group
 * per transaction of a worker's connection (remote.c), table, territory and member, with how many
 * records it gave and the key of the last one.  A pick (territory._pick_fewest, owners.c) counts,
 * for each member, the open records committed (a query of the distributed table) and the records
 * in flight: the groups of transactions still running on the coordinator, and those of
 * transactions committed there whose last record the query does not see yet (a worker commits
 * just after the coordinator, remote.c).  All the records of a group are in one transaction of
 * one worker, so its last record shows when they all do.
 *
 * A group goes when its transaction rolls back (a subtransaction's records when it rolls back),
 * when a pick sees its last record, and INFLIGHT_TTL_MS after its commit in any case (a worker's
 * commit that failed after the coordinator's, or a record deleted since).  A restart forgets the
 * groups, which only matters for the moments they are in flight.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "pgstat.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "territory.h"
#include "inflight.h"

#define INFLIGHT_GROUPS 1024
#define INFLIGHT_TTL_MS 60000
#define INFLIGHT_PICKERS 64
#define INFLIGHT_XACT 96
/* how long a pick waits for another transaction's picks to end: then counts them as given */
#define INFLIGHT_WAIT_MS (10 * (long) DeadlockTimeout)

typedef struct InflightGroup
{
	Oid			dbid;			/* InvalidOid: a free group */
	Oid			relid;			/* the distributed table, on the coordinator */
	int32		territory;
	int32		user_id;
	int			pid;			/* the backend whose transaction it is; 0 once committed */
	char		xact[INFLIGHT_XACT];	/* the worker's distributed transaction, or "" */
	uint64		generation;		/* tells a group reused since it was read */
	int64		count;
	TimestampTz committed;
	char		key[INFLIGHT_KEY];	/* the key of its last record */
} InflightGroup;

/*
 * A backend picking for a territory (one at a time per territory), or waiting for the
 * transactions that picked before it in the territory to end: for whom.
 */
typedef struct InflightPicker
{
	Oid			dbid;
	int32		territory;
	int			pid;			/* 0: a free slot */
	char		xact[INFLIGHT_XACT];
	bool		waiting;
	bool		deadlocked;		/* chosen to end a cycle of waits: to fail */
	TimestampTz since;			/* waiting since */
	int			waits_pid;		/* the transaction waited for: its backend and its xact */
	char		waits_xact[INFLIGHT_XACT];
} InflightPicker;

typedef struct InflightTable
{
	LWLock		lock;
	ConditionVariable picked;	/* a pick ended */
	uint64		generations;
	InflightPicker pickers[INFLIGHT_PICKERS];
	InflightGroup groups[INFLIGHT_GROUPS];
} InflightTable;

static InflightTable *inflight = NULL;
static int	my_picker = -1;		/* this backend's slot while it picks */

/* The records this backend's transaction gave owners: per subtransaction, for its rollback. */
typedef struct InflightPick
{
	int			group;
	SubTransactionId subid;
	char	   *key;
} InflightPick;

static InflightPick *picks = NULL;
static int	npicks = 0;
static int	maxpicks = 0;
static MemoryContext pick_cxt = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;

static void
InflightShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(InflightTable)));
}

/* Attach to the table, creating it at first use (turns.c does the same). */
static void
InflightAttach(void)
{
	bool		found;

	if (inflight != NULL)
		return;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	inflight = ShmemInitStruct("territory inflight", sizeof(InflightTable), &found);
	if (!found)
	{
		memset(inflight, 0, sizeof(InflightTable));
		LWLockInitialize(&inflight->lock, LWLockNewTrancheId());
		ConditionVariableInit(&inflight->picked);
	}
	LWLockRelease(AddinShmemInitLock);
	LWLockRegisterTranche(inflight->lock.tranche, "territory_inflight");
}

/* Are two transactions one: the same backend here, or the same distributed transaction? */
static bool
SameXact(int pid, const char *xact, int other_pid, const char *other_xact)
{
	return pid == other_pid || (xact[0] != '\0' && strcmp(xact, other_xact) == 0);
}

/*
 * Does the transaction (pid, xact) wait, directly or through others, for the transaction of this
 * backend (mine)?  The picker that waits for mine at the end of that chain, or -1.  The waits of
 * the pickers only: a cycle through anything else ends when the waits run out (INFLIGHT_WAIT_MS).
 */
static int
WaitingForMe(int pid, const char *xact, const char *mine)
{
	bool		visited[INFLIGHT_PICKERS] = {false};
	int			stack[INFLIGHT_PICKERS];
	int			depth = 0;
	int			i;

	for (;;)
	{
		/* the waits of the transaction (pid, xact) */
		for (i = 0; i < INFLIGHT_PICKERS; i++)
		{
			InflightPicker *p = &inflight->pickers[i];

			if (!visited[i] && p->pid != 0 && p->waiting && p->dbid == MyDatabaseId && SameXact(p->pid, p->xact, pid, xact))
			{
				if (SameXact(p->waits_pid, p->waits_xact, MyProcPid, mine))
					return i;
				visited[i] = true;
				stack[depth++] = i;
			}
		}
		if (depth == 0)
			return -1;
		i = stack[--depth];
		pid = inflight->pickers[i].waits_pid;
		xact = inflight->pickers[i].waits_xact;
	}
}

/*
 * InflightPickBegin
 *		Wait until no other backend picks for territory and the other transactions that gave
 *		owners in it have ended (as one server's load balancing waits for the territory's lock,
 *		owners.c), then pick, until InflightPickEnd() or the end of the transaction.  xact names
 *		the worker's distributed transaction (its backends' picks do not wait for each other),
 *		"" when it has none.  The waits are on a condition variable, not a lock: Citus's deadlock
 *		detector takes the lock waits of backends outside a distributed transaction for one
 *		transaction waiting for itself, and cancels them.  A cycle of these waits is a deadlock,
 *		and one of its transactions fails (40P01): the one one server's deadlock detector would
 *		pick.  A transaction waited for longer than INFLIGHT_WAIT_MS is counted as if it commits.
 */
void
InflightPickBegin(int32 territory, const char *xact)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), INFLIGHT_WAIT_MS);
	int			slot = -1;

	InflightAttach();
	InflightPickEnd();			/* a pick that failed before it could end */
	ConditionVariablePrepareToSleep(&inflight->picked);
	for (;;)
	{
		InflightGroup *blocker = NULL;
		bool		busy = false;
		bool		patient = GetCurrentTimestamp() < end;
		bool		marked = false;
		int			i;

		LWLockAcquire(&inflight->lock, LW_EXCLUSIVE);
		for (i = 0; i < INFLIGHT_PICKERS && slot < 0; i++)
			if (inflight->pickers[i].pid == 0)
			{
				slot = i;
				my_picker = i;	/* freed by InflightPickEnd(), if this wait fails too */
				inflight->pickers[i].dbid = MyDatabaseId;
				inflight->pickers[i].territory = territory;
				inflight->pickers[i].pid = MyProcPid;
				inflight->pickers[i].waiting = false;
				inflight->pickers[i].deadlocked = false;
				strlcpy(inflight->pickers[i].xact, xact, INFLIGHT_XACT);
			}
		for (i = 0; i < INFLIGHT_PICKERS; i++)
		{
			InflightPicker *p = &inflight->pickers[i];

			if (i != slot && p->pid != 0 && !p->waiting && p->dbid == MyDatabaseId && p->territory == territory)
				busy = true;
		}
		for (i = 0; i < INFLIGHT_GROUPS && patient && blocker == NULL; i++)
		{
			InflightGroup *g = &inflight->groups[i];

			if (g->dbid == MyDatabaseId && g->territory == territory && g->pid != 0 &&
				!SameXact(g->pid, g->xact, MyProcPid, xact))
				blocker = g;
		}
		if (slot >= 0)
		{
			InflightPicker *me = &inflight->pickers[slot];

			if (!me->waiting && (busy || blocker != NULL))
				me->since = GetCurrentTimestamp();
			me->waiting = busy || blocker != NULL;
			if (blocker != NULL && !me->deadlocked)
			{
				int			victim;

				me->waits_pid = blocker->pid;
				strlcpy(me->waits_xact, blocker->xact, INFLIGHT_XACT);

				/*
				 * A cycle.  On one server each waiter looks for one once, deadlock_timeout after
				 * it began to wait, and fails if it finds one: the transaction waiting for this
				 * one fails if it has waited less than that, this one otherwise.
				 */
				victim = WaitingForMe(blocker->pid, blocker->xact, xact);
				if (victim >= 0 && !inflight->pickers[victim].deadlocked)
				{
					if (TimestampDifferenceExceeds(inflight->pickers[victim].since, GetCurrentTimestamp(), DeadlockTimeout))
						me->deadlocked = true;
					else
					{
						inflight->pickers[victim].deadlocked = true;
						marked = true;
					}
				}
			}
			if (me->deadlocked)
			{
				me->pid = 0;
				my_picker = -1;
				LWLockRelease(&inflight->lock);
				ConditionVariableCancelSleep();
				ConditionVariableBroadcast(&inflight->picked);
				ereport(ERROR,
						(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
						 errmsg("deadlock detected"),
						 errdetail("Load balancing in territory %d waits for a transaction that waits for this one to give owners in another territory.", territory),
						 errhint("Write the records of load-balanced territories in the same order in concurrent transactions.")));
			}
			if (!me->waiting)
			{
				LWLockRelease(&inflight->lock);
				break;
			}
		}
		LWLockRelease(&inflight->lock);
		/* wake the victim (the sleeping pickers look again) */
		if (marked)
			ConditionVariableBroadcast(&inflight->picked);
		if (blocker != NULL)
			(void) ConditionVariableTimedSleep(&inflight->picked, Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end)),
											   PG_WAIT_EXTENSION);
		else
			ConditionVariableSleep(&inflight->picked, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

/* The pick is over (or failed): the next may begin. */
void
InflightPickEnd(void)
{
	if (my_picker < 0)
		return;
	LWLockAcquire(&inflight->lock, LW_EXCLUSIVE);
	inflight->pickers[my_picker].pid = 0;
	inflight->pickers[my_picker].waiting = false;
	LWLockRelease(&inflight->lock);
	my_picker = -1;
	ConditionVariableBroadcast(&inflight->picked);
}

static void
FreeGroup(InflightGroup *g)
{
	g->dbid = InvalidOid;
	g->count = 0;
}

/*
 * InflightCollect
 *		For a pick in territory of relid's records among user_ids[0 .. n): adds to counts[i] the
 *		records in flight of the running transactions' groups, and returns (palloc'd, *checks)
 *		the committed groups whose last record the pick's query must look for; drops the groups
 *		committed longer than INFLIGHT_TTL_MS ago.
 */
int
InflightCollect(Oid relid, int32 territory, const int32 *user_ids, int32 n, int64 *counts,
				InflightCheck **checks)
{
	TimestampTz now = GetCurrentTimestamp();
	InflightCheck *out = NULL;
	int			nout = 0;
	int			maxout = 0;
	int			i;
	int32		m;

	InflightAttach();
	LWLockAcquire(&inflight->lock, LW_EXCLUSIVE);
	for (i = 0; i < INFLIGHT_GROUPS; i++)
	{
		InflightGroup *g = &inflight->groups[i];

		if (g->dbid != MyDatabaseId || g->relid != relid || g->territory != territory)
			continue;
		if (g->pid == 0 && TimestampDifferenceExceeds(g->committed, now, INFLIGHT_TTL_MS))
		{
			FreeGroup(g);
			continue;
		}
		for (m = 0; m < n; m++)
			if (user_ids[m] == g->user_id)
				break;
		if (m == n)
			continue;			/* no longer in rotation: not counted */
		if (g->pid != 0)
		{
			counts[m] += g->count;
			continue;
		}
		if (nout == maxout)
		{
			/* grown under the lock: an allocation failure there releases it (LWLocks do on error) */
			maxout = Max(8, maxout * 2);
			out = out == NULL ? palloc(sizeof(InflightCheck) * maxout) : repalloc(out, sizeof(InflightCheck) * maxout);
		}
		out[nout].group = i;
		out[nout].generation = g->generation;
		out[nout].member = m;
		out[nout].count = g->count;
		strlcpy(out[nout].key, g->key, INFLIGHT_KEY);
		nout++;
	}
	LWLockRelease(&inflight->lock);
	*checks = out;
	return nout;
}

/* A committed group whose last record a pick saw: its records count by themselves now. */
void
InflightSeen(const InflightCheck *check)
{
	InflightGroup *g;

	LWLockAcquire(&inflight->lock, LW_EXCLUSIVE);
	g = &inflight->groups[check->group];
	if (g->dbid != InvalidOid && g->generation == check->generation && g->pid == 0)
		FreeGroup(g);
	LWLockRelease(&inflight->lock);
}

/* Room for one more pick of this backend: grown first, so that remembering it cannot fail. */
static void
RoomForPick(void)
{
	if (pick_cxt == NULL)
		pick_cxt = AllocSetContextCreate(TopMemoryContext, "territory inflight picks", ALLOCSET_DEFAULT_SIZES);
	if (npicks < maxpicks)
		return;
	maxpicks = Max(64, maxpicks * 2);
	picks = picks == NULL
		? MemoryContextAlloc(TopMemoryContext, sizeof(InflightPick) * maxpicks)
		: repalloc(picks, sizeof(InflightPick) * maxpicks);
}

/*
 * InflightAdd
 *		The current transaction gave user_id the record key of relid in territory: one more in
 *		the transaction's group.  An error, before anything changes, when every group is taken by
 *		a running transaction.
 */
void
InflightAdd(Oid relid, int32 territory, int32 user_id, const char *key, const char *xact)
{
	InflightGroup *g = NULL;
	InflightGroup *oldest = NULL;
	char	   *copy;
	int			i;

	Assert(strlen(key) < INFLIGHT_KEY);
	InflightAttach();
	RoomForPick();
	copy = MemoryContextStrdup(pick_cxt, key);
	LWLockAcquire(&inflight->lock, LW_EXCLUSIVE);
	for (i = 0; i < INFLIGHT_GROUPS && g == NULL; i++)
	{
		InflightGroup *x = &inflight->groups[i];

		if (x->dbid == MyDatabaseId && x->pid == MyProcPid && x->relid == relid &&
			x->territory == territory && x->user_id == user_id)
			g = x;
		else if (x->dbid == InvalidOid)
		{
			if (oldest == NULL || oldest->dbid != InvalidOid)
				oldest = x;
		}
		else if (x->pid == 0 && (oldest == NULL || (oldest->dbid != InvalidOid && x->committed < oldest->committed)))
			oldest = x;
	}
	if (g == NULL)
	{
		if (oldest == NULL)
		{
			LWLockRelease(&inflight->lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("too many transactions are giving records owners by load balancing at once"),
					 errdetail("The coordinator keeps %d groups of records in flight.", INFLIGHT_GROUPS)));
		}
		g = oldest;
		g->dbid = MyDatabaseId;
		g->relid = relid;
		g->territory = territory;
		g->user_id = user_id;
		g->pid = MyProcPid;
		strlcpy(g->xact, xact, INFLIGHT_XACT);
		g->generation = ++inflight->generations;
		g->count = 0;
	}
	g->count++;
	strlcpy(g->key, key, INFLIGHT_KEY);
	LWLockRelease(&inflight->lock);
	picks[npicks].group = (int) (g - inflight->groups);
	picks[npicks].subid = GetCurrentSubTransactionId();
	picks[npicks].key = copy;
	npicks++;
}

/*
 * Forget the picks of subtransaction subid (InvalidSubTransactionId: of the transaction, which
 * then frees its groups, or, committed, hands them to the picks that look for their records).
 */
static void
EndPicks(SubTransactionId subid, bool commit)
{
	TimestampTz now = GetCurrentTimestamp();
	int			keep = 0;
	int			i;

	LWLockAcquire(&inflight->lock, LW_EXCLUSIVE);
	if (subid == InvalidSubTransactionId)
	{
		for (i = 0; i < INFLIGHT_GROUPS; i++)
		{
			InflightGroup *g = &inflight->groups[i];

			if (g->dbid == InvalidOid || g->pid != MyProcPid)
				continue;
			if (commit)
			{
				g->pid = 0;
				g->committed = now;
			}
			else
				FreeGroup(g);
		}
		npicks = 0;
	}
	else
	{
		for (i = 0; i < npicks; i++)
		{
			if (picks[i].subid != subid)
			{
				picks[keep++] = picks[i];
				continue;
			}
			inflight->groups[picks[i].group].count--;
		}
		npicks = keep;
		/* each group's last record is its latest pick still standing */
		for (i = 0; i < INFLIGHT_GROUPS; i++)
		{
			InflightGroup *g = &inflight->groups[i];
			int			j;

			if (g->dbid == InvalidOid || g->pid != MyProcPid)
				continue;
			if (g->count <= 0)
			{
				FreeGroup(g);
				continue;
			}
			for (j = npicks - 1; j >= 0; j--)
				if (picks[j].group == i)
				{
					strlcpy(g->key, picks[j].key, INFLIGHT_KEY);
					break;
				}
		}
	}
	LWLockRelease(&inflight->lock);
	/* the picks waiting for this transaction's may go on */
	ConditionVariableBroadcast(&inflight->picked);
	if (npicks == 0)
		MemoryContextReset(pick_cxt);
}

static void
InflightXactCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		InflightPickEnd();
	if (npicks == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			EndPicks(InvalidSubTransactionId, false);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			EndPicks(InvalidSubTransactionId, true);
			break;
		default:
			break;
	}
}

static void
InflightSubXactCallback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
						void *arg)
{
	int			i;

	if (npicks == 0)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		EndPicks(mySubid, false);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		for (i = 0; i < npicks; i++)
			if (picks[i].subid == mySubid)
				picks[i].subid = parentSubid;
}

void
InflightInit(void)
{
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = InflightShmemRequest;
	}
	RegisterXactCallback(InflightXactCallback, NULL);
	RegisterSubXactCallback(InflightSubXactCallback, NULL);
}
