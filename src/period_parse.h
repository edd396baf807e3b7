/*
 * period_parse.h
 *		The core of the type territory.period that needs no server: the layout of a value, month
 *		arithmetic, and the text and binary forms, in and out.
 *
 * period_parse.c includes only standard headers, so that the parsers can be built and fuzzed on
 * their own (test/fuzz/).  Its functions report what went wrong as a result code; period.c turns
 * the codes into errors.
 */
#ifndef PERIOD_PARSE_H
#define PERIOD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum PeriodKind
{
	PERIOD_MONTH = 1,
	PERIOD_QUARTER,
	PERIOD_YEAR,
	PERIOD_FISCAL_QUARTER,
	PERIOD_FISCAL_YEAR
} PeriodKind;

#define PERIOD_FIRST_KIND PERIOD_MONTH
#define PERIOD_LAST_KIND PERIOD_FISCAL_YEAR

/*
 * A period: 8 bytes, int4-aligned, fixed length, passed by reference.
 *
 *		start			absolute first month, year * 12 + month - 1 (2026-11 is 24322)
 *		kind			a PeriodKind
 *		fiscal_start	for the fiscal kinds, the month (1 .. 12) in which the value's fiscal
 *						years start: the setting in force when it was made; 0 for calendar kinds
 *		unused			always 0
 *
 * Equality is equality of all fields; the order is by start, then length, then kind (calendar
 * kinds before fiscal ones), then fiscal start month.
 */
typedef struct Period
{
	int32_t	 start;
	uint8_t	 kind;
	uint8_t	 fiscal_start;
	uint16_t unused;
} Period;

/*
 * Binary format: a version byte, the kind, the fiscal start month (0 for calendar kinds), then
 * the start month as a 4-byte integer in network order.
 */
#define PERIOD_BINARY_VERSION 1
#define PERIOD_BINARY_LENGTH 7

#define PERIOD_MIN_YEAR 1
#define PERIOD_MAX_YEAR 9999

/* Room for the longest label, FY9999-Q4, with its terminating zero byte. */
#define PERIOD_LABEL_SIZE 16

/* What the text input found wrong, in the order in which it checks. */
typedef enum PeriodParseResult
{
	PERIOD_PARSE_OK = 0,
	PERIOD_PARSE_SYNTAX,	   /* not one of the text forms */
	PERIOD_PARSE_YEAR_RANGE,   /* year outside 1 .. 9999 */
	PERIOD_PARSE_MONTH_RANGE,  /* month outside 1 .. 12 */
	PERIOD_PARSE_QUARTER_RANGE /* quarter outside 1 .. 4 */
} PeriodParseResult;

/*
 * What the binary input found wrong, in the order in which it checks; the number it reports in
 * *value is given with each.
 */
typedef enum PeriodRecvResult
{
	PERIOD_RECV_OK = 0,
	PERIOD_RECV_SHORT,			 /* fewer than PERIOD_BINARY_LENGTH bytes; none */
	PERIOD_RECV_VERSION,		 /* version byte not PERIOD_BINARY_VERSION; the version */
	PERIOD_RECV_KIND,			 /* unknown kind; the kind */
	PERIOD_RECV_FISCAL_START,	 /* fiscal kind, start month not in 1 .. 12; the month */
	PERIOD_RECV_CALENDAR_FISCAL, /* calendar kind, fiscal start month not 0; the month */
	PERIOD_RECV_UNALIGNED,		 /* start month does not start a block of the kind; the start */
	PERIOD_RECV_YEAR_RANGE		 /* label year outside 1 .. 9999; the start */
} PeriodRecvResult;

extern bool	   PeriodKindIsFiscal(int kind);
extern int	   PeriodKindMonths(int kind);
extern int64_t PeriodFloorDiv(int64_t a, int64_t b);
extern int64_t PeriodFloorMod(int64_t a, int64_t b);
extern int64_t PeriodLabelYear(int kind, int fiscal_start, int64_t month);
extern int	   PeriodLabelNumber(int kind, int fiscal_start, int64_t month);
extern int64_t PeriodLabelStart(int kind, int fiscal_start, int64_t year, int number);
extern int64_t PeriodBlockStart(int kind, int fiscal_start, int64_t month);
extern bool	   PeriodYearInRange(int64_t year);

extern PeriodParseResult PeriodParse(const char *str, int fiscal_year_start_month, Period *result);
extern int				 PeriodFormat(const Period *p, char *buf, size_t size);
extern PeriodRecvResult	 PeriodDecode(const unsigned char *data, size_t len, Period *result,
									  int *value);
extern void				 PeriodEncode(const Period *p, unsigned char *data);

#endif /* PERIOD_PARSE_H */
