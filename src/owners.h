/*
 * owners.h
 *		Owner assignment by round robin or load balancing (owners.c).
 */
#ifndef TERRITORY_OWNERS_H
#define TERRITORY_OWNERS_H

#include "utils/relcache.h"

#include "matcher.h"

extern char *OwnerChoose(Relation rel, const ManagedTable *t, const int32 *ids, int32 n, const char *key);

#endif							/* TERRITORY_OWNERS_H */
