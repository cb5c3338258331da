/*
 * libFuzzer target: the config and the theme loaders over arbitrary
 * bytes (RELIABILITY-NOTES Y1-Y5).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "fe/cfg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
warn(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg		 c;
	struct cfg_theme	 t;
	char			*cause = NULL;

	cfg_init(&c);
	cfg_load_string(&c, "fuzz.yaml", (const char *)data, size, warn, NULL,
	    &cause);
	free(cause);
	cause = NULL;
	cfg_free(&c);
	cfg_theme_init(&t);
	cfg_theme_load_string(&t, "fuzz-theme.yaml", (const char *)data, size,
	    warn, NULL, &cause);
	free(cause);
	cfg_theme_free(&t);
	return 0;
}
