/*
 * history.h
 *		The assignment history buffer (history.c), fed by the assignment triggers (assign.c).
 */
#ifndef TERRITORY_HISTORY_H
#define TERRITORY_HISTORY_H

#include "postgres.h"

/* causes, as territory.assignment_log stores them (a rule's own id is positive) */
#define CAUSE_MANUAL 0
#define CAUSE_INHERITED (-1)
#define CAUSE_RULE (-2)			/* removed: no rule gives it any more */
#define CAUSE_DELETED (-3)
#define CAUSE_MODEL (-4)		/* the same territory (its code) in the model activated */

#include "executor/tuptable.h"

extern void HistoryNote(Oid relid, TupleTableSlot *row, const char *key, const int32 *old,
						const int32 *old_causes, int32 nold, const int32 *new, const int32 *new_causes,
						int32 nnew, bool insert);
extern void HistoryFlush(void);
extern void HistoryInit(void);

#endif							/* TERRITORY_HISTORY_H */
