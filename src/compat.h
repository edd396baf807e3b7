/*
 * compat.h
 *		Every PostgreSQL-version conditional of the extension, in one place.
 *
 * territory is built for PostgreSQL 15, 17 and 18 (and 16 in between); what differs between them
 * is named here, never with #if blocks scattered through the components.
 */
#ifndef TERRITORY_COMPAT_H
#define TERRITORY_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "territory requires PostgreSQL 15 or later"
#endif

#include "access/genam.h"
#include "executor/executor.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"

/*
 * The backend's local transaction id, which the caches compare to know a transaction from the
 * next: PostgreSQL 17 moved it into PGPROC.vxid.
 */
#if PG_VERSION_NUM >= 170000
#define TerritoryLocalXid()		(MyProc->vxid.lxid)
#else
#define TerritoryLocalXid()		(MyProc->lxid)
#endif

/*
 * Index entries of a tuple just inserted (not an update, no arbiters): PostgreSQL 16 added the
 * argument onlySummarizing.
 */
#if PG_VERSION_NUM >= 160000
#define TerritoryInsertIndexTuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
#define TerritoryInsertIndexTuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

/*
 * The parameters of an ExecutorRun hook, and the arguments it passes on: PostgreSQL 18 dropped
 * execute_once.
 */
#if PG_VERSION_NUM >= 180000
#define TERRITORY_EXECUTOR_RUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define TERRITORY_EXECUTOR_RUN_ARGS queryDesc, direction, count
#else
#define TERRITORY_EXECUTOR_RUN_PARAMS \
	QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define TERRITORY_EXECUTOR_RUN_ARGS queryDesc, direction, count, execute_once
#endif

/*
 * What an operator is in the btree operator families that hold it: PostgreSQL 18 generalised
 * the lookup to every index method, with a comparison type whose values for btree are the
 * strategy numbers.  TerritoryOpStrategy() is the btree strategy number (ROWCOMPARE_NE, 6, for
 * <>, as before 18).
 */
#if PG_VERSION_NUM >= 180000
typedef OpIndexInterpretation TerritoryOpInterpretation;
#define TerritoryOpInterpretations(opno)	get_op_index_interpretation(opno)
#define TerritoryOpStrategy(i)				((int) (i)->cmptype)
#else
typedef OpBtreeInterpretation TerritoryOpInterpretation;
#define TerritoryOpInterpretations(opno)	get_op_btree_interpretation(opno)
#define TerritoryOpStrategy(i)				((int) (i)->strategy)
#endif

/*
 * An index scan without instrumentation: PostgreSQL 18 added the argument instrument.
 */
#if PG_VERSION_NUM >= 180000
#define TerritoryIndexBeginScan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define TerritoryIndexBeginScan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * A function that does not return, written before the declaration: PostgreSQL 18 replaced the
 * attribute pg_attribute_noreturn() (after it) by pg_noreturn (before it).
 */
#if PG_VERSION_NUM >= 180000
#define TerritoryNoReturn pg_noreturn
#else
#define TerritoryNoReturn pg_attribute_noreturn()
#endif

#endif							/* TERRITORY_COMPAT_H */
