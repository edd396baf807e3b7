/*
 * matcher.c
 *		The rule matcher: for a record of a managed table, the territories whose rules it meets.
 *
 * A matcher is compiled per backend and managed table from the active model's rules on that
 * table.  Each rule's criteria (a boolean expression, see rules.c) is planned and readied for
 * the executor once.  To avoid evaluating every rule for every record, one conjunct of each
 * rule's top-level AND is put in an index when it has a simple shape:
 *
 *		column = constant, column IN (constants)	by the hash of the value (sorted, binary search)
 *		column LIKE 'prefix%'						by the hash of the prefix, per prefix length
 *		column IS NULL								a list per column
 *		column < <= > >= constant (and BETWEEN)		by the bound, sorted
 *
 * For a record the matcher probes each index with the record's value and collects the candidate
 * rules, adds the rules that have no indexable conjunct, and lets the executor evaluate the whole
 * criteria of each candidate: the index only narrows, it never decides, so false candidates
 * (hash collisions, a range whose other conjuncts fail) cost one evaluation and nothing else.
 *
 * A territory matches when one of its own rules matches and so does every rule its ancestors
 * mark apply_to_children (evaluated on demand, each at most once per record).  The model's
 * policy then keeps the deepest match of each branch (default), all matches, or the matches of
 * the best territory type.
 *
 * Matchers are thrown away when rules, territories, models or managed tables change (the
 * matcher signal, and the hierarchy signal they are built on), or when the table itself is
 * altered (its own relcache invalidation), and compiled again on next use.
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "territory.h"
#include "matcher.h"

typedef enum ProbeKind
{
	PROBE_EQ,					/* hash of the value */
	PROBE_PREFIX,				/* hash of a prefix of the value, per length */
	PROBE_NULL,					/* the value is NULL */
	PROBE_LOWER,				/* value >= bound (or >) */
	PROBE_UPPER					/* value <= bound (or <) */
} ProbeKind;

/* An index entry: a key (hash or prefix length and hash) or a bound, and the rule. */
typedef struct ProbeEntry
{
	uint32		hash;
	int32		len;			/* PROBE_PREFIX: prefix length in bytes */
	Datum		bound;			/* PROBE_LOWER, PROBE_UPPER; PROBE_EQ: the value; PROBE_PREFIX:
								 * the prefix's bytes */
	int32		rule;
	int32		gate;			/* a rule the entry's rule needs (inherited) that the equality probes
								 * decide, or -1: not a candidate when that one is not */
} ProbeEntry;

/*
 * One index: all entries of one kind on one column with one support function and collation.
 * Entries are sorted (by len and hash, or by bound) for binary search.
 */
typedef struct Probe
{
	ProbeKind	kind;
	AttrNumber	attno;
	Oid			collation;
	FmgrInfo	fn;				/* hash function, or btree comparison */
	FmgrInfo	eq;				/* PROBE_EQ: equality, to rule out hash collisions */
	int32		nentries;
	int32		maxentries;
	ProbeEntry *entries;
	int32		nlens;			/* PROBE_PREFIX: the distinct prefix lengths, ascending */
	int32	   *lens;
	/* PROBE_EQ, PROBE_PREFIX: open addressing on (len, hash) -> first entry of its run; -1 empty */
	uint32		mask;
	int32	   *slots;
} Probe;

/*
 * Compiling indexes one conjunct per rule, the one whose key the fewest rules share: a first
 * pass counts how many rules each key (or range probe) would carry, a second prices each rule's
 * conjuncts by their most crowded key, a third adds the cheapest.
 */
typedef enum IndexMode
{
	INDEX_ADD,
	INDEX_COUNT,
	INDEX_COST
} IndexMode;

typedef struct KeyCount
{
	int32		probe;			/* index into probes */
	int32		len;
	uint32		hash;
	int64		count;
} KeyCount;

struct Matcher
{
	MemoryContext cxt;
	IndexMode	mode;
	bool		exact;			/* the conjunct IndexConjunct just indexed is checked exactly */
	int			last_kind;		/* and the kind of probe it went into */
	HTAB	   *counts;			/* KeyCount, while compiling */
	int64		cost;
	Oid			relid;
	ManagedTable table;
	bool		valid;
	char		policy;

	int32		nrules;
	MatchRule  *rules;
	int32		nterritories;
	MatchTerritory *territories;

	int32		nprobes;
	Probe	   *probes;
	int32		nalways;		/* rules without an indexable conjunct */
	int32	   *always;

	/* subexpressions several always-evaluated rules share: computed once per record */
	int32		nshared;
	ExprState **shared;
	ParamExecData *shared_values;

	Bitmapset  *read_columns;	/* attnos (offset by FirstLowInvalidHeapAttributeNumber) */

	/* per-record scratch */
	ExprContext *econtext;
	uint32		stamp;
	uint32	   *candidate_stamp;	/* by rule */
	uint32	   *result_stamp;		/* by rule: result valid for this record */
	bool	   *indexed;			/* by rule: it has an index entry, so it holds only as a candidate */
	bool		probed;				/* the indexes were probed for the current record */
	bool	   *result;
	int32	   *candidates;
	int32	   *matched;			/* territory indexes */
	uint32	   *territory_stamp;
	int32	   *territory_rule;	/* the rule that matched it (index), for this stamp */
};

static HTAB *matchers = NULL;	/* relid -> Matcher * */
static uint64 matcher_invalidations = 0;	/* counts the callbacks that concern matchers */
static Oid	matcher_signal = InvalidOid;

/* Matchers are kept per table and model: the active one, and any model being previewed. */
typedef struct MatcherKey
{
	Oid			relid;
	int32		model;
} MatcherKey;

typedef struct MatcherEntry
{
	MatcherKey	key;
	Matcher    *matcher;
} MatcherEntry;

void
MatcherRelcacheCallback(Oid relid)
{
	HASH_SEQ_STATUS seq;
	MatcherEntry *e;

	if (matchers == NULL)
		return;
	if (relid == InvalidOid || relid == matcher_signal || HierarchyIsSignal(relid))
		matcher_invalidations++;
	hash_seq_init(&seq, matchers);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->matcher != NULL &&
			(relid == InvalidOid || relid == matcher_signal || HierarchyIsSignal(relid) ||
			 relid == e->key.relid))
			e->matcher->valid = false;
}

/* ---------------------------------------------------------------- compiling */

static Probe *
GetProbe(Matcher *m, ProbeKind kind, AttrNumber attno, Oid collation, Oid fnoid)
{
	Probe	   *p;
	int32		i;

	for (i = 0; i < m->nprobes; i++)
	{
		p = &m->probes[i];
		if (p->kind == kind && p->attno == attno && p->collation == collation &&
			(fnoid == InvalidOid || p->fn.fn_oid == fnoid))
			return p;
	}
	m->probes = repalloc(m->probes, sizeof(Probe) * (m->nprobes + 1));
	p = &m->probes[m->nprobes++];
	memset(p, 0, sizeof(Probe));
	p->kind = kind;
	p->attno = attno;
	p->collation = collation;
	if (OidIsValid(fnoid))
		fmgr_info_cxt(fnoid, &p->fn, m->cxt);
	p->maxentries = 8;
	p->entries = palloc(sizeof(ProbeEntry) * p->maxentries);
	return p;
}

static void
AddEntry(Matcher *m, Probe *p, uint32 hash, int32 len, Datum bound, int32 rule)
{
	ProbeEntry *e;

	if (m->mode != INDEX_ADD)
	{
		KeyCount	key;
		KeyCount   *kc;
		bool		found;

		/* range and null probes are priced as a whole: every such entry may be a candidate */
		memset(&key, 0, sizeof(key));
		key.probe = p - m->probes;
		if (p->kind == PROBE_EQ || p->kind == PROBE_PREFIX)
		{
			key.len = len;
			key.hash = hash;
		}
		kc = hash_search(m->counts, &key, m->mode == INDEX_COUNT ? HASH_ENTER : HASH_FIND, &found);
		if (m->mode == INDEX_COUNT)
			kc->count = found ? kc->count + 1 : 1;
		else
			m->cost = Max(m->cost, kc ? kc->count : 0);
		return;
	}

	m->last_kind = p->kind;
	if (p->nentries == p->maxentries)
	{
		p->maxentries *= 2;
		p->entries = repalloc(p->entries, sizeof(ProbeEntry) * p->maxentries);
	}
	e = &p->entries[p->nentries++];
	e->hash = hash;
	e->len = len;
	e->bound = bound;
	e->rule = rule;
	e->gate = -1;
}

/* The column a side of an operator reads: a Var, possibly under a binary-compatible relabel. */
static Var *
ColumnOf(Node *node)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	return (node && IsA(node, Var)) ? (Var *) node : NULL;
}

static uint32
HashValue(FmgrInfo *fn, Oid collation, Datum value)
{
	return DatumGetUInt32(FunctionCall1Coll(fn, collation, value));
}

/* The literal prefix of a LIKE pattern ('abc' of 'abc%d_'), as a palloc'd string. */
static char *
LikePrefix(const char *pattern, int *len)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	for (p = pattern; *p; p++)
	{
		if (*p == '%' || *p == '_')
			break;
		if (*p == '\\')
		{
			p++;
			if (*p == '\0')
				break;
		}
		appendStringInfoChar(&buf, *p);
	}
	*len = buf.len;
	return buf.data;
}

/* Whether a LIKE pattern is a literal prefix followed by one final % and nothing else. */
static bool
LikePrefixOnly(const char *pattern)
{
	const char *p;

	for (p = pattern; *p; p++)
	{
		if (*p == '_')
			return false;
		if (*p == '%')
			return p[1] == '\0';
		if (*p == '\\' && *++p == '\0')
			return false;
	}
	return false;
}

/* The equality function of an equality probe (one per probe: same type, same operator). */
static void
SetEquality(Matcher *m, Probe *p, Oid fnoid)
{
	if (!OidIsValid(p->eq.fn_oid))
		fmgr_info_cxt(fnoid, &p->eq, m->cxt);
}

/*
 * Try to index conjunct clause of rule; true when it went into an index.  m->exact then says
 * whether a record the index names for it is sure to meet the conjunct.
 */
static bool
IndexConjunct(Matcher *m, int32 rule, Node *clause)
{
	if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;
		Var		   *var = ColumnOf((Node *) nt->arg);

		if (nt->nulltesttype != IS_NULL || nt->argisrow || var == NULL)
			return false;
		AddEntry(m, GetProbe(m, PROBE_NULL, var->varattno, InvalidOid, InvalidOid), 0, 0, 0, rule);
		m->exact = true;
		return true;
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		Node	   *left = linitial(sa->args);
		Node	   *right = lsecond(sa->args);
		Var		   *var = ColumnOf(left);
		TypeCacheEntry *tc;
		ArrayType  *arr;
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;
		int			i;
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Probe	   *p;

		if (!sa->useOr || var == NULL || !IsA(right, Const) || ((Const *) right)->constisnull)
			return false;
		tc = lookup_type_cache(exprType(left), TYPECACHE_EQ_OPR | TYPECACHE_HASH_PROC);
		if (sa->opno != tc->eq_opr || !OidIsValid(tc->hash_proc))
			return false;
		arr = DatumGetArrayTypeP(((Const *) right)->constvalue);
		get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
		if (ARR_ELEMTYPE(arr) != exprType(left))
			return false;
		deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &elems, &nulls, &nelems);
		p = GetProbe(m, PROBE_EQ, var->varattno, sa->inputcollid, tc->hash_proc);
		SetEquality(m, p, sa->opfuncid);
		for (i = 0; i < nelems; i++)
			if (!nulls[i])
				AddEntry(m, p, HashValue(&p->fn, p->collation, elems[i]), 0,
						 m->mode == INDEX_ADD ? datumCopy(elems[i], typbyval, typlen) : 0, rule);
		m->exact = true;
		return true;
	}
	if (IsA(clause, OpExpr) && list_length(((OpExpr *) clause)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) clause;
		Node	   *left = linitial(op->args);
		Node	   *right = lsecond(op->args);
		Oid			opno = op->opno;
		Var		   *var;
		Const	   *c;
		Oid			coltype;
		TypeCacheEntry *tc;
		List	   *interpretations;
		ListCell   *lc;

		if (ColumnOf(left) == NULL && ColumnOf(right) != NULL)
		{
			/* constant on the left: commute */
			Node	   *tmp = left;

			opno = get_commutator(opno);
			if (!OidIsValid(opno))
				return false;
			left = right;
			right = tmp;
		}
		var = ColumnOf(left);
		if (var == NULL || !IsA(right, Const) || ((Const *) right)->constisnull)
			return false;
		c = (Const *) right;
		coltype = exprType(left);

		/* LIKE 'prefix%' on text */
		if (opno == OID_TEXT_LIKE_OP && c->consttype == TEXTOID)
		{
			int			len;
			char	   *prefix = LikePrefix(TextDatumGetCString(c->constvalue), &len);
			Probe	   *p;

			if (len == 0)
				return false;
			/* LIKE compares bytes (it refuses nondeterministic collations) */
			p = GetProbe(m, PROBE_PREFIX, var->varattno, op->inputcollid, F_HASHTEXT);
			AddEntry(m, p, hash_bytes((const unsigned char *) prefix, len), len,
					 m->mode == INDEX_ADD ? PointerGetDatum(MemoryContextStrdup(m->cxt, prefix)) : 0,
					 rule);
			m->exact = LikePrefixOnly(TextDatumGetCString(c->constvalue));
			return true;
		}
		if (c->consttype != coltype)
			return false;

		tc = lookup_type_cache(coltype, TYPECACHE_EQ_OPR | TYPECACHE_HASH_PROC |
							   TYPECACHE_BTREE_OPFAMILY | TYPECACHE_CMP_PROC);
		if (opno == tc->eq_opr && OidIsValid(tc->hash_proc))
		{
			Probe	   *p = GetProbe(m, PROBE_EQ, var->varattno, op->inputcollid, tc->hash_proc);

			SetEquality(m, p, get_opcode(opno));
			AddEntry(m, p, HashValue(&p->fn, p->collation, c->constvalue), 0,
					 m->mode == INDEX_ADD ? datumCopy(c->constvalue, c->constbyval, c->constlen) : 0,
					 rule);
			m->exact = true;
			return true;
		}
		if (!OidIsValid(tc->btree_opf) || !OidIsValid(tc->cmp_proc))
			return false;
		interpretations = TerritoryOpInterpretations(opno);
		foreach(lc, interpretations)
		{
			TerritoryOpInterpretation *bi = lfirst(lc);
			int			strategy = TerritoryOpStrategy(bi);
			ProbeKind	kind;
			Probe	   *p;

			if (bi->opfamily_id != tc->btree_opf || bi->oplefttype != coltype ||
				bi->oprighttype != coltype)
				continue;
			if (strategy == BTGreaterStrategyNumber || strategy == BTGreaterEqualStrategyNumber)
				kind = PROBE_LOWER;
			else if (strategy == BTLessStrategyNumber || strategy == BTLessEqualStrategyNumber)
				kind = PROBE_UPPER;
			else
				continue;
			p = GetProbe(m, kind, var->varattno, op->inputcollid, tc->cmp_proc);
			AddEntry(m, p, 0, 0,
					 m->mode == INDEX_ADD ? datumCopy(c->constvalue, c->constbyval, c->constlen) : 0,
					 rule);
			/* the probe lets the bound itself through: exact for >= and <= only */
			m->exact = strategy == BTGreaterEqualStrategyNumber ||
				strategy == BTLessEqualStrategyNumber;
			return true;
		}
	}
	return false;
}

/* Which conjunct of a rule indexes best: equality first, then prefix, null, ranges. */
static int
ConjunctRank(Node *clause)
{
	if (IsA(clause, ScalarArrayOpExpr))
		return 1;
	if (IsA(clause, OpExpr))
	{
		Oid			opno = ((OpExpr *) clause)->opno;

		if (opno == OID_TEXT_LIKE_OP)
			return 2;
		if (get_oprrest(opno) == F_EQSEL)
			return 0;
		return 4;
	}
	if (IsA(clause, NullTest))
		return 3;
	return 5;
}

/* Count the keys of every indexable conjunct of every rule (first pass). */
static void
CountRuleKeys(Matcher *m, int32 rule, Node *expr)
{
	ListCell   *lc;

	m->mode = INDEX_COUNT;
	foreach(lc, make_ands_implicit((Expr *) expr))
		(void) IndexConjunct(m, rule, lfirst(lc));
	m->mode = INDEX_ADD;
}

/* Index the conjunct of a rule whose key the fewest rules share; ties go by shape. */
static void
IndexRule(Matcher *m, int32 rule, Node *expr)
{
	List	   *conjuncts = make_ands_implicit((Expr *) expr);
	Node	   *best = NULL;
	int64		bestcost = PG_INT64_MAX;
	int			bestrank = INT_MAX;
	ListCell   *lc;

	foreach(lc, conjuncts)
	{
		Node	   *clause = lfirst(lc);
		int			rank = ConjunctRank(clause);

		m->mode = INDEX_COST;
		m->cost = 0;
		if (IndexConjunct(m, rule, clause) &&
			(m->cost < bestcost || (m->cost == bestcost && rank < bestrank)))
		{
			best = clause;
			bestcost = m->cost;
			bestrank = rank;
		}
	}
	m->mode = INDEX_ADD;
	m->exact = false;
	if (best != NULL && IndexConjunct(m, rule, best))
	{
		m->indexed[rule] = true;
		m->rules[rule].probe_kind = m->last_kind;
		if (m->exact)
		{
			/* a candidate meets the indexed conjunct: only the others are left to evaluate */
			List	   *rest = list_delete_ptr(list_copy(conjuncts), best);

			m->rules[rule].residual_expr = rest == NIL ? NULL : (Node *) make_ands_explicit(rest);
			m->rules[rule].exact = true;
		}
		return;
	}
	m->always = repalloc(m->always, sizeof(int32) * (m->nalways + 1));
	m->always[m->nalways++] = rule;
}

/*
 * Common subexpressions.  Rules no index serves are evaluated for every record; when several of
 * them compute the same thing (lower(name) in a hundred name patterns), it is computed once per
 * record into an executor parameter that the rules read instead.
 */
typedef struct SubexprCount
{
	Node	   *expr;
	int32		count;
} SubexprCount;

typedef struct SubexprBucket
{
	uint32		hash;			/* hash key: ExprHash */
	List	   *counts;			/* SubexprCount of the expressions with that hash */
} SubexprBucket;

typedef struct SubexprContext
{
	HTAB	   *buckets;		/* while counting */
	List	   *shared;			/* the shared ones: param id = position */
} SubexprContext;

/* A structural hash of an expression that equal() expressions share (locations left out). */
static bool
ExprHashWalker(Node *node, uint32 *h)
{
	if (node == NULL)
		return false;
	*h = hash_combine(*h, (uint32) nodeTag(node));
	switch (nodeTag(node))
	{
		case T_Var:
			*h = hash_combine(*h, (uint32) ((Var *) node)->varattno);
			break;
		case T_FuncExpr:
			*h = hash_combine(*h, ((FuncExpr *) node)->funcid);
			break;
		case T_OpExpr:
			*h = hash_combine(*h, ((OpExpr *) node)->opno);
			break;
		case T_Const:
			{
				Const	   *c = (Const *) node;

				*h = hash_combine(*h, c->consttype);
				if (c->constisnull)
					break;
				if (c->constbyval)
					*h = hash_combine(*h, (uint32) c->constvalue);
				else if (c->constlen == -1 && !VARATT_IS_EXTENDED(DatumGetPointer(c->constvalue)))
					*h = hash_combine(*h, hash_bytes((const unsigned char *) VARDATA(DatumGetPointer(c->constvalue)),
													 VARSIZE(DatumGetPointer(c->constvalue)) - VARHDRSZ));
				break;
			}
		default:
			break;
	}
	return expression_tree_walker(node, ExprHashWalker, h);
}

/* Whether a node is worth sharing: a computation over the record's columns. */
static bool
Shareable(Node *node)
{
	return node != NULL && !IsA(node, Var) && !IsA(node, Const) && !IsA(node, Param) &&
		!IsA(node, RelabelType) && !IsA(node, BoolExpr) && contain_var_clause(node);
}

static bool
CountSubexprs(Node *node, SubexprContext *cx)
{
	ListCell   *lc;

	if (node == NULL)
		return false;
	if (Shareable(node))
	{
		uint32		h = 0;
		bool		found;
		SubexprBucket *b;

		(void) ExprHashWalker(node, &h);
		b = hash_search(cx->buckets, &h, HASH_ENTER, &found);
		if (!found)
			b->counts = NIL;
		foreach(lc, b->counts)
		{
			SubexprCount *sc = lfirst(lc);

			if (equal(sc->expr, node))
			{
				sc->count++;
				break;
			}
		}
		if (lc == NULL)
		{
			SubexprCount *sc = palloc(sizeof(SubexprCount));

			sc->expr = node;
			sc->count = 1;
			b->counts = lappend(b->counts, sc);
		}
	}
	return expression_tree_walker(node, CountSubexprs, cx);
}

static Node *
ReplaceShared(Node *node, SubexprContext *cx)
{
	ListCell   *lc;

	if (node == NULL)
		return NULL;
	foreach(lc, cx->shared)
	{
		Node	   *e = lfirst(lc);

		if (equal(e, node))
		{
			Param	   *p = makeNode(Param);

			p->paramkind = PARAM_EXEC;
			p->paramid = foreach_current_index(lc);
			p->paramtype = exprType(e);
			p->paramtypmod = exprTypmod(e);
			p->paramcollid = exprCollation(e);
			p->location = -1;
			return (Node *) p;
		}
	}
	return expression_tree_mutator(node, ReplaceShared, cx);
}

/* Find the subexpressions always-evaluated rules share, and ready every rule's expressions. */
static void
ShareSubexpressions(Matcher *m)
{
	SubexprContext cx = {NULL, NIL};
	HASHCTL		ctl;
	HASH_SEQ_STATUS seq;
	SubexprBucket *b;
	ListCell   *lc;
	int32		i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(SubexprBucket);
	ctl.hcxt = CurrentMemoryContext;
	cx.buckets = hash_create("territory matcher subexpressions", Max(m->nalways * 4, 16), &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < m->nalways; i++)
		(void) CountSubexprs(m->rules[m->always[i]].expr, &cx);
	hash_seq_init(&seq, cx.buckets);
	while ((b = hash_seq_search(&seq)) != NULL)
		foreach(lc, b->counts)
		{
			SubexprCount *sc = lfirst(lc);

			if (sc->count >= 2)
				cx.shared = lappend(cx.shared, sc->expr);
		}
	hash_destroy(cx.buckets);
	m->nshared = list_length(cx.shared);
	m->shared = palloc(sizeof(ExprState *) * Max(m->nshared, 1));
	m->shared_values = palloc0(sizeof(ParamExecData) * Max(m->nshared, 1));
	foreach(lc, cx.shared)
		m->shared[foreach_current_index(lc)] = ExecInitExpr(lfirst(lc), NULL);
	for (i = 0; i < m->nrules; i++)
	{
		MatchRule  *r = &m->rules[i];

		r->state = ExecInitExpr((Expr *) ReplaceShared(r->expr, &cx), NULL);
		if (r->residual_expr != NULL)
			r->residual = ExecInitExpr((Expr *) ReplaceShared(r->residual_expr, &cx), NULL);
	}
}

/* The shared subexpressions of the record in econtext. */
static void
EvaluateShared(Matcher *m)
{
	int32		i;

	for (i = 0; i < m->nshared; i++)
		m->shared_values[i].value = ExecEvalExprSwitchContext(m->shared[i], m->econtext,
															   &m->shared_values[i].isnull);
}

static Probe *sort_probe;

static int
CompareEntries(const void *a, const void *b)
{
	const ProbeEntry *x = a;
	const ProbeEntry *y = b;

	switch (sort_probe->kind)
	{
		case PROBE_LOWER:
		case PROBE_UPPER:
			{
				int32		c = DatumGetInt32(FunctionCall2Coll(&sort_probe->fn, sort_probe->collation,
																x->bound, y->bound));

				/* lower bounds ascending, upper bounds descending */
				return sort_probe->kind == PROBE_LOWER ? c : -c;
			}
		default:
			if (x->len != y->len)
				return x->len < y->len ? -1 : 1;
			if (x->hash != y->hash)
				return x->hash < y->hash ? -1 : 1;
			return x->rule - y->rule;
	}
}

/*
 * Gates.  A postal-prefix rule of a district is a candidate for every record with that prefix, in
 * every country; its country comes from an inherited rule.  When a rule's territory inherits a
 * rule decided by an equality or NULL probe alone (indexed, exact, nothing else to evaluate), the
 * other probes skip the entry unless that rule is a candidate: it cannot match otherwise.  The
 * equality and NULL probes run first.
 */
static bool
DecidedByFirstProbes(Matcher *m, int32 rule)
{
	MatchRule  *r = &m->rules[rule];

	return m->indexed[rule] && r->exact && r->residual_expr == NULL &&
		(r->probe_kind == PROBE_EQ || r->probe_kind == PROBE_NULL);
}

static int
CompareProbeOrder(const void *a, const void *b)
{
	int			x = ((const Probe *) a)->kind == PROBE_EQ || ((const Probe *) a)->kind == PROBE_NULL ? 0 : 1;
	int			y = ((const Probe *) b)->kind == PROBE_EQ || ((const Probe *) b)->kind == PROBE_NULL ? 0 : 1;

	return x - y;
}

static void
SetGates(Matcher *m)
{
	int32		i,
				j,
				k;

	for (i = 0; i < m->nprobes; i++)
	{
		Probe	   *p = &m->probes[i];

		if (p->kind == PROBE_EQ || p->kind == PROBE_NULL)
			continue;
		for (j = 0; j < p->nentries; j++)
		{
			MatchTerritory *t = &m->territories[m->rules[p->entries[j].rule].territory];

			for (k = 0; k < t->ninherited; k++)
				if (DecidedByFirstProbes(m, t->inherited[k]))
				{
					p->entries[j].gate = t->inherited[k];
					break;
				}
		}
	}
	/* equality and NULL probes first (qsort is not stable: order does not matter otherwise) */
	qsort(m->probes, m->nprobes, sizeof(Probe), CompareProbeOrder);
}

static inline uint32
SlotOf(int32 len, uint32 hash)
{
	return hash ^ ((uint32) len * 0x9e3779b9);
}

static void
SortProbes(Matcher *m)
{
	int32		i,
				j;

	for (i = 0; i < m->nprobes; i++)
	{
		Probe	   *p = &m->probes[i];

		sort_probe = p;
		qsort(p->entries, p->nentries, sizeof(ProbeEntry), CompareEntries);
		if (p->kind == PROBE_PREFIX)
		{
			p->lens = palloc(sizeof(int32) * p->nentries);
			for (j = 0; j < p->nentries; j++)
				if (p->nlens == 0 || p->lens[p->nlens - 1] != p->entries[j].len)
					p->lens[p->nlens++] = p->entries[j].len;
		}
		if (p->kind == PROBE_EQ || p->kind == PROBE_PREFIX)
		{
			uint32		size = 16;

			while (size < (uint32) p->nentries * 2)
				size *= 2;
			p->mask = size - 1;
			p->slots = palloc(sizeof(int32) * size);
			memset(p->slots, -1, sizeof(int32) * size);
			for (j = 0; j < p->nentries; j++)
			{
				ProbeEntry *e = &p->entries[j];
				uint32		h;

				if (j > 0 && e->len == e[-1].len && e->hash == e[-1].hash)
					continue;	/* not the first of its run */
				for (h = SlotOf(e->len, e->hash) & p->mask; p->slots[h] >= 0; h = (h + 1) & p->mask)
					;
				p->slots[h] = j;
			}
		}
	}
}

/*
 * The stored expression of a rule, checked against the table as it is now; compiled again from
 * the criteria when a column it reads changed type or went away.
 */
static Node *
LoadRuleExpr(Relation rel, int32 rule_id, const char *stored, const char *criteria,
			 const char *managed_column)
{
	Node	   *expr = stringToNode(stored);
	List	   *vars = pull_var_clause(expr, 0);
	ListCell   *lc;

	foreach(lc, vars)
	{
		Var		   *var = lfirst(lc);
		Form_pg_attribute attr;

		if (var->varattno <= 0 || var->varattno > RelationGetDescr(rel)->natts)
			break;
		attr = TupleDescAttr(RelationGetDescr(rel), var->varattno - 1);
		if (attr->attisdropped || attr->atttypid != var->vartype ||
			attr->atttypmod != var->vartypmod || attr->attcollation != var->varcollid)
			break;
	}
	if (lc == NULL)
		return expr;
	return CompileCriteria(RelationGetRelid(rel), criteria, managed_column);
}

static SPIPlanPtr
KeepPlan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * The managed table's settings, from territory.managed_tables; false when not managed.  relid
 * is the relation the rows are in: the table, or on a Citus cluster one of its shards, whose
 * account (contacts, deals) or contacts and deals (accounts) are in the co-located shards.
 */
static bool
LoadManagedTable(Oid relid, ManagedTable *t, MemoryContext cxt)
{
	Datum		arg = ObjectIdGetDatum(ConfigLogicalRelid(relid));
	Oid			argtype = OIDOID;
	bool		found;
	char	   *account_column = NULL;
	uint64		i;

	if (SPI_execute_with_args(psprintf("SELECT kind, key_column, territory_column, account_column, owner_column,"
									   " stage_column FROM %s WHERE tbl OPERATOR(pg_catalog.=) $1",
									   ConfigTable("managed_tables")),
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read territory.managed_tables");
	found = SPI_processed == 1;
	if (!found)
		return false;
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *kind = SPI_getvalue(tup, desc, 1);

		t->kind = kind[0];		/* a, l, c, d */
		t->key_attno = get_attnum(relid, SPI_getvalue(tup, desc, 2));
		t->territory_attno = get_attnum(relid, SPI_getvalue(tup, desc, 3));
		if (t->kind == 'c' || t->kind == 'd')
		{
			account_column = SPI_getvalue(tup, desc, 4);
			t->account_attno = account_column ? get_attnum(relid, account_column) : InvalidAttrNumber;
			if (t->account_attno == InvalidAttrNumber)
				t->territory_attno = InvalidAttrNumber;		/* reported below */
		}
		if (t->key_attno == InvalidAttrNumber || t->territory_attno == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("a column that territory.manage_table() recorded for %s is missing",
							get_rel_name(relid)),
					 errhint("Manage the table again with territory.manage_table().")));
		t->key_type = get_atttype(relid, t->key_attno);
		{
			Oid			outfn;
			bool		varlena;

			getTypeOutputInfo(t->key_type, &outfn, &varlena);
			fmgr_info_cxt(outfn, &t->key_out, cxt);
		}
		/* the owner column, which owner assignment writes, and the stage column it counts by */
		{
			char	   *owner_column = SPI_getvalue(tup, desc, 5);
			char	   *stage_column = SPI_getvalue(tup, desc, 6);

			t->owner_attno = owner_column ? get_attnum(relid, owner_column) : InvalidAttrNumber;
			t->stage_column = stage_column ? MemoryContextStrdup(cxt, stage_column) : NULL;
			if (t->owner_attno != InvalidAttrNumber)
			{
				Oid			infn;
				Oid			type;
				Oid			coll;

				t->owner_column = MemoryContextStrdup(cxt, owner_column);
				get_atttypetypmodcoll(relid, t->owner_attno, &type, &t->owner_typmod, &coll);
				getTypeInputInfo(type, &infn, &t->owner_ioparam);
				fmgr_info_cxt(infn, &t->owner_in, cxt);
			}
		}
	}
	SPI_freetuptable(SPI_tuptable);

	if (t->kind == 'c' || t->kind == 'd')
	{
		/* the account's territories, by the account column's value */
		Oid			type = get_atttype(relid, t->account_attno);

		bool		isnull;

		if (SPI_execute(psprintf("SELECT m.tbl::pg_catalog.oid, m.territory_column, m.key_column FROM %s m"
								 " WHERE m.kind OPERATOR(pg_catalog.=) 'account'", ConfigTable("managed_tables")),
						true, 0) != SPI_OK_SELECT ||
			SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s takes its territories from an account table, and there is not exactly one",
							get_rel_name(ConfigLogicalRelid(relid)))));
		t->account_type = type;
		/* names fully qualified: a kept plan is parsed again under whatever search_path is current */
		t->account_plan = KeepPlan(psprintf("SELECT %s FROM %s WHERE %s OPERATOR(pg_catalog.=) $1",
											quote_identifier(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
											TerritoryRelationName(ConfigColocatedShard(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
																											  SPI_tuptable->tupdesc, 1, &isnull)),
																			   relid)),
											quote_identifier(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3))),
								   1, &type);
	}
	if (t->kind == 'a')
	{
		/* the contact and deal tables that follow this account table */
		if (SPI_execute_with_args(psprintf("SELECT m.tbl::pg_catalog.oid, m.account_column FROM %s m"
										   " WHERE m.kind OPERATOR(pg_catalog.=) ANY ('{contact,deal}')",
										   ConfigTable("managed_tables")),
								  0, NULL, NULL, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read territory.managed_tables");
		t->ndependents = SPI_processed;
		/* in the matcher's memory: SPI's goes at SPI_finish() */
		t->dependent_plans = MemoryContextAlloc(cxt, sizeof(void *) * Max(SPI_processed, 1));
		t->dependent_relids = MemoryContextAlloc(cxt, sizeof(Oid) * Max(SPI_processed, 1));
		{
			SPITupleTable *tt = SPI_tuptable;

			for (i = 0; i < tt->numvals; i++)
			{
				bool		isnull;
				Oid			dependent = DatumGetObjectId(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
				const char *account = quote_identifier(SPI_getvalue(tt->vals[i], tt->tupdesc, 2));

				t->dependent_relids[i] = ConfigColocatedShard(dependent, relid);
				/* the parameter is the account's key; the plan compares it across types if need be */
				t->dependent_plans[i] = KeepPlan(psprintf("UPDATE %s SET %s = %s WHERE %s OPERATOR(pg_catalog.=) $1",
														  TerritoryRelationName(t->dependent_relids[i]), account, account,
														  account),
												 1, &t->key_type);
			}
		}
	}
	return true;
}

static Matcher *
BuildMatcher(Oid relid, int32 model)
{
	const Hierarchy *h = HierarchyCurrent();
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "territory matcher",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Matcher    *m = palloc0(sizeof(Matcher));
	Relation	rel;
	Datum		arg = ObjectIdGetDatum(ConfigLogicalRelid(relid));	/* the rules name the table */
	Oid			argtype = OIDOID;
	HTAB	   *terr_index;
	HASHCTL		ctl;
	uint64		nrows;
	uint64		i;
	char	   *managed_column;

	m->cxt = cxt;
	m->relid = relid;
	m->policy = HierarchyModelPolicy(h, model);
	m->probes = palloc(sizeof(Probe));
	m->always = palloc(sizeof(int32));

	TerritoryConfigBegin();
	if (!LoadManagedTable(relid, &m->table, cxt))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not managed by territory", get_rel_name(ConfigLogicalRelid(relid))),
				 errhint("Manage it with territory.manage_table().")));
	rel = table_open(relid, AccessShareLock);
	managed_column = pstrdup(NameStr(TupleDescAttr(RelationGetDescr(rel),
												   m->table.territory_attno - 1)->attname));

	if (SPI_execute_with_args(psprintf("SELECT id, territory_id, expr, criteria, apply_to_children"
									   " FROM %s WHERE tbl OPERATOR(pg_catalog.=) $1 AND active"
									   " ORDER BY id", ConfigTable("rules")),
							  1, &argtype, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read territory.rules");
	nrows = SPI_processed;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(int32) * 2;
	ctl.hcxt = cxt;
	terr_index = hash_create("territory matcher territories", Max(nrows, 16), &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	MemoryContextSwitchTo(cxt);
	m->rules = palloc0(sizeof(MatchRule) * Max(nrows, 1));
	m->indexed = palloc0(sizeof(bool) * Max(nrows, 1));
	m->territories = palloc0(sizeof(MatchTerritory) * Max(nrows, 1));
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		rule_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		int32		territory_id = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		HierarchyNode node;
		MatchRule  *r;
		int32	   *te;
		bool		found;
		Node	   *expr;

		if (!HierarchyFind(h, territory_id, &node) || node.model != model)
			continue;			/* a rule of another model */
		expr = LoadRuleExpr(rel, rule_id, SPI_getvalue(tup, desc, 3), SPI_getvalue(tup, desc, 4),
							managed_column);
		r = &m->rules[m->nrules];
		r->id = rule_id;
		r->apply_to_children = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		/* constants folded (an IN list becomes an array constant the index can read) */
		r->expr = (Node *) expression_planner((Expr *) expr);
		pull_varattnos(r->expr, 1, &m->read_columns);

		te = hash_search(terr_index, &territory_id, HASH_ENTER, &found);
		if (!found)
		{
			MatchTerritory *t = &m->territories[m->nterritories];

			te[1] = m->nterritories++;
			t->id = territory_id;
			t->pos = node.pos;
			t->last = node.last;
			t->depth = node.depth;
			t->parent = node.parent;
			t->priority = node.type_priority;
			t->own = palloc(sizeof(int32) * 4);
			t->maxown = 4;
		}
		r->territory = te[1];
		{
			MatchTerritory *t = &m->territories[r->territory];

			if (t->nown == t->maxown)
			{
				t->maxown *= 2;
				t->own = repalloc(t->own, sizeof(int32) * t->maxown);
			}
			t->own[t->nown++] = m->nrules;
		}
		m->nrules++;
	}
	TerritoryConfigEnd();

	/* index one conjunct per rule: count every key, then pick each rule's least shared one */
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = offsetof(KeyCount, count);
	ctl.entrysize = sizeof(KeyCount);
	ctl.hcxt = CurrentMemoryContext;
	m->counts = hash_create("territory matcher key counts", Max(m->nrules * 2, 64), &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < (uint64) m->nrules; i++)
		CountRuleKeys(m, i, m->rules[i].expr);
	for (i = 0; i < (uint64) m->nrules; i++)
		IndexRule(m, i, m->rules[i].expr);
	hash_destroy(m->counts);
	m->counts = NULL;
	ShareSubexpressions(m);
	{
		/* drop the probes no rule ended up in */
		int32		k = 0;

		for (i = 0; i < (uint64) m->nprobes; i++)
			if (m->probes[i].nentries > 0)
				m->probes[k++] = m->probes[i];
		m->nprobes = k;
	}
	table_close(rel, NoLock);

	/* inherited rules: the apply_to_children rules of every ancestor that has rules */
	for (i = 0; i < (uint64) m->nterritories; i++)
	{
		MatchTerritory *t = &m->territories[i];
		int32		anc = t->parent;
		int32		ninh = 0;
		int32		maxinh = 4;

		t->inherited = palloc(sizeof(int32) * maxinh);
		while (anc != 0)
		{
			HierarchyNode node;
			int32	   *te = hash_search(terr_index, &anc, HASH_FIND, NULL);

			if (te != NULL)
			{
				MatchTerritory *a = &m->territories[te[1]];
				int32		k;

				for (k = 0; k < a->nown; k++)
					if (m->rules[a->own[k]].apply_to_children)
					{
						if (ninh == maxinh)
						{
							maxinh *= 2;
							t->inherited = repalloc(t->inherited, sizeof(int32) * maxinh);
						}
						t->inherited[ninh++] = a->own[k];
					}
			}
			if (!HierarchyFind(h, anc, &node))
				break;
			anc = node.parent;
		}
		t->ninherited = ninh;
	}

	if (m->table.kind == 'c' || m->table.kind == 'd')
		m->read_columns = bms_add_member(m->read_columns,
										 m->table.account_attno - FirstLowInvalidHeapAttributeNumber);
	SetGates(m);
	SortProbes(m);
	m->econtext = CreateStandaloneExprContext();
	m->econtext->ecxt_param_exec_vals = m->shared_values;
	m->candidate_stamp = palloc0(sizeof(uint32) * Max(m->nrules, 1));
	m->result_stamp = palloc0(sizeof(uint32) * Max(m->nrules, 1));
	m->result = palloc0(sizeof(bool) * Max(m->nrules, 1));
	m->candidates = palloc(sizeof(int32) * Max(m->nrules, 1));
	m->matched = palloc(sizeof(int32) * Max(m->nterritories, 1));
	m->territory_stamp = palloc0(sizeof(uint32) * Max(m->nterritories, 1));
	m->territory_rule = palloc0(sizeof(int32) * Max(m->nterritories, 1));
	m->valid = true;

	MemoryContextSwitchTo(old);
	return m;
}

static void
FreeMatcher(Matcher *m)
{
	int32		i;

	if (m->table.account_plan)
		SPI_freeplan(m->table.account_plan);
	for (i = 0; i < m->table.ndependents; i++)
		SPI_freeplan(m->table.dependent_plans[i]);
	FreeExprContext(m->econtext, false);
	MemoryContextDelete(m->cxt);
}

/*
 * GetMatcherFor
 *		The matcher of a managed table for a model, compiled first when there is none or it is
 *		stale.
 */
Matcher *
GetMatcherFor(Oid relid, int32 model)
{
	MatcherEntry *e;
	MatcherKey	key;
	bool		found;
	Matcher    *m;

	if (matchers == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(MatcherKey);
		ctl.entrysize = sizeof(MatcherEntry);
		ctl.hcxt = CacheMemoryContext;
		matchers = hash_create("territory matchers", 16, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.model = model;
	e = hash_search(matchers, &key, HASH_ENTER, &found);
	if (!found)
		e->matcher = NULL;
	if (e->matcher != NULL && e->matcher->valid)
		return e->matcher;

	matcher_signal = TerritoryRelid(MATCHER_SIGNAL);
	{
		TerritoryUser save;
		uint64		before = matcher_invalidations;

		TerritoryBecomeOwner(&save);
		m = BuildMatcher(relid, model);
		TerritoryRestoreUser(&save);
		/* a change that committed while it was built: good for this use, rebuilt on the next */
		if (matcher_invalidations != before)
			m->valid = false;
	}
	MemoryContextSetParent(m->cxt, CacheMemoryContext);
	/* the entry may have moved while building: look it up again */
	e = hash_search(matchers, &key, HASH_ENTER, &found);
	if (found && e->matcher != NULL)
		FreeMatcher(e->matcher);
	e->matcher = m;
	return m;
}

/* The matcher of a managed table for the active model. */
Matcher *
GetMatcher(Oid relid)
{
	return GetMatcherFor(relid, HierarchyActiveModel(HierarchyCurrent()));
}

const ManagedTable *
MatcherTable(Matcher *m)
{
	return &m->table;
}

/* Does an update change any column a rule reads? */
bool
MatcherReadsChanged(Matcher *m, TupleTableSlot *oldslot, TupleTableSlot *newslot)
{
	int			x = -1;

	while ((x = bms_next_member(m->read_columns, x)) >= 0)
	{
		AttrNumber	attno = x + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute attr = TupleDescAttr(newslot->tts_tupleDescriptor, attno - 1);
		bool		oldnull,
					newnull;
		Datum		oldval = slot_getattr(oldslot, attno, &oldnull);
		Datum		newval = slot_getattr(newslot, attno, &newnull);

		if (oldnull != newnull)
			return true;
		if (!oldnull && !datum_image_eq(oldval, newval, attr->attbyval, attr->attlen))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- matching */

static inline void
AddCandidate(Matcher *m, int32 *n, int32 rule)
{
	if (m->candidate_stamp[rule] != m->stamp)
	{
		m->candidate_stamp[rule] = m->stamp;
		m->candidates[(*n)++] = rule;
	}
}

/* First entry of a prefix/eq probe with (len, hash), or nentries when there is none. */
static int32
FindHash(Probe *p, int32 len, uint32 hash)
{
	uint32		h;

	for (h = SlotOf(len, hash) & p->mask; p->slots[h] >= 0; h = (h + 1) & p->mask)
	{
		ProbeEntry *e = &p->entries[p->slots[h]];

		if (e->hash == hash && e->len == len)
			return p->slots[h];
	}
	return p->nentries;
}

static void
ProbeValue(Matcher *m, Probe *p, TupleTableSlot *slot, int32 *n)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, p->attno, &isnull);
	int32		i;

	if (p->kind == PROBE_NULL)
	{
		if (isnull)
			for (i = 0; i < p->nentries; i++)
				AddCandidate(m, n, p->entries[i].rule);
		return;
	}
	if (isnull)
		return;					/* strict operators never hold for NULL */

	switch (p->kind)
	{
		case PROBE_EQ:
			{
				uint32		hash = HashValue(&p->fn, p->collation, value);

				for (i = FindHash(p, 0, hash); i < p->nentries && p->entries[i].hash == hash; i++)
					if (m->candidate_stamp[p->entries[i].rule] != m->stamp &&
						DatumGetBool(FunctionCall2Coll(&p->eq, p->collation, value,
													   p->entries[i].bound)))
						AddCandidate(m, n, p->entries[i].rule);
				break;
			}
		case PROBE_PREFIX:
			{
				text	   *t = DatumGetTextPP(value);
				const char *data = VARDATA_ANY(t);
				int32		len = VARSIZE_ANY_EXHDR(t);
				int32		k;

				for (k = 0; k < p->nlens && p->lens[k] <= len; k++)
				{
					int32		l = p->lens[k];
					uint32		hash = hash_bytes((const unsigned char *) data, l);

					for (i = FindHash(p, l, hash);
						 i < p->nentries && p->entries[i].len == l && p->entries[i].hash == hash; i++)
						if ((p->entries[i].gate < 0 || m->candidate_stamp[p->entries[i].gate] == m->stamp) &&
							memcmp(data, DatumGetPointer(p->entries[i].bound), l) == 0)
							AddCandidate(m, n, p->entries[i].rule);
				}
				break;
			}
		case PROBE_LOWER:
		case PROBE_UPPER:
			/* entries sorted so that the candidates are a prefix: bound <= value (lower) */
			for (i = 0; i < p->nentries; i++)
			{
				int32		c = DatumGetInt32(FunctionCall2Coll(&p->fn, p->collation,
															   p->entries[i].bound, value));

				if ((p->kind == PROBE_LOWER && c > 0) || (p->kind == PROBE_UPPER && c < 0))
					break;
				if (p->entries[i].gate < 0 || m->candidate_stamp[p->entries[i].gate] == m->stamp)
					AddCandidate(m, n, p->entries[i].rule);
			}
			break;
		default:
			break;
	}
}

/* Evaluate a rule for the record in econtext, at most once per record. */
static bool
RuleHolds(Matcher *m, int32 rule)
{
	if (m->result_stamp[rule] != m->stamp)
	{
		bool		isnull;
		Datum		d;

		m->result_stamp[rule] = m->stamp;
		/* an indexed rule that the probes did not name cannot hold: its indexed conjunct fails */
		if (m->probed && m->indexed[rule] && m->candidate_stamp[rule] != m->stamp)
			m->result[rule] = false;
		else if (m->probed && m->rules[rule].exact)
		{
			/* a candidate of an exact probe: its other conjuncts decide */
			ExprState  *residual = m->rules[rule].residual;

			d = residual ? ExecEvalExprSwitchContext(residual, m->econtext, &isnull) : BoolGetDatum(true);
			m->result[rule] = residual == NULL || (!isnull && DatumGetBool(d));
		}
		else
		{
			d = ExecEvalExprSwitchContext(m->rules[rule].state, m->econtext, &isnull);
			m->result[rule] = !isnull && DatumGetBool(d);
		}
	}
	return m->result[rule];
}

static bool
InheritedHold(Matcher *m, MatchTerritory *t)
{
	int32		k;

	for (k = 0; k < t->ninherited; k++)
		if (!RuleHolds(m, t->inherited[k]))
			return false;
	return true;
}

static Matcher *sort_matcher;

static int
CompareByPos(const void *a, const void *b)
{
	return sort_matcher->territories[*(const int32 *) a].pos -
		sort_matcher->territories[*(const int32 *) b].pos;
}

static int
CompareById(const void *a, const void *b)
{
	int32		x = sort_matcher->territories[*(const int32 *) a].id;
	int32		y = sort_matcher->territories[*(const int32 *) b].id;

	return (x > y) - (x < y);
}

/*
 * MatchRecord
 *		The territories (ids, ascending) that the rules give the record in slot, after the
 *		model's policy; returns their number, ids in *out (palloc'd in the current context).
 *		With causes, *causes gets for each territory the id of the first of its own rules (in
 *		rule order) that the record meets: why it is there.
 */
int32
MatchRecord(Matcher *m, TupleTableSlot *slot, int32 **out, int32 **causes)
{
	int32		ncand = 0;
	int32		nmatched = 0;
	int32		nkept = 0;
	int32		i;
	int32	   *ids;

	if (++m->stamp == 0)
	{
		/* wrapped: forget every stamp */
		memset(m->candidate_stamp, 0, sizeof(uint32) * Max(m->nrules, 1));
		memset(m->result_stamp, 0, sizeof(uint32) * Max(m->nrules, 1));
		memset(m->territory_stamp, 0, sizeof(uint32) * Max(m->nterritories, 1));
		m->stamp = 1;
	}
	ResetExprContext(m->econtext);
	m->econtext->ecxt_scantuple = slot;
	m->probed = false;
	EvaluateShared(m);

	for (i = 0; i < m->nprobes; i++)
		ProbeValue(m, &m->probes[i], slot, &ncand);
	for (i = 0; i < m->nalways; i++)
		AddCandidate(m, &ncand, m->always[i]);
	m->probed = true;

	for (i = 0; i < ncand; i++)
	{
		int32		rule = m->candidates[i];
		int32		ti = m->rules[rule].territory;
		MatchTerritory *t = &m->territories[ti];

		if (m->territory_stamp[ti] == m->stamp)
			continue;			/* already matched */
		/* inherited rules first: they are shared, memoized, and often fail */
		if (InheritedHold(m, t) && RuleHolds(m, rule))
		{
			m->territory_stamp[ti] = m->stamp;
			m->territory_rule[ti] = rule;
			m->matched[nmatched++] = ti;
		}
	}

	if (m->policy == 'd' && nmatched > 1)
	{
		/* deepest per branch: drop a match with a matched descendant (the next one in pre-order) */
		sort_matcher = m;
		qsort(m->matched, nmatched, sizeof(int32), CompareByPos);
		for (i = 0; i < nmatched; i++)
		{
			MatchTerritory *t = &m->territories[m->matched[i]];

			if (i + 1 < nmatched && m->territories[m->matched[i + 1]].pos <= t->last)
				continue;
			m->matched[nkept++] = m->matched[i];
		}
		nmatched = nkept;
	}
	else if (m->policy == 'p' && nmatched > 1)
	{
		int32		best = INT_MAX;

		for (i = 0; i < nmatched; i++)
			best = Min(best, m->territories[m->matched[i]].priority);
		for (i = 0; i < nmatched; i++)
			if (m->territories[m->matched[i]].priority == best)
				m->matched[nkept++] = m->matched[i];
		nmatched = nkept;
	}

	/* ascending territory ids */
	sort_matcher = m;
	qsort(m->matched, nmatched, sizeof(int32), CompareById);
	ids = palloc(sizeof(int32) * Max(nmatched, 1));
	for (i = 0; i < nmatched; i++)
		ids[i] = m->territories[m->matched[i]].id;
	*out = ids;
	if (causes != NULL)
	{
		int32	   *rules = palloc(sizeof(int32) * Max(nmatched, 1));

		for (i = 0; i < nmatched; i++)
		{
			MatchTerritory *t = &m->territories[m->matched[i]];
			int32		rule = m->territory_rule[m->matched[i]];
			int32		k;

			/* an earlier own rule that holds too is the cause (memoized, mostly known false) */
			for (k = 0; k < t->nown && t->own[k] < rule; k++)
				if (RuleHolds(m, t->own[k]))
				{
					rule = t->own[k];
					break;
				}
			rules[i] = m->rules[rule].id;
		}
		*causes = rules;
	}
	return nmatched;
}

/* For explain(): the matcher's view of one territory; false when it has no rules. */
bool
MatcherTerritory(Matcher *m, int32 territory_id, const MatchTerritory **t)
{
	int32		i;

	for (i = 0; i < m->nterritories; i++)
		if (m->territories[i].id == territory_id)
		{
			*t = &m->territories[i];
			return true;
		}
	return false;
}

const MatchRule *
MatcherRule(Matcher *m, int32 index)
{
	return &m->rules[index];
}

/* Evaluate one rule (by index) for a record: for explain(). */
bool
MatcherEvaluate(Matcher *m, TupleTableSlot *slot, int32 index)
{
	m->probed = false;
	if (++m->stamp == 0)
		m->stamp = 1;
	ResetExprContext(m->econtext);
	m->econtext->ecxt_scantuple = slot;
	EvaluateShared(m);
	return RuleHolds(m, index);
}

char
MatcherPolicy(Matcher *m)
{
	return m->policy;
}

int32
MatcherRuleCount(Matcher *m)
{
	return m->nrules;
}
