/*
 * remote.c
 *		A Citus worker's turns of owner assignment, and its picks of load balancing, taken on the
 *		coordinator.
 *
 * Round robin is fair across a cluster when every node takes a territory's turns from one
 * counter: the coordinator's (turns.c; its territory.rotations holds the turns of the cluster).
 * A worker's backend that needs a turn (owners.c) connects to the coordinator with libpq, as the
 * extension's owner, with the settings of Citus's own connections (citus.node_conninfo), keeps
 * the connection for its life, and calls territory._take_turn() there in a transaction that
 * mirrors its own: begun with its first turn, a savepoint for each subtransaction level that
 * takes one, committed when the backend's transaction commits or prepares, rolled back when it
 * (or the subtransaction) rolls back, which gives the turns back on the coordinator the way a
 * rollback there does.  Concurrent inserts on any number of workers take consecutive turns
 * without waiting for each other.
 *
 * The commit is in two steps, as postgres_fdw's: the coordinator's first, just before this
 * node's, so that a failure there fails the record's transaction; a failure of this node's own
 * commit after it (or a prepared transaction rolled back later) leaves the turn used, as on one
 * server.  A lost connection fails the transaction whose turns it held, and the next transaction
 * connects again.
 *
 * Load balancing calls territory._pick_fewest() the same way: the coordinator counts the
 * members' records over the cluster and remembers the owners it gave until their records show
 * (inflight.c).
 */
#include "postgres.h"

#include "libpq-fe.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "territory.h"

/* how long a rollback on the coordinator may take when this node's transaction aborts */
#define REMOTE_CLEANUP_MS 30000

static PGconn *conn = NULL;
static char *conn_key = NULL;	/* host:port of the connection */
/* 0: no transaction on the coordinator; else the deepest level mirrored (1: the transaction) */
static int	remote_level = 0;
/* the connection was lost with turns of a transaction still running here */
static bool lost = false;

static void
Disconnect(void)
{
	if (remote_level > 0)
		lost = true;
	remote_level = 0;
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
}

/* A connection parameter for a conninfo string, quoted. */
static void
AppendParam(StringInfo buf, const char *key, const char *value)
{
	const char *p;

	appendStringInfo(buf, " %s='", key);
	for (p = value; *p; p++)
	{
		if (*p == '\\' || *p == '\'')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

static void
Connect(const char *host, int32 port)
{
	const char *node_conninfo = GetConfigOption("citus.node_conninfo", true, false);
	char	   *key = psprintf("%s:%d", host, port);
	StringInfoData info;
	char	   *msg;

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK && strcmp(key, conn_key) == 0)
		return;
	Disconnect();
	initStringInfo(&info);
	AppendParam(&info, "connect_timeout", "30");
	if (node_conninfo != NULL)
		appendStringInfo(&info, " %s", node_conninfo);
	AppendParam(&info, "host", host);
	AppendParam(&info, "port", psprintf("%d", port));
	AppendParam(&info, "dbname", get_database_name(MyDatabaseId));
	AppendParam(&info, "user", GetUserNameFromId(TerritoryOwner(), false));
	AppendParam(&info, "application_name", "territory turns");
	AppendParam(&info, "options", "-c idle_in_transaction_session_timeout=0 -c statement_timeout=0");
	conn = PQconnectdb(info.data);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		msg = pstrdup(PQerrorMessage(conn));
		PQfinish(conn);
		conn = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to the coordinator %s:%d to take a turn of owner assignment", host, port),
				 errdetail_internal("%s", msg),
				 errhint("A worker connects to the coordinator as the extension's owner, with citus.node_conninfo (doc/citus.md).")));
	}
	if (conn_key != NULL)
		pfree(conn_key);
	conn_key = MemoryContextStrdup(TopMemoryContext, key);
}

/*
 * The last result of the query sent, or NULL when the connection failed or, in a cleanup (no
 * interrupts then), the wait ran out.
 */
static PGresult *
GetResult(bool cleanup)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), REMOTE_CLEANUP_MS);
	PGresult   *last = NULL;
	PGresult   *res;

	for (;;)
	{
		while (PQisBusy(conn))
		{
			long		timeout = -1;
			int			rc;

			if (cleanup)
			{
				timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
				if (timeout <= 0)
				{
					PQclear(last);
					return NULL;
				}
			}
			rc = WaitLatchOrSocket(MyLatch,
								   WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH | (cleanup ? WL_TIMEOUT : 0),
								   PQsocket(conn), timeout, PG_WAIT_EXTENSION);
			if (rc & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				if (!cleanup)
					CHECK_FOR_INTERRUPTS();
			}
			if ((rc & WL_SOCKET_READABLE) && !PQconsumeInput(conn))
			{
				PQclear(last);
				return NULL;
			}
		}
		res = PQgetResult(conn);
		if (res == NULL)
			return last;
		PQclear(last);
		last = res;
	}
}

/* Run sql on the coordinator: its last result, or an error (the connection then closed). */
static PGresult *
Exec(const char *sql, const char *what)
{
	PGresult   *res = NULL;
	const char *state;
	int			code = ERRCODE_CONNECTION_FAILURE;
	char	   *msg;

	if (PQsendQuery(conn, sql))
	{
		res = GetResult(false);
		if (res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK))
			return res;
	}
	msg = pstrdup(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state != NULL && strlen(state) == 5)
		code = MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
	PQclear(res);
	Disconnect();
	ereport(ERROR,
			(errcode(code),
			 errmsg("could not %s on the coordinator: %s", what, pchomp(msg))));
	return NULL;				/* keep the compiler quiet */
}

/* Run sql on the coordinator while this node's (sub)transaction aborts: on failure, disconnect. */
static void
CleanupExec(const char *sql)
{
	PGresult   *res = NULL;

	if (conn != NULL && PQtransactionStatus(conn) != PQTRANS_ACTIVE && PQsendQuery(conn, sql) &&
		(res = GetResult(true)) != NULL && PQresultStatus(res) == PGRES_COMMAND_OK)
	{
		PQclear(res);
		return;
	}
	PQclear(res);
	Disconnect();
}

/*
 * Call
 *		The int8 value of call (a SELECT of one function) run on the coordinator (host:port), in
 *		the transaction there that mirrors this one.
 */
static int64
Call(const char *host, int32 port, const char *call, const char *what)
{
	int			level = GetCurrentTransactionNestLevel();
	int			mirrored = remote_level;
	StringInfoData sql;
	PGresult   *res;
	int64		value;

	Connect(host, port);
	initStringInfo(&sql);
	if (mirrored == 0)
	{
		appendStringInfoString(&sql, "BEGIN; ");
		mirrored = 1;
	}
	while (mirrored < level)
		appendStringInfo(&sql, "SAVEPOINT s%d; ", ++mirrored);
	appendStringInfoString(&sql, call);
	res = Exec(sql.data, what);
	remote_level = mirrored;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
		(value = strtoi64(PQgetvalue(res, 0, 0), NULL, 10)) < 1)
	{
		PQclear(res);
		elog(ERROR, "the coordinator did not %s", what);
	}
	PQclear(res);
	return value;
}

/* '{a,b,...}' of user ids */
static void
AppendIds(StringInfo sql, const int32 *user_ids, int32 n)
{
	int32		i;

	appendStringInfoString(sql, "'{");
	for (i = 0; i < n; i++)
		appendStringInfo(sql, i == 0 ? "%d" : ",%d", user_ids[i]);
	appendStringInfoString(sql, "}'");
}

/*
 * RemoteTakeTurn
 *		The next turn of a territory, taken on the coordinator (host:port), for its members in
 *		rotation user_ids[0 .. n).
 */
int64
RemoteTakeTurn(const char *host, int32 port, int32 territory, const int32 *user_ids, int32 n)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT " TERRITORY_SCHEMA "._take_turn(%d, ", territory);
	AppendIds(&sql, user_ids, n);
	appendStringInfoChar(&sql, ')');
	return Call(host, port, sql.data, "take a turn of owner assignment");
}

/*
 * RemotePickFewest
 *		The member of user_ids[0 .. n) (their owner values: keys) with the fewest open records of
 *		the distributed table (its name: table) over the cluster, picked on the coordinator
 *		(host:port) for the new record record of a territory, in the distributed transaction
 *		xact (ConfigDistributedXact()): a sales user id.
 */
int32
RemotePickFewest(const char *host, int32 port, int32 territory, const char *table, const char *record,
				 const int32 *user_ids, const char **keys, int32 n, const char *xact)
{
	StringInfoData sql;
	int32		i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT " TERRITORY_SCHEMA "._pick_fewest(%d, %s, %s, ", territory,
					 quote_literal_cstr(table), quote_literal_cstr(record));
	AppendIds(&sql, user_ids, n);
	appendStringInfoString(&sql, ", ARRAY[");
	for (i = 0; i < n; i++)
		appendStringInfo(&sql, i == 0 ? "%s" : ", %s", quote_literal_cstr(keys[i]));
	appendStringInfo(&sql, "]::pg_catalog.text[], %s)", quote_literal_cstr(xact));
	return (int32) Call(host, port, sql.data, "pick the owner of a record by load balancing");
}

static void
RemoteXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (lost)
			{
				lost = false;
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("the connection to the coordinator was lost with the turns of owner assignment this transaction took")));
			}
			if (remote_level > 0)
			{
				PGresult   *res;

				remote_level = 0;
				res = Exec("COMMIT", "commit the turns of owner assignment");
				if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
				{
					PQclear(res);
					Disconnect();
					ereport(ERROR,
							(errcode(ERRCODE_TRANSACTION_ROLLBACK),
							 errmsg("the coordinator rolled back the turns of owner assignment this transaction took")));
				}
				PQclear(res);
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			lost = false;
			if (remote_level > 0)
			{
				remote_level = 0;
				CleanupExec("ROLLBACK");
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			lost = false;
			break;
		default:
			break;
	}
}

static void
RemoteSubXactCallback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
					  void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (remote_level < level)
		return;
	if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
	{
		remote_level = level - 1;
		PQclear(Exec(psprintf("RELEASE SAVEPOINT s%d", level), "release a savepoint"));
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		remote_level = level - 1;
		CleanupExec(psprintf("ROLLBACK TO SAVEPOINT s%d; RELEASE SAVEPOINT s%d", level, level));
	}
}

void
RemoteInit(void)
{
	RegisterXactCallback(RemoteXactCallback, NULL);
	RegisterSubXactCallback(RemoteSubXactCallback, NULL);
}
