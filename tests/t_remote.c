/*
 * remote_list_models() (net/remote.c), the list /model shows for a
 * server: run by tests/remote.sh with YT_REMOTE_URL set to a `yangtuo
 * serve` on loopback (alone, it skips).  Also a refused connection and
 * a URL that is not a server's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "net/remote.h"
#include "tap.h"

int
main(void)
{
	const char	*url = getenv("YT_REMOTE_URL");
	char		**ids = NULL, *cause = NULL;
	int		 n, i, found = 0;

	if (url == NULL || *url == '\0') {
		printf("1..0 # SKIP YT_REMOTE_URL not set (tests/remote.sh "
		    "sets it)\n");
		return 0;
	}
	n = remote_list_models(url, NULL, &ids, &cause);
	for (i = 0; i < n; i++)
		found |= strcmp(ids[i], "stories260K") == 0;
	ok(n == 1 && found, "the server lists its one model (%d)", n);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(cause);
	cause = NULL;
	n = remote_list_models("http://127.0.0.1:1/v1", NULL, &ids, &cause);
	ok(n == -1 && cause != NULL && strstr(cause, "127.0.0.1:1") != NULL,
	    "a refused connection: -1 and a cause naming it");
	free(cause);
	return tap_done();
}
