/*
 * forecast.c
 *		Forecasts rolled up the hierarchy: target, closed won, commit, best case, pipeline and
 *		weighted pipeline of every territory over its whole subtree, and of every member, for one
 *		or more periods.
 *
 * One scan of each managed deal table reads the deals whose close date falls in the periods
 * (as the caller: row-level security decides which deals count), through a DestReceiver that
 * adds each deal to the cell of its territory and period, and to the cells of the members who
 * own it; a pass over the territories in reverse pre-order then adds every cell to its parent's.
 * A deal has one territory, so it is counted once in each territory above it and never twice.
 *
 * Figures are exact: integers in cents (a deal's amount is rounded to the cent, as round(amount,
 * 2)), summed with overflow checks.  The weighted pipeline of a deal is its amount times its
 * stage's probability, rounded to the cent (a CRM's "expected revenue"); the territory's is the
 * sum of its open deals'.  An adjustment (territory.adjust_forecast) replaces a territory's
 * figure for a category, and the territory above adds the adjusted figure of its children.
 *
 * The configuration (stages, targets, adjustments, members) is read as the extension's owner;
 * the output lists the territories whose deals the caller may read when row-level security
 * applies to it on a deal table, every territory of the subtree otherwise.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"

#include "territory.h"

/* the figures of a cell; categories closed_lost and omitted are not counted */
#define FIG_CLOSED_WON 0
#define FIG_COMMIT 1
#define FIG_BEST_CASE 2
#define FIG_PIPELINE 3
#define FIG_WEIGHTED 4
#define NFIGURES 5
#define CAT_IGNORED (-1)

/* the categories an adjustment may replace: commit, best_case, pipeline */
#define NADJUSTABLE 3

#define NO_AMOUNT PG_INT64_MIN	/* no target, no adjustment */

/* subtrees up to this many territories restrict the deal scan in SQL */
#define SUBTREE_CONDITION_MAX 64

typedef struct Figures
{
	int64		v[NFIGURES];
} Figures;

/* A small open-addressing map from text to an int32 (stages, owner keys). */
typedef struct TextEntry
{
	uint32		hash;
	int32		len;
	const char *text;			/* NULL: empty slot */
	int32		value;
	int32		lo;				/* owner map: the positions the user's memberships cover are */
	int32		hi;				/* within lo .. hi (a deal outside needs no look at them) */
} TextEntry;

typedef struct TextMap
{
	uint32		mask;
	int32		n;
	TextEntry  *slots;
} TextMap;

typedef struct Stage
{
	char	   *name;
	int8		category;		/* FIG_* or CAT_IGNORED */
	bool		open;			/* counted in the weighted pipeline */
	int32		basis_points;	/* probability in hundredths of a percent */
} Stage;

typedef struct Member
{
	int32		pos;			/* the territory's position */
	int32		user_id;
	char	   *key;
	DateADT		valid_from;
	DateADT		valid_to;
	int32		next_of_user;	/* the next membership of the same user, -1 */
} Member;

typedef struct Forecast
{
	MemoryContext cxt;			/* the function's: what the receivers keep goes there */
	const Hierarchy *h;
	HierarchyArrays a;
	int32		first;			/* positions first .. last: the subtree (or model) reported */
	int32		last;
	int32		ncells;			/* territories reported */

	int32		nperiods;
	Datum	   *periods;
	DateADT    *lower;
	DateADT    *upper;
	int32	   *by_lower;		/* period indexes by lower bound */
	int32	   *by_bytes;		/* period indexes by stored bytes (equal periods are equal bytes) */
	int16		period_len;
	bool		disjoint;		/* no two periods overlap: binary search */

	Figures    *cells;			/* [(pos - first) * nperiods + k]: own deals, then rolled up */
	int64	   *targets;		/* same index; NO_AMOUNT when none */
	int64	   *adjusted;		/* [cell * NADJUSTABLE + c]; NO_AMOUNT when none; NULL: none at all */

	int32		nstages;
	Stage	   *stages;
	TextMap		stage_map;

	int32		nmembers;		/* sorted by position, then key */
	Member	   *members;
	int32	   *first_member;	/* [pos - first]: first membership, -1 */
	TextMap		owner_map;		/* user key -> first membership of the user */
	Figures    *member_cells;	/* [member * nperiods + k] */
	int64	   *member_targets;
	Datum	   *member_keys;	/* text datums */

	Datum		zero;			/* 0.00 */
} Forecast;

/* ---------------------------------------------------------------- text maps */

static void
TextMapInit(TextMap *m, int32 capacity)
{
	uint32		size = 16;

	while (size < (uint32) capacity * 2)
		size <<= 1;
	m->mask = size - 1;
	m->n = 0;
	m->slots = palloc0(sizeof(TextEntry) * size);
}

static TextEntry *
TextMapSlot(const TextMap *m, const char *text, int32 len, uint32 hash)
{
	uint32		i = hash & m->mask;

	for (;;)
	{
		TextEntry  *e = &m->slots[i];

		if (e->text == NULL ||
			(e->hash == hash && e->len == len && memcmp(e->text, text, len) == 0))
			return e;
		i = (i + 1) & m->mask;
	}
}

/* Adds text (which must outlive the map) unless present; returns its entry. */
static TextEntry *
TextMapEnter(TextMap *m, const char *text, int32 len, int32 value, bool *found)
{
	uint32		hash = hash_bytes((const unsigned char *) text, len);
	TextEntry  *e = TextMapSlot(m, text, len, hash);

	*found = e->text != NULL;
	if (!*found)
	{
		e->hash = hash;
		e->len = len;
		e->text = text;
		e->value = value;
		m->n++;
	}
	return e;
}

/* The entry of a text datum; NULL when absent. */
static const TextEntry *
TextMapFind(const TextMap *m, Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	const char *text;
	int32		len;
	TextEntry  *e;

	if (m->n == 0)
		return NULL;
	v = pg_detoast_datum_packed(v); /* out of line or compressed: read in; short: in place */
	text = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	e = TextMapSlot(m, text, len, hash_bytes((const unsigned char *) text, len));
	return e->text ? e : NULL;
}

/* The value of a text datum's entry; -1 when absent. */
static int32
TextMapGet(const TextMap *m, Datum d)
{
	const TextEntry *e = TextMapFind(m, d);

	return e ? e->value : -1;
}

/* ---------------------------------------------------------------- amounts */

static void
AmountOverflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("forecast amount out of range"),
			 errdetail("Forecast figures are sums in cents that must stay within 64-bit integers.")));
}

static inline int64
AddCents(int64 a, int64 b)
{
	int64		r;

	if (unlikely(pg_add_s64_overflow(a, b, &r)))
		AmountOverflow();
	return r;
}

/*
 * NumericCents
 *		A numeric in hundredths, rounded half away from zero (the value of round(x, 2) * 100).
 *
 * It reads the numeric's stored form, which pg_upgrade requires never to change: after the
 * varlena header, a 16-bit header and base-10000 digits (16-bit each, most significant first,
 * trailing zero digits omitted).  A header with the high bit set is the short form: sign bit
 * 0x2000, a 7-bit weight (sign 0x0040, magnitude 0x003F); otherwise the two high bits are the
 * sign (0x4000 negative, 0xC000 NaN or infinity) and a 16-bit weight follows.  The value is
 * the sum of digit[i] * 10000^(weight - i).  Reading it directly costs a few nanoseconds per
 * deal; numeric arithmetic would allocate twice per deal.
 */
static int64
NumericCents(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	const char *data;
	Size		len;
	uint16		header;
	int32		weight;
	const char *digits;
	int32		ndigits;
	bool		negative;
	int64		units = 0;
	int64		cents;
	int16		digit;
	int32		e;

	v = pg_detoast_datum_packed(v); /* out of line or compressed: read in; short: in place */
	data = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < sizeof(uint16))
		elog(ERROR, "invalid numeric of %zu bytes", len);
	memcpy(&header, data, sizeof(uint16));
	if ((header & 0xC000) == 0xC000)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a deal amount is NaN or infinite"),
				 errhint("Deal amounts must be finite numbers.")));
	if (header & 0x8000)
	{
		negative = (header & 0x2000) != 0;
		weight = header & 0x003F;
		if (header & 0x0040)
			weight |= ~0x003F;
		digits = data + sizeof(uint16);
		ndigits = (len - sizeof(uint16)) / sizeof(int16);
	}
	else
	{
		int16		w;

		if (len < 2 * sizeof(uint16))
			elog(ERROR, "invalid numeric of %zu bytes", len);
		negative = (header & 0xC000) == 0x4000;
		memcpy(&w, data + sizeof(uint16), sizeof(int16));
		weight = w;
		digits = data + 2 * sizeof(uint16);
		ndigits = (len - 2 * sizeof(uint16)) / sizeof(int16);
	}

	/* the integer part: digits of exponent weight .. 0 */
	for (e = weight; e >= 0; e--)
	{
		int32		i = weight - e;

		digit = 0;
		if (i < ndigits)
			memcpy(&digit, digits + i * sizeof(int16), sizeof(int16));
		if (unlikely(pg_mul_s64_overflow(units, 10000, &units) ||
					 pg_add_s64_overflow(units, digit, &units)))
			AmountOverflow();
	}
	if (unlikely(pg_mul_s64_overflow(units, 100, &cents)))
		AmountOverflow();
	/* the digit of exponent -1 holds the cents and decides the rounding */
	digit = 0;
	if (weight >= -1 && weight + 1 < ndigits)
		memcpy(&digit, digits + (weight + 1) * sizeof(int16), sizeof(int16));
	cents = AddCents(cents, digit / 100 + (digit % 100 >= 50 ? 1 : 0));
	return negative ? -cents : cents;
}

/* num / den rounded half away from zero (den > 0). */
static int64
RoundDiv(int128 num, int64 den)
{
	int128		q;
	int128		r;

	/* the common case in 64 bits: a 128-bit division costs many times more */
	if (num >= PG_INT64_MIN / 2 && num <= PG_INT64_MAX / 2)
	{
		int64		n = (int64) num;
		int64		q64 = n / den;
		int64		r64 = n % den;

		if (r64 < 0 ? -r64 * 2 >= den : r64 * 2 >= den)
			q64 += r64 < 0 ? -1 : 1;
		return q64;
	}
	q = num / den;
	r = num % den;
	if (r < 0 ? -r * 2 >= den : r * 2 >= den)
		q += r < 0 ? -1 : 1;
	if (q > PG_INT64_MAX || q < PG_INT64_MIN)
		AmountOverflow();
	return (int64) q;
}

/* An amount in cents as a numeric of scale 2; zero, the commonest, made once per call. */
static Datum
CentsDatum(Forecast *f, int64 cents)
{
	if (cents == 0)
	{
		if (f->zero == (Datum) 0)
		{
			MemoryContext old = MemoryContextSwitchTo(f->cxt);

			f->zero = NumericGetDatum(int64_div_fast_to_numeric(0, 2));
			MemoryContextSwitchTo(old);
		}
		return f->zero;
	}
	return NumericGetDatum(int64_div_fast_to_numeric(cents, 2));
}

/* ---------------------------------------------------------------- queries */

/*
 * RunQuery
 *		Runs sql with the parameters through a DestReceiver whose receiveSlot is receive (SPI
 *		must be connected): no tuple is copied.  The current memory context is kept.
 */
typedef struct ForecastReceiver
{
	DestReceiver pub;
	Forecast   *f;
} ForecastReceiver;

static void
ReceiverStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
ReceiverShutdown(DestReceiver *self)
{
}

static void
ReceiverDestroy(DestReceiver *self)
{
}

static void
RunQuery(Forecast *f, const char *sql, int nargs, const Oid *types, const Datum *values,
		 const bool *nulls, bool (*receive) (TupleTableSlot *, DestReceiver *))
{
	ForecastReceiver receiver;
	SPIExecuteOptions options;
	SPIPlanPtr	plan;
	ParamListInfo params = makeParamList(nargs);
	int			i;
	int			rc;
	MemoryContext cxt = CurrentMemoryContext;	/* SPI leaves its own current */

	plan = SPI_prepare(sql, nargs, (Oid *) types);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	for (i = 0; i < nargs; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = nulls[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = types[i];
	}
	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = receive;
	receiver.pub.rStartup = ReceiverStartup;
	receiver.pub.rShutdown = ReceiverShutdown;
	receiver.pub.rDestroy = ReceiverDestroy;
	receiver.pub.mydest = DestNone;
	receiver.f = f;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = (DestReceiver *) &receiver;
	rc = SPI_execute_plan_extended(plan, &options);
	/* a SELECT into a DestNone receiver reports SPI_OK_UTILITY */
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	SPI_freeplan(plan);
	MemoryContextSwitchTo(cxt);
}

static inline Forecast *
ReceiverForecast(DestReceiver *self)
{
	return ((ForecastReceiver *) self)->f;
}

/* The index of the period containing day, -1 for none (the first when periods overlap). */
static int32
PeriodOf(const Forecast *f, DateADT day)
{
	int32		lo = 0,
				hi = f->nperiods - 1;
	int32		k;

	if (f->nperiods == 1)
		return (day >= f->lower[0] && day < f->upper[0]) ? 0 : -1;
	if (!f->disjoint)
	{
		for (k = 0; k < f->nperiods; k++)
			if (day >= f->lower[k] && day < f->upper[k])
				return k;
		return -1;
	}
	/* the last period starting on or before day */
	k = -1;
	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (f->lower[f->by_lower[mid]] <= day)
		{
			k = f->by_lower[mid];
			lo = mid + 1;
		}
		else
			hi = mid - 1;
	}
	return (k >= 0 && day < f->upper[k]) ? k : -1;
}

/* ---------------------------------------------------------------- periods */

static int
CompareLower(const void *a, const void *b, void *arg)
{
	const DateADT *lower = arg;
	DateADT		x = lower[*(const int32 *) a];
	DateADT		y = lower[*(const int32 *) b];

	return x < y ? -1 : x > y ? 1 : 0;
}

static int
CompareBytes(const void *a, const void *b, void *arg)
{
	const Forecast *f = arg;

	return memcmp(DatumGetPointer(f->periods[*(const int32 *) a]),
				  DatumGetPointer(f->periods[*(const int32 *) b]), f->period_len);
}

/*
 * PeriodFirst
 *		The first position in by_bytes of a period equal to the given one, -1 when none: a period
 *		is a fixed-length value whose equality is the identity of its bytes.
 */
static int32
PeriodFirst(const Forecast *f, Datum period)
{
	int32		lo = 0,
				hi = f->nperiods - 1,
				found = -1;

	while (lo <= hi)
	{
		int32		mid = lo + (hi - lo) / 2;
		int			c = memcmp(DatumGetPointer(period), DatumGetPointer(f->periods[f->by_bytes[mid]]),
							   f->period_len);

		if (c == 0)
			found = mid;
		if (c <= 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return found;
}

static inline bool
PeriodAt(const Forecast *f, int32 j, Datum period)
{
	return j < f->nperiods &&
		memcmp(DatumGetPointer(period), DatumGetPointer(f->periods[f->by_bytes[j]]), f->period_len) == 0;
}

/* The periods of the array argument, with their bounds, sorted by lower bound. */
static void
SetPeriods(Forecast *f, ArrayType *arr)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *nulls;
	int32		k;

	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	if (typbyval || typlen <= 0)
		elog(ERROR, "territory.period is expected to be of fixed length, by reference");
	f->period_len = typlen;
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &f->periods, &nulls, &f->nperiods);
	if (f->nperiods == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no period to forecast")));
	f->lower = palloc(sizeof(DateADT) * f->nperiods);
	f->upper = palloc(sizeof(DateADT) * f->nperiods);
	f->by_lower = palloc(sizeof(int32) * f->nperiods);
	f->by_bytes = palloc(sizeof(int32) * f->nperiods);
	for (k = 0; k < f->nperiods; k++)
	{
		if (nulls[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the periods to forecast must not be null")));
		f->lower[k] = DatumGetDateADT(DirectFunctionCall1(territory_period_lower, f->periods[k]));
		f->upper[k] = DatumGetDateADT(DirectFunctionCall1(territory_period_upper, f->periods[k]));
		f->by_lower[k] = k;
		f->by_bytes[k] = k;
	}
	qsort_arg(f->by_bytes, f->nperiods, sizeof(int32), CompareBytes, f);
	qsort_arg(f->by_lower, f->nperiods, sizeof(int32), CompareLower, f->lower);
	f->disjoint = true;
	for (k = 1; k < f->nperiods; k++)
		if (f->lower[f->by_lower[k]] < f->upper[f->by_lower[k - 1]])
			f->disjoint = false;
}

/* ---------------------------------------------------------------- configuration */

/* stage text, category text, probability numeric */
static bool
ReceiveStage(TupleTableSlot *slot, DestReceiver *self)
{
	Forecast   *f = ReceiverForecast(self);
	bool		isnull;
	char	   *category = TextDatumGetCString(slot_getattr(slot, 2, &isnull));
	Datum		probability = slot_getattr(slot, 3, &isnull);
	Stage	   *s;
	MemoryContext old = MemoryContextSwitchTo(f->cxt);

	if (f->nstages % 16 == 0)
		f->stages = f->stages == NULL ? palloc(sizeof(Stage) * 16)
			: repalloc(f->stages, sizeof(Stage) * (f->nstages + 16));
	s = &f->stages[f->nstages++];
	s->name = TextDatumGetCString(slot_getattr(slot, 1, &isnull));
	s->category = strcmp(category, "closed_won") == 0 ? FIG_CLOSED_WON
		: strcmp(category, "commit") == 0 ? FIG_COMMIT
		: strcmp(category, "best_case") == 0 ? FIG_BEST_CASE
		: strcmp(category, "pipeline") == 0 ? FIG_PIPELINE : CAT_IGNORED;
	s->open = s->category == FIG_COMMIT || s->category == FIG_BEST_CASE || s->category == FIG_PIPELINE;
	s->basis_points = isnull ? 0 : (int32) NumericCents(probability);
	MemoryContextSwitchTo(old);
	return true;
}

/* territory_id int4, user_id int4 (NULL: the territory's), period, amount numeric */
static bool
ReceiveTarget(TupleTableSlot *slot, DestReceiver *self)
{
	Forecast   *f = ReceiverForecast(self);
	bool		user_null;
	bool		isnull;
	int32		pos = HierarchyPosition(f->h, DatumGetInt32(slot_getattr(slot, 1, &isnull)));
	Datum		user_id = slot_getattr(slot, 2, &user_null);
	Datum		period = slot_getattr(slot, 3, &isnull);
	int64		amount;
	int32		j;

	if (pos < f->first || pos > f->last)
		return true;
	amount = NumericCents(slot_getattr(slot, 4, &isnull));
	for (j = PeriodFirst(f, period); j >= 0 && PeriodAt(f, j, period); j++)
	{
		int32		k = f->by_bytes[j];
		int32		m;

		if (user_null)
			f->targets[(pos - f->first) * f->nperiods + k] = amount;
		else
			for (m = f->first_member[pos - f->first]; m >= 0 && m < f->nmembers && f->members[m].pos == pos; m++)
				if (f->members[m].user_id == DatumGetInt32(user_id))
					f->member_targets[m * f->nperiods + k] = amount;
	}
	return true;
}

/* territory_id int4, period, category text, amount numeric: the latest adjustments */
static bool
ReceiveAdjustment(TupleTableSlot *slot, DestReceiver *self)
{
	Forecast   *f = ReceiverForecast(self);
	bool		isnull;
	int32		pos = HierarchyPosition(f->h, DatumGetInt32(slot_getattr(slot, 1, &isnull)));
	Datum		period = slot_getattr(slot, 2, &isnull);
	char	   *category = TextDatumGetCString(slot_getattr(slot, 3, &isnull));
	int32		c = strcmp(category, "commit") == 0 ? 0 : strcmp(category, "best_case") == 0 ? 1
		: strcmp(category, "pipeline") == 0 ? 2 : -1;
	int32		j;

	if (pos < f->first || pos > f->last || c < 0)
		return true;
	if (f->adjusted == NULL)
	{
		int32		i;

		f->adjusted = MemoryContextAlloc(f->cxt, sizeof(int64) * f->ncells * f->nperiods * NADJUSTABLE);
		for (i = 0; i < f->ncells * f->nperiods * NADJUSTABLE; i++)
			f->adjusted[i] = NO_AMOUNT;
	}
	for (j = PeriodFirst(f, period); j >= 0 && PeriodAt(f, j, period); j++)
	{
		int32		cell = (pos - f->first) * f->nperiods + f->by_bytes[j];

		f->adjusted[cell * NADJUSTABLE + c] = NumericCents(slot_getattr(slot, 4, &isnull));
	}
	return true;
}

/* One membership of the cached configuration: kept when its territory is reported. */
static void
AddMember(void *arg, int32 territory, int32 user_id, const char *key, int32 valid_from, int32 valid_to)
{
	Forecast   *f = arg;
	int32		pos = HierarchyPosition(f->h, territory);
	MemoryContext old;
	Member	   *m;

	if (pos < f->first || pos > f->last)
		return;
	old = MemoryContextSwitchTo(f->cxt);
	if (f->nmembers % 64 == 0)
		f->members = f->members == NULL ? palloc(sizeof(Member) * 64)
			: repalloc(f->members, sizeof(Member) * (f->nmembers + 64));
	m = &f->members[f->nmembers++];
	m->pos = pos;
	m->user_id = user_id;
	m->key = pstrdup(key);
	m->valid_from = valid_from;
	m->valid_to = valid_to;
	MemoryContextSwitchTo(old);
}

static int
CompareMembers(const void *a, const void *b)
{
	const Member *x = a;
	const Member *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Index the memberships by position and by user key. */
static void
IndexMembers(Forecast *f)
{
	int32		m;

	if (f->nmembers > 1)
		qsort(f->members, f->nmembers, sizeof(Member), CompareMembers);
	f->first_member = palloc(sizeof(int32) * f->ncells);
	memset(f->first_member, -1, sizeof(int32) * f->ncells);
	TextMapInit(&f->owner_map, f->nmembers);
	for (m = f->nmembers - 1; m >= 0; m--)
	{
		Member	   *mem = &f->members[m];
		bool		found;
		TextEntry  *e = TextMapEnter(&f->owner_map, mem->key, strlen(mem->key), m, &found);

		f->first_member[mem->pos - f->first] = m;
		mem->next_of_user = found ? e->value : -1;
		e->value = m;
		e->lo = found ? Min(e->lo, mem->pos) : mem->pos;
		e->hi = found ? Max(e->hi, f->a.last[mem->pos]) : f->a.last[mem->pos];
	}
	f->member_keys = palloc(sizeof(Datum) * Max(f->nmembers, 1));
	for (m = 0; m < f->nmembers; m++)
		f->member_keys[m] = CStringGetTextDatum(f->members[m].key);
	f->member_cells = palloc0(sizeof(Figures) * Max(f->nmembers, 1) * f->nperiods);
	f->member_targets = palloc(sizeof(int64) * Max(f->nmembers, 1) * f->nperiods);
	for (m = 0; m < f->nmembers * f->nperiods; m++)
		f->member_targets[m] = NO_AMOUNT;
}

static bool
MemberValid(const Forecast *f, const Member *m, int32 k)
{
	return m->valid_from < f->upper[k] && m->valid_to >= f->lower[k];
}

/*
 * ReadConfiguration
 *		Stages, memberships, targets and adjustments of the reported territories and periods, read
 *		as the extension's owner.  periods is the array of the periods, of type array_type.
 */
static void
ReadConfiguration(Forecast *f, Datum periods, Oid array_type)
{
	TerritoryUser save;
	Datum		values[1] = {periods};
	bool		nulls[1] = {false};
	int32		i;
	MemoryContext old = MemoryContextSwitchTo(f->cxt);	/* not SPI's: it outlives SPI */

	TerritoryBecomeOwner(&save);

	RunQuery(f, psprintf("SELECT stage, category, probability FROM %s", ConfigTable("stages")),
			 0, NULL, NULL, NULL, ReceiveStage);
	TextMapInit(&f->stage_map, f->nstages);
	for (i = 0; i < f->nstages; i++)
	{
		bool		found;

		TextMapEnter(&f->stage_map, f->stages[i].name, strlen(f->stages[i].name), i, &found);
	}

	/* the memberships of the cache the row checks use: no query */
	VisibilityForEachMember(AddMember, f);
	IndexMembers(f);

	for (i = 0; i < f->ncells * f->nperiods; i++)
		f->targets[i] = NO_AMOUNT;
	RunQuery(f, psprintf("SELECT territory_id, user_id, period, amount"
						 " FROM %s WHERE period OPERATOR(pg_catalog.=) ANY ($1)", ConfigTable("targets")),
			 1, &array_type, values, nulls, ReceiveTarget);

	RunQuery(f, psprintf("SELECT DISTINCT ON (territory_id, period, category)"
						 " territory_id, period, category, amount"
						 " FROM %s WHERE period OPERATOR(pg_catalog.=) ANY ($1)"
						 " ORDER BY territory_id, period, category, id DESC",
						 ConfigTable("forecast_adjustments")),
			 1, &array_type, values, nulls, ReceiveAdjustment);

	TerritoryRestoreUser(&save);
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------- the deals */

static inline void
AddDeal(Figures *c, int8 category, int64 cents, int64 weighted)
{
	c->v[category] = AddCents(c->v[category], cents);
	if (weighted != 0)
		c->v[FIG_WEIGHTED] = AddCents(c->v[FIG_WEIGHTED], weighted);
}

/* One deal at position pos in period k: its territory's cell and its owner's memberships. */
static void
AddDealInPeriod(Forecast *f, int32 pos, int32 k, int8 category, int64 cents, int64 weighted,
				int32 owner_first)
{
	int32		m;

	AddDeal(&f->cells[(pos - f->first) * f->nperiods + k], category, cents, weighted);
	for (m = owner_first; m >= 0; m = f->members[m].next_of_user)
	{
		const Member *mem = &f->members[m];

		if (mem->pos <= pos && pos <= f->a.last[mem->pos] && MemberValid(f, mem, k))
			AddDeal(&f->member_cells[m * f->nperiods + k], category, cents, weighted);
	}
}

/* territory int4, stage text, amount numeric, close date, owner text */
static bool
ReceiveDeal(TupleTableSlot *slot, DestReceiver *self)
{
	Forecast   *f = ReceiverForecast(self);
	Datum	   *values;
	bool	   *nulls;
	int32		pos;
	int32		s;
	int8		category = FIG_PIPELINE;
	bool		open = true;
	int32		basis_points = 0;
	int64		cents;
	int64		weighted;
	int32		owner_first;
	int32		k;

	slot_getallattrs(slot);
	values = slot->tts_values;
	nulls = slot->tts_isnull;
	if (nulls[0] || nulls[2] || nulls[3])
		return true;
	pos = HierarchyPosition(f->h, DatumGetInt32(values[0]));
	if (pos < f->first || pos > f->last)
		return true;
	/* a stage not in territory.stages (or none) is pipeline with probability 0 */
	s = nulls[1] ? -1 : TextMapGet(&f->stage_map, values[1]);
	if (s >= 0)
	{
		category = f->stages[s].category;
		open = f->stages[s].open;
		basis_points = f->stages[s].basis_points;
	}
	if (category == CAT_IGNORED)
		return true;
	cents = NumericCents(values[2]);
	weighted = open ? RoundDiv((int128) cents * basis_points, 10000) : 0;
	owner_first = -1;
	if (!nulls[4] && f->nmembers > 0)
	{
		const TextEntry *e = TextMapFind(&f->owner_map, values[4]);

		if (e != NULL && e->lo <= pos && pos <= e->hi)
			owner_first = e->value;
	}

	if (f->disjoint)
	{
		k = PeriodOf(f, DatumGetDateADT(values[3]));
		if (k >= 0)
			AddDealInPeriod(f, pos, k, category, cents, weighted, owner_first);
	}
	else
	{
		DateADT		day = DatumGetDateADT(values[3]);

		for (k = 0; k < f->nperiods; k++)
			if (day >= f->lower[k] && day < f->upper[k])
				AddDealInPeriod(f, pos, k, category, cents, weighted, owner_first);
	}
	return true;
}

typedef struct DealTable
{
	Oid			relid;
	char	   *territory;
	char	   *amount;
	char	   *close_date;
	char	   *stage;
	char	   *owner;			/* NULL: none */
} DealTable;

/* The managed deal tables, read as the extension's owner, into memory context cxt. */
static List *
DealTables(MemoryContext cxt)
{
	TerritoryUser save;
	List	   *tables = NIL;
	uint64		i;
	MemoryContext old;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	TerritoryBecomeOwner(&save);
	if (SPI_execute(psprintf("SELECT tbl::pg_catalog.oid, territory_column, amount_column, close_date_column,"
							 " stage_column, owner_column FROM %s"
							 " WHERE kind OPERATOR(pg_catalog.=) 'deal' ORDER BY tbl", ConfigTable("managed_tables")),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read territory.managed_tables");
	old = MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DealTable  *t = palloc(sizeof(DealTable));
		bool		isnull;

		t->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		t->territory = SPI_getvalue(tup, desc, 2);
		t->amount = SPI_getvalue(tup, desc, 3);
		t->close_date = SPI_getvalue(tup, desc, 4);
		t->stage = SPI_getvalue(tup, desc, 5);
		t->owner = SPI_getvalue(tup, desc, 6);
		tables = lappend(tables, t);
	}
	MemoryContextSwitchTo(old);
	TerritoryRestoreUser(&save);
	SPI_finish();
	return tables;
}

/* Whether row-level security applies to the caller on any of the deal tables. */
static bool
DealsRestricted(List *tables)
{
	ListCell   *lc;

	foreach(lc, tables)
		if (check_enable_rls(((DealTable *) lfirst(lc))->relid, InvalidOid, true) == RLS_ENABLED)
			return true;
	return false;
}

/*
 * NarrowToReadable
 *		For a caller whom row-level security restricts, the range of positions reported shrinks
 *		to the smallest that holds the subtrees of the territories whose deals the caller reads:
 *		no other territory is shown, and the deals below them are all the rollup of a shown one
 *		can add up (a rep of one leaf of 100,000 territories gets one cell, not 100,000).
 */
static void
NarrowToReadable(Forecast *f)
{
	const int32 *ids;
	int32		n;
	int32		lo = INT32_MAX;
	int32		hi = -1;
	int32		i;

	if (VisibilityReadableTerritories("deal", &ids, &n))
		return;
	for (i = 0; i < n; i++)
	{
		int32		p = HierarchyPosition(f->h, ids[i]);

		if (p < f->first || p > f->last)
			continue;
		lo = Min(lo, p);
		hi = Max(hi, f->a.last[p]);
	}
	if (hi < 0)
	{
		/* nothing readable: an empty range */
		f->last = f->first - 1;
		return;
	}
	f->first = lo;
	f->last = hi;
}

/*
 * ScanDeals
 *		One scan of each deal table, as the caller, for the deals closing between the first and
 *		the last day of the periods (and in the subtree, when the range reported is small).
 */
static void
ScanDeals(Forecast *f, List *tables, ArrayType *subtree)
{
	ListCell   *lc;
	DateADT		from = f->lower[0];
	DateADT		to = f->upper[0];
	Oid			types[3] = {DATEOID, DATEOID, INT4ARRAYOID};
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int32		k;

	for (k = 1; k < f->nperiods; k++)
	{
		from = Min(from, f->lower[k]);
		to = Max(to, f->upper[k]);
	}
	values[0] = DateADTGetDatum(from);
	values[1] = DateADTGetDatum(to);
	values[2] = PointerGetDatum(subtree);

	foreach(lc, tables)
	{
		DealTable  *t = lfirst(lc);
		const char *rel = TerritoryRelationName(t->relid);
		const char *close_date = quote_identifier(t->close_date);
		const char *territory = quote_identifier(t->territory);
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT d.%s, d.%s::pg_catalog.text, d.%s::pg_catalog.numeric, d.%s::pg_catalog.date, ",
						 territory, quote_identifier(t->stage), quote_identifier(t->amount), close_date);
		if (t->owner)
			appendStringInfo(&sql, "d.%s::pg_catalog.text", quote_identifier(t->owner));
		else
			appendStringInfoString(&sql, "NULL::pg_catalog.text");
		appendStringInfo(&sql, " FROM %s d WHERE d.%s OPERATOR(pg_catalog.>=) $1 AND d.%s OPERATOR(pg_catalog.<) $2",
						 rel, close_date, close_date);
		if (subtree != NULL)
			appendStringInfo(&sql, " AND d.%s OPERATOR(pg_catalog.=) ANY ($3)", territory);
		RunQuery(f, sql.data, subtree != NULL ? 3 : 2, types, values, nulls, ReceiveDeal);
	}
}

/* ---------------------------------------------------------------- the rollup */

/*
 * Rollup
 *		In reverse pre-order every territory's figures are complete when it is reached: add them
 *		to its parent's.  A territory without a target of its own gets the sum of its children's
 *		(when any has one); an adjusted figure replaces the computed one and is what the parent
 *		adds up.
 */
static void
Rollup(Forecast *f, int64 *adjusted_out)
{
	int32		np = f->nperiods;
	int64	   *child_targets = palloc(sizeof(int64) * f->ncells * np);
	int32		i;
	int32		p;

	for (i = 0; i < f->ncells * np; i++)
		child_targets[i] = NO_AMOUNT;
	if (adjusted_out != NULL)
		for (i = 0; i < f->ncells * np; i++)
		{
			adjusted_out[i * NADJUSTABLE + 0] = f->cells[i].v[FIG_COMMIT];
			adjusted_out[i * NADJUSTABLE + 1] = f->cells[i].v[FIG_BEST_CASE];
			adjusted_out[i * NADJUSTABLE + 2] = f->cells[i].v[FIG_PIPELINE];
		}

	for (p = f->last; p >= f->first; p--)
	{
		int32		parent = f->a.parent[p];
		bool		up = parent >= f->first;
		int32		k;

		for (k = 0; k < np; k++)
		{
			int32		cell = (p - f->first) * np + k;
			int32		pcell = up ? (parent - f->first) * np + k : -1;
			int32		j;

			if (f->targets[cell] == NO_AMOUNT)
				f->targets[cell] = child_targets[cell];
			if (up)
			{
				for (j = 0; j < NFIGURES; j++)
					f->cells[pcell].v[j] = AddCents(f->cells[pcell].v[j], f->cells[cell].v[j]);
				if (f->targets[cell] != NO_AMOUNT)
					child_targets[pcell] = AddCents(child_targets[pcell] == NO_AMOUNT ? 0 : child_targets[pcell],
													f->targets[cell]);
			}
			if (adjusted_out == NULL)
				continue;
			for (j = 0; j < NADJUSTABLE; j++)
			{
				int64	   *v = &adjusted_out[cell * NADJUSTABLE + j];

				if (f->adjusted[cell * NADJUSTABLE + j] != NO_AMOUNT)
					*v = f->adjusted[cell * NADJUSTABLE + j];
				if (up)
					adjusted_out[pcell * NADJUSTABLE + j] = AddCents(adjusted_out[pcell * NADJUSTABLE + j], *v);
			}
		}
	}
	pfree(child_targets);
}

/* ---------------------------------------------------------------- output */

/*
 * The two row layouts.  forecast(period, territory), for people: territory_id, user_key, depth,
 * path, target, the five figures, adjusted_commit, attainment, gap.  forecast_periods(periods,
 * territory), for reports over many periods: period, territory_id, parent_id, user_key, depth,
 * target, the five figures, the three adjusted figures, attainment, gap (no path: the same for
 * every period, a report joins it once).
 */
typedef struct Layout
{
	int			ncolumns;
	int			period;			/* column of the period, -1: none */
	int			territory;
	int			parent;			/* -1: none */
	int			user_key;
	int			depth;
	int			path;			/* -1: none */
	int			target;			/* then the five figures, the adjusted ones, attainment, gap */
	int			nadjusted;
} Layout;

static const Layout one_period = {13, -1, 0, -1, 1, 2, 3, 4, 1};
static const Layout many_periods = {16, 0, 1, 2, 3, 4, -1, 5, NADJUSTABLE};

#define MAX_COLUMNS 16

/* Target, figures, adjusted figures, attainment and gap from values[layout->target] on. */
static void
FigureColumns(Forecast *f, const Layout *layout, const Figures *c, int64 target, const int64 *adjusted,
			  Datum *values, bool *nulls)
{
	int			col = layout->target;
	int32		j;

	nulls[col] = target == NO_AMOUNT;
	values[col++] = target == NO_AMOUNT ? (Datum) 0 : CentsDatum(f, target);
	values[col++] = CentsDatum(f, c->v[FIG_CLOSED_WON]);
	values[col++] = CentsDatum(f, c->v[FIG_COMMIT]);
	values[col++] = CentsDatum(f, c->v[FIG_BEST_CASE]);
	values[col++] = CentsDatum(f, c->v[FIG_PIPELINE]);
	values[col++] = CentsDatum(f, c->v[FIG_WEIGHTED]);
	for (j = 0; j < layout->nadjusted; j++)
		values[col++] = CentsDatum(f, adjusted ? adjusted[j]
								   : c->v[j == 0 ? FIG_COMMIT : j == 1 ? FIG_BEST_CASE : FIG_PIPELINE]);
	/* attainment: closed won / target, to four decimals; gap: what is left to close */
	nulls[col] = target == NO_AMOUNT || target == 0;
	values[col] = nulls[col] ? (Datum) 0
		: NumericGetDatum(int64_div_fast_to_numeric(RoundDiv((int128) c->v[FIG_CLOSED_WON] * 10000, target), 4));
	col++;
	nulls[col] = target == NO_AMOUNT;
	values[col] = nulls[col] ? (Datum) 0 : CentsDatum(f, AddCents(target, -c->v[FIG_CLOSED_WON]));
}

static void
EmitRows(Forecast *f, FunctionCallInfo fcinfo, const Layout *layout, bool rls, const int64 *adjusted)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool	   *shown = palloc0(sizeof(bool) * f->ncells);
	Datum	   *paths = NULL;
	HierarchyPathWalk walk;
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "territory forecast row",
												  ALLOCSET_DEFAULT_SIZES);
	int32		p;
	int32		k;

	/* the territories reported: those whose deals the caller reads, with their paths */
	if (layout->path >= 0)
	{
		paths = palloc(sizeof(Datum) * f->ncells);
		HierarchyPathWalkStart(f->h, &walk, f->first, f->last);
	}
	for (p = f->first; p <= f->last; p++)
	{
		shown[p - f->first] = !rls || VisibilityTerritoryReadable("deal", f->a.ids[p]);
		if (paths)
			paths[p - f->first] = HierarchyPathWalkNext(f->h, &walk, p);
	}

	for (k = 0; k < f->nperiods; k++)
		for (p = f->first; p <= f->last; p++)
		{
			int32		cell = (p - f->first) * f->nperiods + k;
			Datum		values[MAX_COLUMNS];
			bool		nulls[MAX_COLUMNS];
			MemoryContext old;
			int32		m;

			if (!shown[p - f->first])
				continue;
			old = MemoryContextSwitchTo(row_cxt);
			memset(nulls, 0, sizeof(nulls));
			if (layout->period >= 0)
				values[layout->period] = f->periods[k];
			values[layout->territory] = Int32GetDatum(f->a.ids[p]);
			if (layout->parent >= 0)
			{
				nulls[layout->parent] = f->a.parent[p] < 0;
				values[layout->parent] = f->a.parent[p] < 0 ? (Datum) 0 : Int32GetDatum(f->a.ids[f->a.parent[p]]);
			}
			nulls[layout->user_key] = true;
			values[layout->user_key] = (Datum) 0;
			values[layout->depth] = Int32GetDatum(f->a.depth[p]);
			if (paths)
				values[layout->path] = paths[p - f->first];
			FigureColumns(f, layout, &f->cells[cell], f->targets[cell],
						  adjusted ? &adjusted[cell * NADJUSTABLE] : NULL, values, nulls);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

			for (m = f->first_member[p - f->first]; m >= 0 && m < f->nmembers && f->members[m].pos == p; m++)
			{
				int32		mcell = m * f->nperiods + k;

				if (!MemberValid(f, &f->members[m], k))
					continue;
				nulls[layout->user_key] = false;
				values[layout->user_key] = f->member_keys[m];
				FigureColumns(f, layout, &f->member_cells[mcell], f->member_targets[mcell], NULL, values, nulls);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_cxt);
		}
}

/*
 * RunForecast
 *		The forecast of the periods of the array for the subtree of the territory in argument 1
 *		(NULL: every territory of the active model), into the rows of fcinfo in the layout given.
 */
static void
RunForecast(FunctionCallInfo fcinfo, ArrayType *periods, const Layout *layout)
{
	Forecast	f;
	ArrayType  *subtree = NULL;
	int64	   *adjusted = NULL;
	List	   *tables;
	bool		rls;
	int32		i;

	memset(&f, 0, sizeof(f));
	f.cxt = CurrentMemoryContext;
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	SetPeriods(&f, periods);

	f.h = HierarchyPin();
	HierarchyGetArrays(f.h, &f.a);
	if (PG_ARGISNULL(1))
	{
		int32		end;

		if (!HierarchyModelRange(f.h, HierarchyActiveModel(f.h), &f.first, &end))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no territory model is active"),
					 errhint("Name the territory whose subtree to forecast.")));
		f.last = end - 1;
	}
	else
	{
		int32		root = PG_GETARG_INT32(1);

		f.first = HierarchyPosition(f.h, root);
		if (f.first < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("territory %d does not exist", root)));
		f.last = f.a.last[f.first];
	}
	tables = DealTables(f.cxt);
	rls = DealsRestricted(tables);
	if (rls)
		NarrowToReadable(&f);

	/*
	 * A small range is also a condition of the deal scan, which an index on the territory can
	 * serve; a large one would cost the planner more (it estimates each element) than the
	 * receiver's test of every deal of the periods.
	 */
	if ((!PG_ARGISNULL(1) || rls) && f.last - f.first + 1 <= SUBTREE_CONDITION_MAX)
	{
		Datum	   *ids = palloc(sizeof(Datum) * Max(f.last - f.first + 1, 1));

		for (i = f.first; i <= f.last; i++)
			ids[i - f.first] = Int32GetDatum(f.a.ids[i]);
		subtree = construct_array(ids, f.last - f.first + 1, INT4OID, sizeof(int32), true, TYPALIGN_INT);
	}
	f.ncells = f.last - f.first + 1;
	f.cells = palloc0(sizeof(Figures) * f.ncells * f.nperiods);
	f.targets = palloc(sizeof(int64) * f.ncells * f.nperiods);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadConfiguration(&f, PointerGetDatum(periods), get_array_type(ARR_ELEMTYPE(periods)));
	ScanDeals(&f, tables, subtree);
	SPI_finish();

	if (f.adjusted != NULL)
		adjusted = palloc(sizeof(int64) * f.ncells * f.nperiods * NADJUSTABLE);
	Rollup(&f, adjusted);
	EmitRows(&f, fcinfo, layout, rls, adjusted);
	HierarchyUnpin();
}

static void
NullPeriods(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("the periods to forecast must not be null")));
}

/* territory.forecast(period territory.period, territory int4) */
PG_FUNCTION_INFO_V1(territory_forecast);
Datum
territory_forecast(PG_FUNCTION_ARGS)
{
	Datum		period;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);

	if (PG_ARGISNULL(0))
		NullPeriods();
	period = PG_GETARG_DATUM(0);
	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	RunForecast(fcinfo, construct_array(&period, 1, type, typlen, typbyval, typalign), &one_period);
	return (Datum) 0;
}

/* territory.forecast_periods(periods territory.period[], territory int4) */
PG_FUNCTION_INFO_V1(territory_forecast_periods);
Datum
territory_forecast_periods(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		NullPeriods();
	RunForecast(fcinfo, PG_GETARG_ARRAYTYPE_P(0), &many_periods);
	return (Datum) 0;
}
