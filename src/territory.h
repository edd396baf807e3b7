/*
 * territory.h
 *		Declarations shared by the components of the territory extension.
 *
 * Components (one C file each):
 *		territory.c		module initialisation, cache invalidation signals
 *		config.c		configuration access: the relation holding a table's rows here
 *		cluster.c		the grants of the extension's settings on every node of a Citus cluster
 *		hierarchy.c		the per-backend hierarchy cache and the hierarchy functions
 *		cycles.c		the check that keeps every hierarchy a forest
 *		rules.c			validation and compilation of rule criteria
 *		matcher.c		the per-table rule matcher
 *		assign.c		assignment triggers, manual assignments, explain
 *		history.c		the assignment history
 *		visibility.c	sales users, memberships and the row checks of the policies
 */
#ifndef TERRITORY_H
#define TERRITORY_H

#include "postgres.h"

#include "compat.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/snapshot.h"

/* The extension's schema: fixed, the extension is not relocatable. */
#define TERRITORY_SCHEMA "territory"

/*
 * Signal relations.  A configuration change does not invalidate the relcache entry of the table
 * it changed (that would throw away every cached plan that reads the table); a statement trigger
 * instead sends a relcache invalidation for a small relation that nothing queries, one per cache,
 * and the relcache callback marks that cache stale in every backend, including standbys.
 */
#define HIERARCHY_SIGNAL "hierarchy_signal"
#define MATCHER_SIGNAL "matcher_signal"
#define MANUAL_SIGNAL "manual_signal"
#define VISIBILITY_SIGNAL "visibility_signal"
#define MEMBERSHIP_SIGNAL "membership_signal"

extern Oid	TerritoryRelid(const char *relname);
extern uint64 territory_cache_epoch;

typedef struct TerritoryUser
{
	Oid			userid;
	int			sec_context;
} TerritoryUser;

extern Oid	TerritoryRelationOwner(Oid relid);
extern Oid	TerritoryOwner(void);
extern void TerritoryBecomeOwner(TerritoryUser *save);
extern void TerritoryRestoreUser(const TerritoryUser *save);
extern Snapshot TerritoryConfigSnapshot(void);
extern bool TerritoryConfigBegin(void);
extern void TerritoryConfigEnd(void);

/* config.c */
extern Oid	ConfigRelid(const char *relname);
extern char *ConfigTable(const char *relname);
typedef void (*ConfigRowCallback) (void *arg, Datum *values, bool *nulls);
extern void ConfigScan(const char *relname, const char **columns, int ncolumns, Snapshot snapshot,
					   ConfigRowCallback callback, void *arg, MemoryContext rowcxt);
extern char *TerritoryRelationName(Oid relid);
extern void ConfigRelcacheCallback(Oid relid);
extern Oid	ConfigLogicalRelid(Oid relid);
extern Oid	ConfigColocatedShard(Oid table, Oid relation);
extern AttrNumber ConfigDistributionAttno(Oid relid);
extern bool ConfigCoordinator(char **host, int32 *port);
extern char *ConfigDistributedXact(void);

/* cluster.c */
extern void ClusterInit(void);

/* remote.c */
extern void RemoteInit(void);
extern int64 RemoteTakeTurn(const char *host, int32 port, int32 territory, const int32 *user_ids, int32 n);
extern int32 RemotePickFewest(const char *host, int32 port, int32 territory, const char *table, const char *record,
							  const int32 *user_ids, const char **keys, int32 n, const char *xact);

/* assign.c */
extern void AssignRelcacheCallback(Oid relid);
extern void AssignInit(void);

/* visibility.c */
extern void VisibilityRelcacheCallback(Oid relid);
extern void VisibilityInit(void);
extern bool VisibilityTerritoryReadable(const char *kind, int32 id);
extern bool VisibilityReadableTerritories(const char *kind, const int32 **ids, int32 *n);
typedef void (*VisibilityMemberFn) (void *arg, int32 territory, int32 user_id, const char *key,
									int32 valid_from, int32 valid_to);
extern void VisibilityForEachMember(VisibilityMemberFn fn, void *arg);
extern int32 VisibilityRotation(int32 territory, int32 day, int32 **ids, const char ***keys);

/* period.c */
extern void PeriodInit(void);
extern Datum territory_period_lower(PG_FUNCTION_ARGS);
extern Datum territory_period_upper(PG_FUNCTION_ARGS);

/* hierarchy.c */
typedef struct Hierarchy Hierarchy;

/* What other components may know of a territory. */
typedef struct HierarchyNode
{
	int32		id;
	int32		pos;			/* pre-order position: ancestors come first */
	int32		last;			/* last position of its subtree */
	int32		depth;
	int32		model;
	int32		parent;			/* 0 for a root */
	int32		type_priority;	/* INT_MAX without a type */
	char		owner_mode;		/* owner assignment: 'n'one, 'r'ound robin, 'l'oad balanced */
} HierarchyNode;

extern void HierarchyRelcacheCallback(Oid relid);
extern bool HierarchyIsSignal(Oid relid);
extern const Hierarchy *HierarchyCurrent(void);
extern int32 HierarchyActiveModel(const Hierarchy *h);
extern char HierarchyModelPolicy(const Hierarchy *h, int32 model);
extern bool HierarchyFind(const Hierarchy *h, int32 id, HierarchyNode *node);
extern const char *HierarchyCode(const Hierarchy *h, int32 id);
extern const int32 *HierarchyModelTerritories(const Hierarchy *h, int32 model, int32 *n);
extern void HierarchyModelIdRange(const Hierarchy *h, int32 model, int32 *min_id, int32 *max_id);
extern const Hierarchy *HierarchyPin(void);
extern void HierarchyUnpin(void);
extern int32 HierarchyPosition(const Hierarchy *h, int32 id);
extern int32 HierarchyBestTerritory(const Hierarchy *h, const int32 *ids, int32 n, bool owning);
extern bool HierarchyModelRange(const Hierarchy *h, int32 model, int32 *start, int32 *end);

/* The pre-order arrays: position -> id, parent position (-1 for a root), subtree end, depth. */
typedef struct HierarchyArrays
{
	int32		n;
	const int32 *ids;
	const int32 *parent;
	const int32 *last;
	const int32 *depth;
} HierarchyArrays;

extern void HierarchyGetArrays(const Hierarchy *h, HierarchyArrays *a);

typedef struct HierarchyPathWalk
{
	StringInfoData path;
	int32	   *prefix;			/* path length at each depth */
} HierarchyPathWalk;

extern void HierarchyPathWalkStart(const Hierarchy *h, HierarchyPathWalk *w, int32 first, int32 last);
extern Datum HierarchyPathWalkNext(const Hierarchy *h, HierarchyPathWalk *w, int32 p);

#endif							/* TERRITORY_H */
