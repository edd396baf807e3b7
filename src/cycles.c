/*
 * cycles.c
 *		The check that keeps every model's hierarchy a forest.
 *
 * territory.check_cycles() is an AFTER UPDATE statement trigger on territory.territories with
 * transition tables.  For every row whose parent changed it walks up the parent links as they
 * are after the statement (so multi-row statements are judged as a whole), remembering every
 * territory already known to reach a root: the whole check costs one index lookup per distinct
 * territory it passes, whatever the number of moved rows.  Meeting a territory of the current
 * walk again is a cycle.
 *
 * Its queries run with search_path = pg_catalog, pg_temp (set on the function), so a hostile
 * search_path of the role that changes the table cannot redirect their operators.
 *
 * Concurrency: each move first updates its model's row (see the BEFORE UPDATE trigger), so moves
 * in one model are serialized.  At READ COMMITTED the lookups here run with fresh snapshots and
 * see a move committed while this one waited; at REPEATABLE READ and SERIALIZABLE the later move
 * fails on the model row with a serialization error instead.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/hsearch.h"

#include "territory.h"

typedef enum WalkMark
{
	ON_WALK = 1,				/* on the walk in progress */
	REACHES_ROOT = 2			/* known to reach a root */
} WalkMark;

typedef struct WalkEntry
{
	int32		id;				/* hash key */
	WalkMark	mark;
} WalkEntry;

/* Parent of a territory as the statement left it; false when it is a root. */
static bool
ParentOf(SPIPlanPtr plan, int32 id, int32 *parent)
{
	Datum		arg = Int32GetDatum(id);
	bool		isnull;
	Datum		d;

	if (SPI_execute_plan(plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed looking up territory %d", id);
	if (SPI_processed == 0)
		return false;			/* deleted concurrently: the foreign key has the last word */
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	*parent = DatumGetInt32(d);
	return true;
}

PG_FUNCTION_INFO_V1(territory_check_cycles);
Datum
territory_check_cycles(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Oid			argtypes[1] = {INT4OID};
	SPIPlanPtr	plan;
	HASHCTL		ctl;
	HTAB	   *marks;
	int32	   *moved_id;
	int32	   *moved_parent;
	int32	   *walk;
	uint64		nmoved;
	uint64		i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		trigdata->tg_oldtable == NULL || trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("territory.check_cycles() must be an AFTER UPDATE statement trigger with transition tables")));

	SPI_connect();
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "SPI_register_trigger_data failed");
	if (SPI_execute("SELECT n.id, n.parent_id FROM territory_new n JOIN territory_old o ON o.id = n.id"
					" WHERE n.parent_id IS NOT NULL AND n.parent_id IS DISTINCT FROM o.parent_id",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed reading the moved territories");
	nmoved = SPI_processed;
	if (nmoved == 0)
	{
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	moved_id = palloc(sizeof(int32) * nmoved);
	moved_parent = palloc(sizeof(int32) * nmoved);
	for (i = 0; i < nmoved; i++)
	{
		bool		isnull;

		moved_id[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		moved_parent[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	plan = SPI_prepare(psprintf("SELECT parent_id FROM %s WHERE id = $1", ConfigTable("territories")),
					   1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(WalkEntry);
	ctl.hcxt = CurrentMemoryContext;
	marks = hash_create("territory cycle check", Max(nmoved * 8, 64), &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	walk = palloc(sizeof(int32) * 64);
	for (i = 0; i < nmoved; i++)
	{
		int			nwalk = 0;
		int			maxwalk = 64;
		int32		cur = moved_parent[i];
		bool		found;
		WalkEntry  *e;

		e = hash_search(marks, &moved_id[i], HASH_ENTER, &found);
		if (found && e->mark == REACHES_ROOT)
		{
			/* an earlier walk passed it; its parent is what that walk saw */
			continue;
		}
		e->mark = ON_WALK;
		walk[nwalk++] = moved_id[i];
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			e = hash_search(marks, &cur, HASH_ENTER, &found);
			if (found && e->mark == REACHES_ROOT)
				break;
			if (found && e->mark == ON_WALK)
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 errmsg("moving territory %d under territory %d would create a cycle",
								moved_id[i], moved_parent[i]),
						 errdetail("Territory %d is territory %d or one of its descendants.",
								   moved_parent[i], moved_id[i])));
			e->mark = ON_WALK;
			if (nwalk == maxwalk)
			{
				maxwalk *= 2;
				walk = repalloc(walk, sizeof(int32) * maxwalk);
			}
			walk[nwalk++] = cur;
			if (!ParentOf(plan, cur, &cur))
				break;
		}
		while (nwalk > 0)
		{
			e = hash_search(marks, &walk[--nwalk], HASH_FIND, NULL);
			e->mark = REACHES_ROOT;
		}
	}

	SPI_finish();
	return PointerGetDatum(NULL);
}
