/*
 * turns.c
 *		The turn counters of the territories that assign owners, in shared memory.
 *
 * The n-th turn of a territory goes to its ((n - 1) mod members)-th member in rotation (owners.c),
 * and every turn taken is a row of territory.rotations.  The row is the record; the counter that
 * hands out the numbers lives here, so that taking a turn costs a lightweight lock held for a few
 * instructions instead of a heavyweight lock and an index probe: concurrent inserts into one
 * territory take consecutive turns without waiting for anything.
 *
 * A counter is loaded on first use from the territory's last row (read with a dirty snapshot,
 * which sees the rows of running transactions), and kept in a set-associative table of
 * TURN_SETS x TURN_WAYS slots, keyed by database, rotations table and territory (a re-created
 * extension has a new table, so never inherits the old counters).  A slot is evicted, least
 * recently used first, only when no backend is between taking a turn and writing its row: a
 * reload then sees every turn handed out.
 *
 * A turn taken by a transaction, or a subtransaction, that rolls back is given back: when it is
 * the last turn handed out, the counter steps back; otherwise it is kept (TURN_BACK per
 * territory, the latest) and handed out again before any new one.  The backend remembers its
 * turns until its transaction ends to do so; the slot's generation, bumped by every load, tells a
 * turn given back after its counter was reloaded, which is dropped (the reload may have handed it
 * out again).  A restart forgets the turns given back and not yet handed out again.
 *
 * The table is reserved at server start when the library is in shared_preload_libraries, and
 * otherwise taken from the server's spare shared memory at first use (as contrib's pg_prewarm
 * does for its own state).
 */
#include "postgres.h"

#include "compat.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "turns.h"

#define TURN_SETS	64
#define TURN_WAYS	8
#define TURN_BACK	8

typedef struct TurnSlot
{
	Oid			dbid;			/* InvalidOid: an empty slot */
	Oid			relid;			/* territory.rotations of that database */
	int32		territory;
	int32		writing;		/* backends between taking a turn and writing its row */
	int64		next;			/* the next new turn; 0 while (re)loading */
	uint64		generation;		/* bumped by every load */
	uint64		used;			/* clock of the last use, for eviction */
	int32		nback;
	int64		back[TURN_BACK];	/* turns given back, ascending */
} TurnSlot;

typedef struct TurnTable
{
	LWLock		lock;
	uint64		clock;
	uint64		generations;
	TurnSlot	slots[TURN_SETS * TURN_WAYS];
} TurnTable;

static TurnTable *turns = NULL;

/* The turns this backend's transaction took: given back if it (or their subtransaction) aborts. */
typedef struct TakenTurn
{
	Oid			relid;
	int32		territory;
	int64		turn;
	uint64		generation;
	SubTransactionId subid;
} TakenTurn;

static TakenTurn *taken = NULL;
static int	ntaken = 0;
static int	maxtaken = 0;

static shmem_request_hook_type prev_shmem_request_hook = NULL;

static void
TurnsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(TurnTable)));
}

/* Attach to the table, creating it at first use. */
static TurnTable *
TurnsAttach(void)
{
	bool		found;

	if (turns != NULL)
		return turns;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	turns = ShmemInitStruct("territory turns", sizeof(TurnTable), &found);
	if (!found)
	{
		memset(turns, 0, sizeof(TurnTable));
		LWLockInitialize(&turns->lock, LWLockNewTrancheId());
	}
	LWLockRelease(AddinShmemInitLock);
	LWLockRegisterTranche(turns->lock.tranche, "territory_turns");
	return turns;
}

static inline uint32
TurnSet(Oid relid, int32 territory)
{
	uint32		h = (uint32) territory * 0x9E3779B1u ^ (uint32) relid * 0x85EBCA77u ^ (uint32) MyDatabaseId;

	return (h ^ (h >> 15)) % TURN_SETS;
}

/* The slot of a territory's counter, or NULL; the table lock held. */
static TurnSlot *
TurnFind(Oid relid, int32 territory)
{
	TurnSlot   *set = &turns->slots[TurnSet(relid, territory) * TURN_WAYS];
	int			i;

	for (i = 0; i < TURN_WAYS; i++)
		if (set[i].territory == territory && set[i].relid == relid && set[i].dbid == MyDatabaseId)
			return &set[i];
	return NULL;
}

/* The slot to load a counter into: an empty one, else the least recently used not pinned. */
static TurnSlot *
TurnVictim(Oid relid, int32 territory)
{
	TurnSlot   *set = &turns->slots[TurnSet(relid, territory) * TURN_WAYS];
	TurnSlot   *victim = NULL;
	int			i;

	for (i = 0; i < TURN_WAYS; i++)
	{
		if (set[i].dbid == InvalidOid)
			return &set[i];
		if (set[i].writing == 0 && (victim == NULL || set[i].used < victim->used))
			victim = &set[i];
	}
	return victim;
}

/* The last turn written to the territory's rows, committed or not yet: 0 when none. */
static int64
LastTurn(Relation rel, Relation irel, int32 territory)
{
	SnapshotData dirty;
	ScanKeyData key;
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	int64		last = 0;
	bool		isnull;

	InitDirtySnapshot(dirty);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(territory));
	scan = TerritoryIndexBeginScan(rel, irel, &dirty, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
		last = DatumGetInt64(slot_getattr(slot, 2, &isnull));
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return last;
}

/* Room for one more taken turn: grown before a turn is taken, so remembering it cannot fail. */
static void
RoomForTaken(void)
{
	if (ntaken < maxtaken)
		return;
	maxtaken = Max(64, maxtaken * 2);
	taken = taken == NULL
		? MemoryContextAlloc(TopMemoryContext, sizeof(TakenTurn) * maxtaken)
		: repalloc(taken, sizeof(TakenTurn) * maxtaken);
}

static void
Remember(Oid relid, int32 territory, int64 turn, uint64 generation)
{
	Assert(ntaken < maxtaken);
	taken[ntaken].relid = relid;
	taken[ntaken].territory = territory;
	taken[ntaken].turn = turn;
	taken[ntaken].generation = generation;
	taken[ntaken].subid = GetCurrentSubTransactionId();
	ntaken++;
}

/*
 * TurnTake
 *		The next turn of a territory whose rows are in rel (territory.rotations, its primary key
 *		irel, both open): a turn given back if there is one, else a new one.  The counter stays
 *		pinned until TurnWritten(*pin), to be called once the turn's row is written (or the write
 *		failed).
 */
int64
TurnTake(Relation rel, Relation irel, int32 territory, int *pin)
{
	Oid			relid = RelationGetRelid(rel);
	TurnSlot   *slot;
	int64		turn;

	TurnsAttach();
	RoomForTaken();
	for (;;)
	{
		LWLockAcquire(&turns->lock, LW_EXCLUSIVE);
		slot = TurnFind(relid, territory);
		if (slot == NULL)
		{
			slot = TurnVictim(relid, territory);
			if (slot == NULL)
			{
				/* every way of the set between a turn and its row: a moment */
				LWLockRelease(&turns->lock);
				pg_usleep(1000L);
				CHECK_FOR_INTERRUPTS();
				continue;
			}
			slot->dbid = MyDatabaseId;
			slot->relid = relid;
			slot->territory = territory;
			slot->writing = 0;
			slot->next = 0;
			slot->nback = 0;
		}
		break;
	}
	if (slot->next == 0)
	{
		/* (re)load, the lock held: nobody takes a turn of the territory meanwhile */
		slot->generation = ++turns->generations;
		slot->next = LastTurn(rel, irel, territory) + 1;
	}
	if (slot->nback > 0)
	{
		turn = slot->back[0];
		slot->nback--;
		memmove(&slot->back[0], &slot->back[1], sizeof(int64) * slot->nback);
	}
	else
		turn = slot->next++;
	slot->writing++;
	slot->used = ++turns->clock;
	Remember(relid, territory, turn, slot->generation);
	*pin = (int) (slot - turns->slots);
	LWLockRelease(&turns->lock);
	return turn;
}

/* The row of the turn taken with TurnTake() is written (or failed): the counter may be evicted. */
void
TurnWritten(int pin)
{
	LWLockAcquire(&turns->lock, LW_EXCLUSIVE);
	Assert(turns->slots[pin].writing > 0);
	turns->slots[pin].writing--;
	LWLockRelease(&turns->lock);
}

/* A turn given back: the counter steps back over it, or keeps it to hand out again. */
static void
GiveBack(const TakenTurn *t)
{
	TurnSlot   *slot = TurnFind(t->relid, t->territory);
	int			i;

	if (slot == NULL || slot->next == 0 || slot->generation != t->generation || t->turn >= slot->next)
		return;
	if (t->turn == slot->next - 1)
	{
		slot->next--;
		/* turns given back just below are the last ones now */
		while (slot->nback > 0 && slot->back[slot->nback - 1] == slot->next - 1)
		{
			slot->nback--;
			slot->next--;
		}
		return;
	}
	for (i = 0; i < slot->nback; i++)
		if (slot->back[i] >= t->turn)
			break;
	if (i < slot->nback && slot->back[i] == t->turn)
		return;
	if (slot->nback == TURN_BACK)
	{
		/* full: the earliest is dropped, its member misses that turn */
		if (i == 0)
			return;
		memmove(&slot->back[0], &slot->back[1], sizeof(int64) * (i - 1));
		slot->back[i - 1] = t->turn;
		return;
	}
	memmove(&slot->back[i + 1], &slot->back[i], sizeof(int64) * (slot->nback - i));
	slot->back[i] = t->turn;
	slot->nback++;
}

static int
TakenDescending(const void *a, const void *b)
{
	const TakenTurn *x = a;
	const TakenTurn *y = b;

	if (x->turn != y->turn)
		return x->turn > y->turn ? -1 : 1;
	return 0;
}

/*
 * Give back the turns taken by subtransaction subid (all of them when InvalidSubTransactionId),
 * the latest first (so that a rolled-back bulk insert steps its counters back entirely), and
 * forget them.
 */
static void
GiveBackTaken(SubTransactionId subid)
{
	int			keep = 0;
	int			nback;
	int			i;

	/* the turns to give back go to the end, in descending order */
	for (i = 0; i < ntaken; i++)
		if (subid != InvalidSubTransactionId && taken[i].subid != subid)
		{
			TakenTurn	t = taken[i];

			taken[i] = taken[keep];
			taken[keep++] = t;
		}
	nback = ntaken - keep;
	if (nback == 0)
		return;
	qsort(&taken[keep], nback, sizeof(TakenTurn), TakenDescending);
	LWLockAcquire(&turns->lock, LW_EXCLUSIVE);
	for (i = keep; i < ntaken; i++)
		GiveBack(&taken[i]);
	LWLockRelease(&turns->lock);
	ntaken = keep;
}

static void
TurnsXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			GiveBackTaken(InvalidSubTransactionId);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction's turns count, whatever becomes of it */
			ntaken = 0;
			break;
		default:
			break;
	}
}

static void
TurnsSubXactCallback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
					 void *arg)
{
	int			i;

	if (ntaken == 0)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		GiveBackTaken(mySubid);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		for (i = 0; i < ntaken; i++)
			if (taken[i].subid == mySubid)
				taken[i].subid = parentSubid;
}

void
TurnsInit(void)
{
	if (process_shared_preload_libraries_in_progress)
	{
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = TurnsShmemRequest;
	}
	RegisterXactCallback(TurnsXactCallback, NULL);
	RegisterSubXactCallback(TurnsSubXactCallback, NULL);
}
