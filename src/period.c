/*
 * period.c
 *		The type territory.period: a month, a quarter, a year, a fiscal quarter or a fiscal year,
 *		the unit in which quotas, forecasts and reports are kept.
 *
 * Text forms, in and out:
 *		2026-11		month				FY2027		fiscal year ending in 2027
 *		2026-Q4		quarter				FY2027-Q1	first quarter of that fiscal year
 *		2026		calendar year
 *
 * Fiscal years start in the month territory.fiscal_year_start_month (1 = January) and are named
 * after the calendar year in which they end: with 7, FY2027 runs from 2026-07-01 to 2027-06-30.
 * A fiscal value keeps the start month that was in force when it was made, so that its dates and
 * its label never change when the setting does: the input of the fiscal forms depends on the
 * setting (STABLE, like date_in), everything else is IMMUTABLE.
 *
 * Arithmetic is on absolute months (year * 12 + month - 1, with the year as j2date counts it, so
 * that 1 BC is year 0): a period is the months [start, start + length).  Each kind divides the
 * months into consecutive blocks of its length from an origin month (January, or the fiscal start
 * month), and a value's start is always at the beginning of such a block.  The year in a label
 * lies in 1 .. 9999; with a fiscal start month other than January, FY0001 begins in 1 BC.
 *
 * The layout of a value, the month arithmetic and the parsing and printing of the text and
 * binary forms are in period_parse.c, which needs no server (test/fuzz/ fuzzes it alone); this
 * file turns its result codes into errors and holds the SQL-callable functions.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/sortsupport.h"

#include "period_parse.h"
#include "territory.h"

StaticAssertDecl(sizeof(Period) == 8, "territory.period is declared with INTERNALLENGTH = 8");

#define DatumGetPeriodP(X) ((Period *) DatumGetPointer(X))
#define PG_GETARG_PERIOD_P(n) DatumGetPeriodP(PG_GETARG_DATUM(n))
#define PG_RETURN_PERIOD_P(x) PG_RETURN_POINTER(x)

/* The text forms, for the hints of input errors. */
#define PERIOD_FORMS_HINT                                                                          \
	"A period is a month (2026-11), a quarter (2026-Q4), a year (2026), a fiscal year (FY2027) "   \
	"or a fiscal quarter (FY2027-Q1), with a four-digit year."

/* territory.fiscal_year_start_month */
static int fiscal_year_start_month = 1;

static const char *const kind_names[] = {
	[PERIOD_MONTH] = "month",
	[PERIOD_QUARTER] = "quarter",
	[PERIOD_YEAR] = "year",
	[PERIOD_FISCAL_QUARTER] = "fiscal_quarter",
	[PERIOD_FISCAL_YEAR] = "fiscal_year",
};

void
PeriodInit(void)
{
	DefineCustomIntVariable("territory.fiscal_year_start_month",
							"The month in which fiscal years start (1 = January).",
							"Fiscal years are named after the calendar year in which they end. "
							"Periods already made keep the start month they were made with.",
							&fiscal_year_start_month, 1, 1, 12, PGC_USERSET, 0, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- month arithmetic */

/* Length in months of a kind that a value holds: unknown kinds cannot happen. */
static int
KindMonths(int kind)
{
	int months = PeriodKindMonths(kind);

	if (months == 0)
		elog(ERROR, "unrecognized period kind: %d", kind);
	return months;
}

/*
 * A period of the calendar of proto that starts at month, which must start a block; an error
 * when its label year is out of range.
 */
static Period *
PeriodAt(const Period *proto, int64 month)
{
	Period *result;

	if (!PeriodYearInRange(PeriodLabelYear(proto->kind, proto->fiscal_start, month)))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("period out of range"),
						errdetail("The years of periods range from 0001 to 9999.")));
	result = palloc0(sizeof(Period));
	result->start = (int32) month;
	result->kind = proto->kind;
	result->fiscal_start = proto->fiscal_start;
	return result;
}

/* Day number (DateADT) of the first day of an absolute month. */
static DateADT
MonthDate(int64 month)
{
	return date2j((int) PeriodFloorDiv(month, 12), (int) PeriodFloorMod(month, 12) + 1, 1) -
		   POSTGRES_EPOCH_JDATE;
}

static int64
PeriodEnd(const Period *p)
{
	return (int64) p->start + KindMonths(p->kind);
}

static int
PeriodCmp(const Period *a, const Period *b)
{
	int alen = KindMonths(a->kind);
	int blen = KindMonths(b->kind);

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->fiscal_start != b->fiscal_start)
		return a->fiscal_start < b->fiscal_start ? -1 : 1;
	return 0;
}

/* ---------------------------------------------------------------- text */

PG_FUNCTION_INFO_V1(territory_period_in);
Datum
territory_period_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	Period	   *result = palloc0(sizeof(Period));

	switch (PeriodParse(str, fiscal_year_start_month, result))
	{
		case PERIOD_PARSE_OK:
			break;
		case PERIOD_PARSE_SYNTAX:
			ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							errmsg("invalid input syntax for type period: \"%s\"", str),
							errhint(PERIOD_FORMS_HINT)));
			break;
		case PERIOD_PARSE_YEAR_RANGE:
			ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							errmsg("period year out of range: \"%s\"", str),
							errdetail("The years of periods range from 0001 to 9999.")));
			break;
		case PERIOD_PARSE_MONTH_RANGE:
			ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							errmsg("period month out of range: \"%s\"", str),
							errdetail("Months are numbered from 01 to 12.")));
			break;
		case PERIOD_PARSE_QUARTER_RANGE:
			ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							errmsg("period quarter out of range: \"%s\"", str),
							errdetail("Quarters are numbered from Q1 to Q4.")));
			break;
	}
	PG_RETURN_PERIOD_P(result);
}

static char *
PeriodLabel(const Period *p)
{
	char label[PERIOD_LABEL_SIZE];

	if (PeriodFormat(p, label, sizeof(label)) < 0)
		elog(ERROR, "unrecognized period kind: %d", p->kind);
	return pstrdup(label);
}

PG_FUNCTION_INFO_V1(territory_period_out);
Datum
territory_period_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(PeriodLabel(PG_GETARG_PERIOD_P(0)));
}

/* ---------------------------------------------------------------- binary */

TerritoryNoReturn static void BinaryError(const char *detail, int value);

static void
BinaryError(const char *detail, int value)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					errmsg("invalid external period value"), errdetail_internal(detail, value)));
}

PG_FUNCTION_INFO_V1(territory_period_recv);
Datum
territory_period_recv(PG_FUNCTION_ARGS)
{
	StringInfo buf = (StringInfo) PG_GETARG_POINTER(0);
	Period	  *result = palloc0(sizeof(Period));
	int		   value;

	switch (PeriodDecode((const unsigned char *) buf->data + buf->cursor, buf->len - buf->cursor,
						 result, &value))
	{
		case PERIOD_RECV_OK:
			break;
		case PERIOD_RECV_SHORT:
			BinaryError("An external period has %d bytes.", PERIOD_BINARY_LENGTH);
			break;
		case PERIOD_RECV_VERSION:
			ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
							errmsg("unsupported period version number %d", value)));
			break;
		case PERIOD_RECV_KIND:
			BinaryError("Kind %d is unknown.", value);
			break;
		case PERIOD_RECV_FISCAL_START:
			BinaryError("Fiscal start month %d is out of range.", value);
			break;
		case PERIOD_RECV_CALENDAR_FISCAL:
			BinaryError("A calendar period has fiscal start month %d instead of 0.", value);
			break;
		case PERIOD_RECV_UNALIGNED:
			BinaryError("Month %d does not start a period of the kind.", value);
			break;
		case PERIOD_RECV_YEAR_RANGE:
			BinaryError("Month %d is outside the years 0001 to 9999.", value);
			break;
	}
	/* the caller sees that nothing follows */
	buf->cursor += PERIOD_BINARY_LENGTH;
	PG_RETURN_PERIOD_P(result);
}

PG_FUNCTION_INFO_V1(territory_period_send);
Datum
territory_period_send(PG_FUNCTION_ARGS)
{
	unsigned char  data[PERIOD_BINARY_LENGTH];
	StringInfoData buf;

	PeriodEncode(PG_GETARG_PERIOD_P(0), data);
	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (const char *) data, PERIOD_BINARY_LENGTH);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------- order, equality, hashing */

PG_FUNCTION_INFO_V1(territory_period_cmp);
Datum
territory_period_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)));
}

/* An SQL-callable function that returns the truth of an expression of its arguments. */
#define PERIOD_PREDICATE(name, expression)                                                         \
	PG_FUNCTION_INFO_V1(name);                                                                     \
	Datum name(PG_FUNCTION_ARGS)                                                                   \
	{                                                                                              \
		PG_RETURN_BOOL(expression);                                                                \
	}

PERIOD_PREDICATE(territory_period_eq, PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) == 0)
PERIOD_PREDICATE(territory_period_ne, PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) != 0)
PERIOD_PREDICATE(territory_period_lt, PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) < 0)
PERIOD_PREDICATE(territory_period_le, PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) <= 0)
PERIOD_PREDICATE(territory_period_gt, PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) > 0)
PERIOD_PREDICATE(territory_period_ge, PeriodCmp(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)) >= 0)

static int
PeriodFastCmp(Datum a, Datum b, SortSupport ssup)
{
	return PeriodCmp(DatumGetPeriodP(a), DatumGetPeriodP(b));
}

PG_FUNCTION_INFO_V1(territory_period_sortsupport);
Datum
territory_period_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = PeriodFastCmp;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(territory_period_smaller);
Datum
territory_period_smaller(PG_FUNCTION_ARGS)
{
	Period *a = PG_GETARG_PERIOD_P(0);
	Period *b = PG_GETARG_PERIOD_P(1);

	PG_RETURN_PERIOD_P(PeriodCmp(a, b) <= 0 ? a : b);
}

PG_FUNCTION_INFO_V1(territory_period_larger);
Datum
territory_period_larger(PG_FUNCTION_ARGS)
{
	Period *a = PG_GETARG_PERIOD_P(0);
	Period *b = PG_GETARG_PERIOD_P(1);

	PG_RETURN_PERIOD_P(PeriodCmp(a, b) >= 0 ? a : b);
}

/*
 * The fields packed into 32 bits, the same on every platform: start < 2^17 (year 9999 and
 * December are 119999), kind in bits 20-22, fiscal start in bits 24-27.
 */
static uint32
PeriodHashKey(const Period *p)
{
	return (uint32) p->start | (uint32) p->kind << 20 | (uint32) p->fiscal_start << 24;
}

PG_FUNCTION_INFO_V1(territory_period_hash);
Datum
territory_period_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32(PeriodHashKey(PG_GETARG_PERIOD_P(0)));
}

PG_FUNCTION_INFO_V1(territory_period_hash_extended);
Datum
territory_period_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended(PeriodHashKey(PG_GETARG_PERIOD_P(0)), PG_GETARG_INT64(1));
}

/* ---------------------------------------------------------------- dates and spans */

PG_FUNCTION_INFO_V1(territory_period_lower);
Datum
territory_period_lower(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(MonthDate(PG_GETARG_PERIOD_P(0)->start));
}

PG_FUNCTION_INFO_V1(territory_period_upper);
Datum
territory_period_upper(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(MonthDate(PeriodEnd(PG_GETARG_PERIOD_P(0))));
}

/*
 * Containment and overlap.  The commuted forms (<@) have C functions of their own rather than
 * SQL ones: the planner would inline those and lose the operators' selectivity estimators.
 */
static bool
PeriodContainsDate(const Period *p, DateADT d)
{
	return MonthDate(p->start) <= d && d < MonthDate(PeriodEnd(p));
}

static bool
PeriodContains(const Period *a, const Period *b)
{
	return a->start <= b->start && PeriodEnd(b) <= PeriodEnd(a);
}

static bool
PeriodOverlaps(const Period *a, const Period *b)
{
	return a->start < PeriodEnd(b) && b->start < PeriodEnd(a);
}

PERIOD_PREDICATE(territory_period_contains_date,
				 PeriodContainsDate(PG_GETARG_PERIOD_P(0), PG_GETARG_DATEADT(1)))
PERIOD_PREDICATE(territory_date_contained_by_period,
				 PeriodContainsDate(PG_GETARG_PERIOD_P(1), PG_GETARG_DATEADT(0)))
PERIOD_PREDICATE(territory_period_contains,
				 PeriodContains(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)))
PERIOD_PREDICATE(territory_period_contained_by,
				 PeriodContains(PG_GETARG_PERIOD_P(1), PG_GETARG_PERIOD_P(0)))
PERIOD_PREDICATE(territory_period_overlaps,
				 PeriodOverlaps(PG_GETARG_PERIOD_P(0), PG_GETARG_PERIOD_P(1)))

/* ---------------------------------------------------------------- functions */

PG_FUNCTION_INFO_V1(territory_period_kind);
Datum
territory_period_kind(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(kind_names[PG_GETARG_PERIOD_P(0)->kind]));
}

PG_FUNCTION_INFO_V1(territory_period_of);
Datum
territory_period_of(PG_FUNCTION_ARGS)
{
	DateADT d = PG_GETARG_DATEADT(0);
	char   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Period	proto = {0};
	int		year;
	int		month;
	int		day;

	for (proto.kind = PERIOD_FIRST_KIND; proto.kind <= PERIOD_LAST_KIND; proto.kind++)
		if (strcmp(name, kind_names[proto.kind]) == 0)
			break;
	if (proto.kind > PERIOD_LAST_KIND)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized period kind: \"%s\"", name),
				 errhint("The kinds are month, quarter, year, fiscal_quarter and fiscal_year.")));
	if (DATE_NOT_FINITE(d))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("period out of range"),
						errdetail("An infinite date lies in no period.")));
	if (PeriodKindIsFiscal(proto.kind))
		proto.fiscal_start = fiscal_year_start_month;

	j2date(d + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	PG_RETURN_PERIOD_P(PeriodAt(
		&proto, PeriodBlockStart(proto.kind, proto.fiscal_start, (int64) year * 12 + month - 1)));
}

PG_FUNCTION_INFO_V1(territory_period_next);
Datum
territory_period_next(PG_FUNCTION_ARGS)
{
	Period *p = PG_GETARG_PERIOD_P(0);

	PG_RETURN_PERIOD_P(PeriodAt(p, p->start + (int64) PG_GETARG_INT32(1) * KindMonths(p->kind)));
}

/* State of periods(): the next period to return and the start of the last one. */
typedef struct PeriodSeries
{
	Period next;
	int32  last;
} PeriodSeries;

PG_FUNCTION_INFO_V1(territory_periods);
Datum
territory_periods(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	PeriodSeries	*series;

	if (SRF_IS_FIRSTCALL())
	{
		Period *from = PG_GETARG_PERIOD_P(0);
		Period *to = PG_GETARG_PERIOD_P(1);

		if (from->kind != to->kind)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot list the periods from %s to %s", PeriodLabel(from),
								   PeriodLabel(to)),
							errdetail("The first is of kind %s, the second of kind %s.",
									  kind_names[from->kind], kind_names[to->kind]),
							errhint("Give two periods of the same kind.")));
		if (from->fiscal_start != to->fiscal_start)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot list the periods from %s to %s", PeriodLabel(from),
							PeriodLabel(to)),
					 errdetail("The first was made with fiscal years starting in month %d, the "
							   "second in month %d.",
							   from->fiscal_start, to->fiscal_start),
					 errhint("Give two periods made with the same "
							 "territory.fiscal_year_start_month.")));

		funcctx = SRF_FIRSTCALL_INIT();
		series = MemoryContextAlloc(funcctx->multi_call_memory_ctx, sizeof(PeriodSeries));
		series->next = *from;
		series->last = to->start;
		funcctx->user_fctx = series;
	}

	funcctx = SRF_PERCALL_SETUP();
	series = funcctx->user_fctx;
	if (series->next.start <= series->last)
	{
		Period *result = palloc(sizeof(Period));

		*result = series->next;
		/* both ends are valid periods: no step between them leaves the range of years */
		series->next.start += KindMonths(series->next.kind);
		SRF_RETURN_NEXT(funcctx, PointerGetDatum(result));
	}
	SRF_RETURN_DONE(funcctx);
}
