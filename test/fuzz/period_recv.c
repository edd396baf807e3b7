/*
 * period_recv.c
 *		libFuzzer target: the binary input of territory.period (PeriodDecode) on arbitrary bytes,
 *		and what must hold of every value it accepts.
 *
 * The whole input is the external value.  Fewer than 7 bytes must be refused as short; an
 * accepted value must:
 *
 *	- send back (PeriodEncode) to the 7 bytes it came from;
 *	- have a label that the text input, with the value's own fiscal start month as the setting,
 *	  parses back to the same value: the binary input accepts nothing the text input cannot make.
 *
 * A broken property aborts, which libFuzzer reports as a crash and saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "period_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define Check(condition)                                                                           \
	do                                                                                             \
	{                                                                                              \
		if (!(condition))                                                                          \
			Fail(#condition, __LINE__);                                                            \
	} while (0)

static void
Fail(const char *condition, int line)
{
	fprintf(stderr, "period_recv.c:%d: property failed: %s\n", line, condition);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PeriodRecvResult code;
	Period			 p;
	int				 value;

	code = PeriodDecode(data, size, &p, &value);
	Check(code >= PERIOD_RECV_OK && code <= PERIOD_RECV_YEAR_RANGE);
	Check((size < PERIOD_BINARY_LENGTH) == (code == PERIOD_RECV_SHORT));
	if (code == PERIOD_RECV_VERSION)
		Check(value == data[0] && value != PERIOD_BINARY_VERSION);
	if (code == PERIOD_RECV_OK)
	{
		unsigned char bytes[PERIOD_BINARY_LENGTH];
		char		  label[PERIOD_LABEL_SIZE];
		int			  length;
		Period		  q;

		Check(p.unused == 0);
		PeriodEncode(&p, bytes);
		Check(memcmp(bytes, data, PERIOD_BINARY_LENGTH) == 0);

		length = PeriodFormat(&p, label, sizeof(label));
		Check(length > 0 && (size_t) length < sizeof(label));
		Check(PeriodParse(label, PeriodKindIsFiscal(p.kind) ? p.fiscal_start : 1, &q) ==
			  PERIOD_PARSE_OK);
		Check(q.start == p.start && q.kind == p.kind && q.fiscal_start == p.fiscal_start &&
			  q.unused == 0);
	}
	return 0;
}
