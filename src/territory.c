/*
 * territory.c
 *		Module initialisation and the invalidation signals that keep per-backend caches true.
 *
 * Configuration tables drive caches in C (pg_cron's pattern): a statement trigger on each table
 * calls territory.config_changed(signal), which sends a relcache invalidation for the named signal
 * relation; the callback registered here dispatches it to the component that owns the cache, which
 * marks itself stale and rebuilds on next use.  The invalidation reaches this backend at the end
 * of the command (so a cache is right in the same transaction as the change, and again after a
 * rollback), other backends at commit, and hot standbys through the commit record.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_class.h"
#include "access/htup_details.h"
#include "executor/spi.h"
#include "utils/snapmgr.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "access/xact.h"

#include "territory.h"
#include "matcher.h"
#include "history.h"
#include "turns.h"
#include "inflight.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* counts relcache callbacks: per-statement copies of cache pointers are good while it stays */
uint64		territory_cache_epoch = 1;

static void
TerritoryRelcacheCallback(Datum arg, Oid relid)
{
	territory_cache_epoch++;
	ConfigRelcacheCallback(relid);
	/* the matcher asks the hierarchy whether relid is its signal: hierarchy last */
	MatcherRelcacheCallback(relid);
	AssignRelcacheCallback(relid);
	VisibilityRelcacheCallback(relid);
	HierarchyRelcacheCallback(relid);
}

void
_PG_init(void)
{
	CacheRegisterRelcacheCallback(TerritoryRelcacheCallback, (Datum) 0);
	AssignInit();
	HistoryInit();
	VisibilityInit();
	PeriodInit();
	TurnsInit();
	InflightInit();
	ClusterInit();
	RemoteInit();
}

/*
 * TerritoryRelid
 *		OID of a relation of the extension's schema; an error if it is missing.
 */
Oid
TerritoryRelid(const char *relname)
{
	Oid			nspid = get_namespace_oid(TERRITORY_SCHEMA, false);
	Oid			relid = get_relname_relid(relname, nspid);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", TERRITORY_SCHEMA, relname),
				 errhint("The territory extension is not installed completely; reinstall it.")));
	return relid;
}

/* The owner of a namespace (NAMESPACEOID) or of a relation (RELOID). */
static Oid
CatalogOwner(int cacheid, Oid oid)
{
	HeapTuple	tup = SearchSysCache1(cacheid, ObjectIdGetDatum(oid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for object %u", oid);
	owner = cacheid == NAMESPACEOID ? ((Form_pg_namespace) GETSTRUCT(tup))->nspowner
		: ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

Oid
TerritoryRelationOwner(Oid relid)
{
	return CatalogOwner(RELOID, relid);
}

/*
 * TerritoryBecomeOwner / TerritoryRestoreUser
 *		Run the extension's internal queries as the owner of its schema, whoever writes a managed
 *		table: an application role needs no privilege on the configuration tables or the history
 *		(the way foreign key triggers act as the table owner).  An error in between needs no
 *		cleanup: (sub)transaction abort restores the user.
 */
Oid
TerritoryOwner(void)
{
	return CatalogOwner(NAMESPACEOID, get_namespace_oid(TERRITORY_SCHEMA, false));
}

void
TerritoryBecomeOwner(TerritoryUser *save)
{
	Oid			owner = TerritoryOwner();

	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	SetUserIdAndSecContext(owner, save->sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
TerritoryRestoreUser(const TerritoryUser *save)
{
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/*
 * TerritoryConfigSnapshot
 *		The snapshot the per-backend caches read the configuration with: the latest committed
 *		configuration (and the transaction's own changes), like the catalogs, whatever the
 *		isolation level: a cache built from an older snapshot would stay in the backend after its
 *		transaction and keep a configuration that no longer exists.  In parallel mode (a worker,
 *		or a leader running a parallel plan) GetLatestSnapshot() is refused; a fresh catalog
 *		snapshot is not, and is the same latest committed state: so a worker of a REPEATABLE READ
 *		transaction reads the configuration its leader reads, not the older one of the
 *		transaction's snapshot.  (A change committed between the leader's read and a worker's
 *		start is seen by the worker only: as with the catalogs, which locks protect; nothing locks
 *		the configuration against the queries that read it.)  Not registered: the caller
 *		registers or pushes it, which copies it.
 */
Snapshot
TerritoryConfigSnapshot(void)
{
	if (IsInParallelMode())
	{
		InvalidateCatalogSnapshot();
		return GetNonHistoricCatalogSnapshot(InvalidOid);
	}
	return GetLatestSnapshot();
}

/*
 * TerritoryConfigBegin / TerritoryConfigEnd
 *		Bracket SPI reads of the configuration tables for a per-backend cache, with the snapshot
 *		of TerritoryConfigSnapshot().  Begin returns true in parallel mode: a cache built there
 *		belongs to the current transaction only (a worker's ends with it; a leader's might have
 *		missed an invalidation it could not accept).
 */
bool
TerritoryConfigBegin(void)
{
	bool		transient = IsInParallelMode();

	SPI_connect();
	PushActiveSnapshot(TerritoryConfigSnapshot());
	return transient;
}

void
TerritoryConfigEnd(void)
{
	PopActiveSnapshot();
	SPI_finish();
}

/*
 * territory.config_changed(): statement trigger; its argument names the signal relation of the
 * cache that depends on the table it is attached to.
 */
PG_FUNCTION_INFO_V1(territory_config_changed);
Datum
territory_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("territory.config_changed() must be called as a trigger")));
	if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) || trigdata->tg_trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("territory.config_changed() must be a statement trigger naming its signals")));

	for (i = 0; i < trigdata->tg_trigger->tgnargs; i++)
		CacheInvalidateRelcacheByRelid(TerritoryRelid(trigdata->tg_trigger->tgargs[i]));

	return PointerGetDatum(NULL);
}
