/*
 * turns.h
 *		The turn counters of the territories that assign owners, in shared memory (turns.c).
 */
#ifndef TERRITORY_TURNS_H
#define TERRITORY_TURNS_H

#include "utils/relcache.h"

extern void TurnsInit(void);
extern int64 TurnTake(Relation rel, Relation irel, int32 territory, int *pin);
extern void TurnWritten(int pin);

#endif							/* TERRITORY_TURNS_H */
