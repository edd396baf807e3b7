/*
 * rules.c
 *		Rule criteria: SQL boolean expressions over the columns of a managed table, validated like
 *		index predicates and stored in parsed form.
 *
 * territory._compile_rule(tbl, criteria, managed_column) parses the criteria, resolves the
 * columns against tbl, coerces the result to boolean and refuses what a rule may not contain:
 * subqueries, aggregates, window and set-returning functions, functions or operators that are
 * not IMMUTABLE, system or whole-row references, and the column the extension itself maintains.
 * It returns the expression as a node tree (nodeToString), which the matcher loads without
 * parsing again; the criteria text stays the source of truth and is compiled again when the
 * table's columns change under a stored tree.
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "territory.h"
#include "matcher.h"

/* The single WHERE clause of "SELECT 1 WHERE (criteria)", or an error. */
static Node *
ParseCriteria(const char *criteria)
{
	char	   *sql = psprintf("SELECT 1 WHERE (%s\n)", criteria);
	List	   *stmts;
	RawStmt    *raw;
	SelectStmt *select;

	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(stmts) != 1 || !IsA(linitial(stmts), RawStmt))
		goto not_an_expression;
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, SelectStmt))
		goto not_an_expression;
	select = (SelectStmt *) raw->stmt;
	if (select->op != SETOP_NONE || select->fromClause != NIL || select->whereClause == NULL ||
		select->groupClause != NIL || select->havingClause != NULL || select->windowClause != NIL ||
		select->sortClause != NIL || select->limitOffset != NULL || select->limitCount != NULL ||
		select->lockingClause != NIL || select->withClause != NULL || select->valuesLists != NIL ||
		select->distinctClause != NIL || select->intoClause != NULL ||
		list_length(select->targetList) != 1)
		goto not_an_expression;
	return select->whereClause;

not_an_expression:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("rule criteria must be a single SQL expression"),
			 errdetail("Criteria: %s", criteria)));
	return NULL;				/* keep compiler quiet */
}

typedef struct CheckVarsContext
{
	Relation	rel;
	const char *managed_column;
} CheckVarsContext;

static bool
CheckVars(Node *node, CheckVarsContext *cxt)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varlevelsup != 0 || var->varno != 1)
			elog(ERROR, "unexpected variable in rule criteria");
		if (var->varattno == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("rule criteria cannot refer to the whole row of \"%s\"",
							RelationGetRelationName(cxt->rel)),
					 errhint("Name the columns the rule reads.")));
		if (var->varattno < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("rule criteria cannot refer to system columns")));
		if (cxt->managed_column != NULL &&
			strcmp(NameStr(TupleDescAttr(RelationGetDescr(cxt->rel), var->varattno - 1)->attname),
				   cxt->managed_column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("rule criteria cannot read column \"%s\"", cxt->managed_column),
					 errdetail("The extension maintains that column from the rules.")));
		return false;
	}
	return expression_tree_walker(node, CheckVars, (void *) cxt);
}

/*
 * CompileCriteria
 *		The validated boolean expression of a rule over relid's columns (Vars with varno 1).
 */
Node *
CompileCriteria(Oid relid, const char *criteria, const char *managed_column)
{
	Relation	rel;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	Node	   *raw;
	Node	   *expr;
	CheckVarsContext cxt;
	MemoryContext oldcxt;

	if (criteria == NULL || criteria[strspn(criteria, " \t\r\n")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rule criteria must not be empty")));

	rel = table_open(relid, AccessShareLock);
	pstate = make_parsestate(NULL);
	oldcxt = CurrentMemoryContext;
	PG_TRY();
	{
		raw = ParseCriteria(criteria);
		nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
		addNSItemToQuery(pstate, nsitem, false, true, true);
		expr = transformExpr(pstate, raw, EXPR_KIND_OTHER);
		expr = coerce_to_boolean(pstate, expr, "rule criteria");
		assign_expr_collations(pstate, expr);
	}
	PG_CATCH();
	{
		/*
		 * The parser's error positions point into the wrapped criteria, not into the statement
		 * the user wrote: drop them, and say which criteria were refused.
		 */
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->cursorpos = 0;
		edata->internalpos = 0;
		edata->internalquery = NULL;
		if (edata->detail == NULL)
			edata->detail = psprintf("Criteria: %s", criteria);
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (checkExprHasSubLink(expr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rule criteria cannot contain subqueries"),
				 errhint("A rule reads the columns of one record only.")));
	if (contain_agg_clause(expr))
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("rule criteria cannot contain aggregate functions")));
	if (contain_window_function(expr))
		ereport(ERROR,
				(errcode(ERRCODE_WINDOWING_ERROR),
				 errmsg("rule criteria cannot contain window functions")));
	if (expression_returns_set(expr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rule criteria cannot contain set-returning functions")));
	if (contain_mutable_functions(expr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("functions in rule criteria must be marked IMMUTABLE"),
				 errdetail("A rule must give the same answer for the same record at any time.")));
	cxt.rel = rel;
	cxt.managed_column = managed_column;
	CheckVars(expr, &cxt);

	table_close(rel, NoLock);
	free_parsestate(pstate);
	return expr;
}

/*
 * territory._compile_rule(tbl regclass, criteria text, managed_column name) RETURNS text:
 * the stored form of a rule's criteria, or an error saying why the criteria are refused.
 */
PG_FUNCTION_INFO_V1(territory_compile_rule);
Datum
territory_compile_rule(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *criteria = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *managed_column = PG_ARGISNULL(2) ? NULL : NameStr(*PG_GETARG_NAME(2));

	PG_RETURN_TEXT_P(cstring_to_text(nodeToString(CompileCriteria(relid, criteria, managed_column))));
}

/*
 * territory._rule_columns(tbl regclass, expr text) RETURNS name[]: the columns a stored rule
 * reads, for explain() and the documentation of a rule.
 */
PG_FUNCTION_INFO_V1(territory_rule_columns);
Datum
territory_rule_columns(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Node	   *expr = stringToNode(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	Bitmapset  *attrs = NULL;
	Datum	   *names;
	int			n = 0;
	int			x = -1;

	pull_varattnos(expr, 1, &attrs);
	names = palloc(sizeof(Datum) * (bms_num_members(attrs) + 1));
	while ((x = bms_next_member(attrs, x)) >= 0)
	{
		AttrNumber	attno = x + FirstLowInvalidHeapAttributeNumber;
		char	   *attname = get_attname(relid, attno, true);

		if (attname != NULL)
			names[n++] = DirectFunctionCall1(namein, CStringGetDatum(attname));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR));
}

/*
 * territory._rule_source(tbl regclass, expr text) RETURNS text: a stored rule printed back as
 * criteria, with every function, operator and type that the current search_path would not find
 * schema-qualified, so that compiling it again anywhere resolves the same objects (clone_model).
 */
PG_FUNCTION_INFO_V1(territory_rule_source);
Datum
territory_rule_source(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Node	   *expr = stringToNode(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	List	   *context = deparse_context_for(get_rel_name(relid), relid);

	PG_RETURN_TEXT_P(cstring_to_text(deparse_expression(expr, context, false, false)));
}
