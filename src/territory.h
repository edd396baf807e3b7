/*
 * territory.h
 *		Declarations shared by the components of the territory extension.
 *
 * Components (one C file each):
 *		territory.c		module initialisation, cache invalidation signals
 *		hierarchy.c		the per-backend hierarchy cache and the hierarchy functions
 *		cycles.c		the check that keeps every hierarchy a forest
 */
#ifndef TERRITORY_H
#define TERRITORY_H

#include "postgres.h"

#include "compat.h"

/* The extension's schema: fixed, the extension is not relocatable. */
#define TERRITORY_SCHEMA "territory"

/*
 * Signal relations.  A configuration change does not invalidate the relcache entry of the table
 * it changed (that would throw away every cached plan that reads the table); a statement trigger
 * instead sends a relcache invalidation for a small relation that nothing queries, one per cache,
 * and the relcache callback marks that cache stale in every backend, including standbys.
 */
#define HIERARCHY_SIGNAL "hierarchy_signal"

extern Oid	TerritoryRelid(const char *relname);

/* hierarchy.c */
extern void HierarchyRelcacheCallback(Oid relid);

#endif							/* TERRITORY_H */
