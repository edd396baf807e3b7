/*
 * cluster.c
 *		What a Citus cluster needs of the extension besides reading the configuration where it is
 *		(config.c): the grants of the extension's settings on every node.
 *
 * An application role sets territory."user" with SET LOCAL, and with
 * citus.propagate_set_commands = 'local' Citus sends that SET LOCAL to the workers that run the
 * transaction's queries, as that role: the role needs SET on the parameter there too.  Citus
 * propagates roles and the grants on tables, not GRANT or REVOKE ... ON PARAMETER.  So a GRANT or
 * REVOKE on a territory.* parameter that succeeds on the coordinator of a cluster is run on every
 * worker (run_command_on_workers(): in the workers' own transactions, after the coordinator's
 * statement); a worker that refuses it makes the statement fail.  A worker added later gets the
 * grants when they are run again (doc/citus.md).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "territory.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* Whether the statement grants or revokes a privilege on a parameter of the extension. */
static bool
GrantsTerritoryParameter(Node *parsetree)
{
	GrantStmt  *stmt;
	ListCell   *lc;

	if (!IsA(parsetree, GrantStmt))
		return false;
	stmt = (GrantStmt *) parsetree;
	if (stmt->objtype != OBJECT_PARAMETER_ACL)
		return false;
	foreach(lc, stmt->objects)
	{
		const char *name = strVal(lfirst(lc));

		if (pg_strncasecmp(name, TERRITORY_SCHEMA ".", strlen(TERRITORY_SCHEMA) + 1) == 0)
			return true;
	}
	return false;
}

/* Run the statement's text on every worker when this is a Citus coordinator with territory. */
static void
PropagateToWorkers(PlannedStmt *pstmt, const char *queryString)
{
	char	   *command;
	Oid			argtype = TEXTOID;
	Datum		arg;
	int			loc = pstmt->stmt_location < 0 ? 0 : pstmt->stmt_location;
	int			len = pstmt->stmt_len > 0 ? pstmt->stmt_len : (int) strlen(queryString + loc);
	StringInfoData failures;
	bool		isnull;

	if (!OidIsValid(get_extension_oid("citus", true)) || !OidIsValid(get_extension_oid("territory", true)))
		return;
	command = pnstrdup(queryString + loc, len);
	arg = CStringGetTextDatum(command);
	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.citus_is_coordinator()", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		SPI_finish();
		return;
	}
	if (SPI_execute_with_args("SELECT w.nodename || ':' || w.nodeport || ': ' || w.result"
							  " FROM pg_catalog.run_command_on_workers($1) w WHERE NOT w.success",
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run the grant on the workers");
	initStringInfo(&failures);
	for (uint64 i = 0; i < SPI_processed; i++)
		appendStringInfo(&failures, "%s%s", i > 0 ? "; " : "",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	SPI_finish();
	if (failures.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the grant on a parameter of territory failed on workers of the cluster"),
				 errdetail("%s", failures.data),
				 errhint("The application role needs it on every node: SET LOCAL reaches the workers.")));
}

static void
ClusterProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	if (GrantsTerritoryParameter(pstmt->utilityStmt))
		PropagateToWorkers(pstmt, queryString);
}

void
ClusterInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ClusterProcessUtility;
}
