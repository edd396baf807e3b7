/*
 * period_in.c
 *		libFuzzer target: the text input of territory.period (PeriodParse), and what must hold of
 *		every text it accepts.
 *
 * The first byte of an input chooses territory.fiscal_year_start_month (byte % 12 + 1), the rest
 * is the text, up to its first zero byte as a C string would be.  A text that parses must:
 *
 *	- give a value that the binary input would accept: a known kind, a fiscal start month that is
 *	  the setting for fiscal kinds and 0 for calendar ones, a start at the beginning of a block of
 *	  its kind, a year in 0001 .. 9999;
 *	- be its own label once trimmed of white space and upper-cased (a year has exactly four
 *	  digits, a month two, a quarter one: there is a single way to write each value);
 *	- start at the month and have the kind that the label means, computed here apart from
 *	  period_parse.c: a fiscal year that starts in month m is named after the calendar year in
 *	  which it ends, so FY Y starts in month m of Y - 1, or in January of Y when m is 1;
 *	- parse back from that label to the same value, under any setting for calendar kinds;
 *	- come back the same through the binary form (send, then recv).
 *
 * A text that does not parse must fail the same way under every setting.  A broken property
 * aborts, which libFuzzer reports as a crash and saves the input.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "period_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current_text;

#define Check(condition)                                                                           \
	do                                                                                             \
	{                                                                                              \
		if (!(condition))                                                                          \
			Fail(#condition, __LINE__);                                                            \
	} while (0)

static void
Fail(const char *condition, int line)
{
	fprintf(stderr, "period_in.c:%d: property failed: %s\n  input text: \"%s\"\n", line, condition,
			current_text);
	abort();
}

static int
PeriodEqual(const Period *a, const Period *b)
{
	return a->start == b->start && a->kind == b->kind && a->fiscal_start == b->fiscal_start &&
		   a->unused == b->unused;
}

/* The text trimmed of white space at both ends, with its letters upper-cased, into out. */
static void
Normalize(const char *text, char *out)
{
	const char *end = text + strlen(text);

	while (isspace((unsigned char) *text))
		text++;
	while (end > text && isspace((unsigned char) end[-1]))
		end--;
	for (; text < end; text++)
		*out++ = (char) toupper((unsigned char) *text);
	*out = '\0';
}

/*
 * The start month (year * 12 + month - 1) and kind that a label means, from its fields; false
 * when it has none of the forms.
 */
static int
Meaning(const char *label, int fiscal_start, long *start, int *kind)
{
	int	 year;
	int	 number;
	char rest;
	long fiscal_year;

	if (sscanf(label, "FY%4d-Q%1d%c", &year, &number, &rest) == 2)
		*kind = PERIOD_FISCAL_QUARTER;
	else if (sscanf(label, "FY%4d%c", &year, &rest) == 1)
	{
		*kind = PERIOD_FISCAL_YEAR;
		number = 1;
	}
	else if (sscanf(label, "%4d-Q%1d%c", &year, &number, &rest) == 2)
		*kind = PERIOD_QUARTER;
	else if (sscanf(label, "%4d-%2d%c", &year, &number, &rest) == 2)
		*kind = PERIOD_MONTH;
	else if (sscanf(label, "%4d%c", &year, &rest) == 1)
	{
		*kind = PERIOD_YEAR;
		number = 1;
	}
	else
		return 0;

	fiscal_year = fiscal_start == 1 ? year * 12L : (year - 1) * 12L + fiscal_start - 1;
	switch (*kind)
	{
		case PERIOD_MONTH:
			*start = year * 12L + number - 1;
			break;
		case PERIOD_QUARTER:
			*start = year * 12L + (number - 1) * 3;
			break;
		case PERIOD_YEAR:
			*start = year * 12L;
			break;
		case PERIOD_FISCAL_QUARTER:
			*start = fiscal_year + (number - 1) * 3;
			break;
		case PERIOD_FISCAL_YEAR:
			*start = fiscal_year;
			break;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			 *text;
	char			 *normal;
	int				  fiscal_start;
	PeriodParseResult code;
	Period			  p;

	if (size == 0)
		return 0;
	fiscal_start = data[0] % 12 + 1;
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	current_text = text;

	code = PeriodParse(text, fiscal_start, &p);
	Check(code >= PERIOD_PARSE_OK && code <= PERIOD_PARSE_QUARTER_RANGE);
	if (code == PERIOD_PARSE_OK)
	{
		char		  label[PERIOD_LABEL_SIZE];
		unsigned char bytes[PERIOD_BINARY_LENGTH];
		int			  length;
		int			  value;
		long		  start;
		int			  kind;
		Period		  q;

		Check(p.kind >= PERIOD_FIRST_KIND && p.kind <= PERIOD_LAST_KIND);
		Check(p.fiscal_start == (PeriodKindIsFiscal(p.kind) ? fiscal_start : 0));
		Check(p.unused == 0);
		Check(PeriodBlockStart(p.kind, p.fiscal_start, p.start) == p.start);
		Check(PeriodYearInRange(PeriodLabelYear(p.kind, p.fiscal_start, p.start)));

		length = PeriodFormat(&p, label, sizeof(label));
		Check(length > 0 && (size_t) length < sizeof(label));
		normal = malloc(size);
		Normalize(text, normal);
		Check(strcmp(normal, label) == 0);
		free(normal);
		Check(Meaning(label, fiscal_start, &start, &kind));
		Check(p.start == start && p.kind == kind);

		Check(PeriodParse(label, fiscal_start, &q) == PERIOD_PARSE_OK);
		Check(PeriodEqual(&p, &q));
		if (!PeriodKindIsFiscal(p.kind))
		{
			Check(PeriodParse(label, fiscal_start % 12 + 1, &q) == PERIOD_PARSE_OK);
			Check(PeriodEqual(&p, &q));
		}

		PeriodEncode(&p, bytes);
		Check(PeriodDecode(bytes, sizeof(bytes), &q, &value) == PERIOD_RECV_OK);
		Check(PeriodEqual(&p, &q));
	}
	else
	{
		Period q;

		Check(PeriodParse(text, fiscal_start % 12 + 1, &q) == code);
	}
	free(text);
	return 0;
}
