/*
 * inflight.h
 *		The owners load balancing gave on a Citus cluster to records not visible yet (inflight.c).
 */
#ifndef TERRITORY_INFLIGHT_H
#define TERRITORY_INFLIGHT_H

#include "postgres.h"

/* the longest record key load balancing on a cluster remembers, with its terminating zero */
#define INFLIGHT_KEY 256

/* A committed group a pick looks for: member (an index), its count and its last record. */
typedef struct InflightCheck
{
	int			group;
	uint64		generation;
	int32		member;
	int64		count;
	char		key[INFLIGHT_KEY];
} InflightCheck;

extern void InflightInit(void);
extern void InflightPickBegin(int32 territory, const char *xact);
extern void InflightPickEnd(void);
extern int	InflightCollect(Oid relid, int32 territory, const int32 *user_ids, int32 n, int64 *counts,
							InflightCheck **checks);
extern void InflightSeen(const InflightCheck *check);
extern void InflightAdd(Oid relid, int32 territory, int32 user_id, const char *key, const char *xact);

#endif							/* TERRITORY_INFLIGHT_H */
