/*
 * libFuzzer target: the autosave journal reader over arbitrary bytes
 * (torn, damaged or hostile records).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "fe/conv.h"
#include "fe/journal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conv	 c;
	char		*cause = NULL;

	conv_init(&c);
	journal_restore_mem(&c, data, size, &cause);
	free(cause);
	conv_free(&c);
	return 0;
}
