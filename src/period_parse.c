/*
 * period_parse.c
 *		Month arithmetic and the text and binary forms of territory.period, in plain C.
 *
 * This file includes only standard headers and period_parse.h: the extension compiles it with
 * the rest of src/, and test/fuzz/ builds it alone with libFuzzer.  Nothing here allocates or
 * raises an error; the parsers return a result code and period.c reports it.
 *
 * Arithmetic is on absolute months (year * 12 + month - 1, with the year as j2date counts it, so
 * that 1 BC is year 0): a period is the months [start, start + length).  Each kind divides the
 * months into consecutive blocks of its length from an origin month (January, or the fiscal start
 * month), and a value's start is always at the beginning of such a block.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "period_parse.h"

/* ---------------------------------------------------------------- month arithmetic */

int64_t
PeriodFloorDiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t
PeriodFloorMod(int64_t a, int64_t b)
{
	return a - PeriodFloorDiv(a, b) * b;
}

bool
PeriodKindIsFiscal(int kind)
{
	return kind == PERIOD_FISCAL_QUARTER || kind == PERIOD_FISCAL_YEAR;
}

/* Length in months; 0 for an unknown kind, which the functions below must not be given. */
int
PeriodKindMonths(int kind)
{
	switch (kind)
	{
		case PERIOD_MONTH:
			return 1;
		case PERIOD_QUARTER:
		case PERIOD_FISCAL_QUARTER:
			return 3;
		case PERIOD_YEAR:
		case PERIOD_FISCAL_YEAR:
			return 12;
	}
	return 0;
}

/*
 * The calendar of a kind and fiscal start month: the absolute month at which its year 0 would
 * start.  A calendar year starts in January of the year it is named after, a fiscal year that
 * starts in another month in the year before the one it is named after.
 */
static int64_t
YearZero(int kind, int fiscal_start)
{
	if (!PeriodKindIsFiscal(kind) || fiscal_start == 1)
		return 0;
	return fiscal_start - 1 - 12;
}

/* Year of the label of the block that starts at (or contains) an absolute month. */
int64_t
PeriodLabelYear(int kind, int fiscal_start, int64_t month)
{
	return PeriodFloorDiv(month - YearZero(kind, fiscal_start), 12);
}

/* Month (1 .. 12) or quarter (1 .. 4) within the label year of the block that contains month. */
int
PeriodLabelNumber(int kind, int fiscal_start, int64_t month)
{
	return PeriodFloorMod(month - YearZero(kind, fiscal_start), 12) / PeriodKindMonths(kind) + 1;
}

/* Absolute start month of a label: number is the month or quarter, 1 for years. */
int64_t
PeriodLabelStart(int kind, int fiscal_start, int64_t year, int number)
{
	return YearZero(kind, fiscal_start) + year * 12 +
		   (int64_t) (number - 1) * PeriodKindMonths(kind);
}

/* First month of the block of this kind that contains month. */
int64_t
PeriodBlockStart(int kind, int fiscal_start, int64_t month)
{
	return month - PeriodFloorMod(month - YearZero(kind, fiscal_start), PeriodKindMonths(kind));
}

bool
PeriodYearInRange(int64_t year)
{
	return year >= PERIOD_MIN_YEAR && year <= PERIOD_MAX_YEAR;
}

/* ---------------------------------------------------------------- text */

/*
 * Reads a run of digits at *s, of at least min and at most max digits unless max is 0; sets
 * *value to the number, or to INT_MAX when there are more than four digits.  False when the run
 * is shorter or longer than allowed.
 */
static bool
ReadNumber(const char **s, int min, int max, int *value)
{
	int n = 0;

	*value = 0;
	for (; isdigit((unsigned char) **s); (*s)++, n++)
		*value = n < 4 ? *value * 10 + (**s - '0') : INT_MAX;
	return n >= min && (max == 0 || n <= max);
}

/*
 * Parses a text form, with white space around it and letters in either case; the fiscal forms
 * take fiscal_year_start_month (1 .. 12).  Sets *result only when the text is valid.
 */
PeriodParseResult
PeriodParse(const char *str, int fiscal_year_start_month, Period *result)
{
	const char *s = str;
	bool		fiscal = false;
	int			kind;
	int			year;
	int			number = 1;
	int			fiscal_start = 0;

	while (isspace((unsigned char) *s))
		s++;
	if ((s[0] == 'F' || s[0] == 'f') && (s[1] == 'Y' || s[1] == 'y'))
	{
		fiscal = true;
		s += 2;
	}
	if (!ReadNumber(&s, 4, 0, &year))
		return PERIOD_PARSE_SYNTAX;
	kind = fiscal ? PERIOD_FISCAL_YEAR : PERIOD_YEAR;
	if (s[0] == '-' && (s[1] == 'Q' || s[1] == 'q'))
	{
		s += 2;
		if (!ReadNumber(&s, 1, 1, &number))
			return PERIOD_PARSE_SYNTAX;
		kind = fiscal ? PERIOD_FISCAL_QUARTER : PERIOD_QUARTER;
	}
	else if (s[0] == '-' && !fiscal)
	{
		s++;
		if (!ReadNumber(&s, 2, 2, &number))
			return PERIOD_PARSE_SYNTAX;
		kind = PERIOD_MONTH;
	}
	while (isspace((unsigned char) *s))
		s++;
	if (*s != '\0')
		return PERIOD_PARSE_SYNTAX;

	if (!PeriodYearInRange(year))
		return PERIOD_PARSE_YEAR_RANGE;
	if (kind == PERIOD_MONTH && (number < 1 || number > 12))
		return PERIOD_PARSE_MONTH_RANGE;
	if (PeriodKindMonths(kind) == 3 && (number < 1 || number > 4))
		return PERIOD_PARSE_QUARTER_RANGE;

	if (fiscal)
		fiscal_start = fiscal_year_start_month;
	memset(result, 0, sizeof(Period));
	result->start = (int32_t) PeriodLabelStart(kind, fiscal_start, year, number);
	result->kind = kind;
	result->fiscal_start = fiscal_start;
	return PERIOD_PARSE_OK;
}

/*
 * Writes the label of a period into buf, like snprintf: returns the length of the label, or -1
 * for an unknown kind.
 */
int
PeriodFormat(const Period *p, char *buf, size_t size)
{
	int year;
	int number;

	if (PeriodKindMonths(p->kind) == 0)
		return -1;
	year = (int) PeriodLabelYear(p->kind, p->fiscal_start, p->start);
	number = PeriodLabelNumber(p->kind, p->fiscal_start, p->start);
	switch (p->kind)
	{
		case PERIOD_MONTH:
			return snprintf(buf, size, "%04d-%02d", year, number);
		case PERIOD_QUARTER:
			return snprintf(buf, size, "%04d-Q%d", year, number);
		case PERIOD_YEAR:
			return snprintf(buf, size, "%04d", year);
		case PERIOD_FISCAL_QUARTER:
			return snprintf(buf, size, "FY%04d-Q%d", year, number);
		case PERIOD_FISCAL_YEAR:
			return snprintf(buf, size, "FY%04d", year);
	}
	return -1;
}

/* ---------------------------------------------------------------- binary */

/*
 * Checks the binary form at data, of len bytes (more than PERIOD_BINARY_LENGTH are allowed: the
 * caller sees to the rest), as strictly as the text input checks text.  Sets *result when valid,
 * and otherwise *value to the number the error reports.
 */
PeriodRecvResult
PeriodDecode(const unsigned char *data, size_t len, Period *result, int *value)
{
	Period p;

	*value = 0;
	if (len < PERIOD_BINARY_LENGTH)
		return PERIOD_RECV_SHORT;
	if (data[0] != PERIOD_BINARY_VERSION)
	{
		*value = data[0];
		return PERIOD_RECV_VERSION;
	}

	memset(&p, 0, sizeof(p));
	p.kind = data[1];
	p.fiscal_start = data[2];
	p.start = (int32_t) ((uint32_t) data[3] << 24 | (uint32_t) data[4] << 16 |
						 (uint32_t) data[5] << 8 | (uint32_t) data[6]);

	if (p.kind < PERIOD_FIRST_KIND || p.kind > PERIOD_LAST_KIND)
	{
		*value = p.kind;
		return PERIOD_RECV_KIND;
	}
	if (PeriodKindIsFiscal(p.kind) && (p.fiscal_start < 1 || p.fiscal_start > 12))
	{
		*value = p.fiscal_start;
		return PERIOD_RECV_FISCAL_START;
	}
	if (!PeriodKindIsFiscal(p.kind) && p.fiscal_start != 0)
	{
		*value = p.fiscal_start;
		return PERIOD_RECV_CALENDAR_FISCAL;
	}
	if (PeriodBlockStart(p.kind, p.fiscal_start, p.start) != p.start)
	{
		*value = p.start;
		return PERIOD_RECV_UNALIGNED;
	}
	if (!PeriodYearInRange(PeriodLabelYear(p.kind, p.fiscal_start, p.start)))
	{
		*value = p.start;
		return PERIOD_RECV_YEAR_RANGE;
	}
	*result = p;
	return PERIOD_RECV_OK;
}

/* Writes the PERIOD_BINARY_LENGTH bytes of the binary form of a period at data. */
void
PeriodEncode(const Period *p, unsigned char *data)
{
	uint32_t start = (uint32_t) p->start;

	data[0] = PERIOD_BINARY_VERSION;
	data[1] = p->kind;
	data[2] = p->fiscal_start;
	data[3] = (unsigned char) (start >> 24);
	data[4] = (unsigned char) (start >> 16);
	data[5] = (unsigned char) (start >> 8);
	data[6] = (unsigned char) start;
}
