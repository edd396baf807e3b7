/*
 * matcher.h
 *		The rule matcher (matcher.c), shared with the assignment triggers (assign.c).
 */
#ifndef TERRITORY_MATCHER_H
#define TERRITORY_MATCHER_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "nodes/execnodes.h"

/* What territory.managed_tables says of a table. */
typedef struct ManagedTable
{
	char		kind;			/* 'a'ccount, 'l'ead, 'c'ontact, 'd'eal */
	AttrNumber	key_attno;
	AttrNumber	territory_attno;	/* territories int4[] (deals: territory_id int4) */
	Oid			key_type;
	FmgrInfo	key_out;		/* the key type's output function */
	/* the owner column (InvalidAttrNumber: none), and how to make its value from a user key */
	AttrNumber	owner_attno;
	char	   *owner_column;
	char	   *stage_column;	/* deals: the stage column (load balancing counts open deals) */
	FmgrInfo	owner_in;
	Oid			owner_ioparam;
	int32		owner_typmod;
	/* contacts and deals: the column naming the account, and how to read its territories */
	AttrNumber	account_attno;
	Oid			account_type;
	void	   *account_plan;	/* SPIPlanPtr: SELECT territories FROM accounts WHERE key = $1 */
	/* accounts: the contact and deal tables that follow them, and how to reassign those */
	int32		ndependents;
	void	  **dependent_plans;	/* SPIPlanPtr: UPDATE dep SET acc = acc WHERE acc = $1 */
	Oid		   *dependent_relids;	/* the tables those plans update */
} ManagedTable;

typedef struct MatchRule
{
	int32		id;
	int32		territory;		/* index into the matcher's territories */
	bool		apply_to_children;
	Node	   *expr;
	ExprState  *state;
	bool		exact;			/* indexed by a conjunct its probe checks exactly */
	int			probe_kind;		/* the kind of probe that indexes it */
	Node	   *residual_expr;	/* then: its other conjuncts, NULL when there are none */
	ExprState  *residual;
} MatchRule;

typedef struct MatchTerritory
{
	int32		id;
	int32		pos;			/* pre-order position and subtree end (hierarchy.c) */
	int32		last;
	int32		depth;
	int32		parent;
	int32		priority;		/* of its type; INT_MAX without a type */
	int32	   *own;			/* its rules (indexes) */
	int32		nown;
	int32		maxown;
	int32	   *inherited;		/* the apply_to_children rules of its ancestors */
	int32		ninherited;
} MatchTerritory;

typedef struct Matcher Matcher;

extern void MatcherRelcacheCallback(Oid relid);
extern Matcher *GetMatcher(Oid relid);
extern Matcher *GetMatcherFor(Oid relid, int32 model);
extern const ManagedTable *MatcherTable(Matcher *m);
extern char MatcherPolicy(Matcher *m);
extern bool MatcherReadsChanged(Matcher *m, TupleTableSlot *oldslot, TupleTableSlot *newslot);
extern int32 MatchRecord(Matcher *m, TupleTableSlot *slot, int32 **out, int32 **causes);
extern bool MatcherTerritory(Matcher *m, int32 territory_id, const MatchTerritory **t);
extern const MatchRule *MatcherRule(Matcher *m, int32 index);
extern int32 MatcherRuleCount(Matcher *m);
extern bool MatcherEvaluate(Matcher *m, TupleTableSlot *slot, int32 index);

/* rules.c */
extern Node *CompileCriteria(Oid relid, const char *criteria, const char *managed_column);

#endif							/* TERRITORY_MATCHER_H */
