/*
 * Server-sent events as the OpenAI-compatible servers send them: lines
 * ending in LF, CRLF or CR, "data:" fields joined by newlines, comment
 * lines (": ping") and other fields ignored, an empty line ending an
 * event.  Fed whatever a read returned, an event may be split anywhere.
 * Lines and events are bounded; the parser owns no I/O.
 */
#ifndef YT_NET_SSE_H
#define YT_NET_SSE_H

#include <stddef.h>

struct sse {
	char	*line;
	size_t	 len;
	size_t	 cap;
	char	*data;		/* the event's data so far */
	size_t	 dlen;
	size_t	 dcap;
	size_t	 max;		/* bound of a line and of an event's data */
	int	 has_data;
	int	 cr;		/* the last byte ended a line with CR */
};

/* Called with each event's data (NUL-terminated); nonzero stops. */
typedef int	(*sse_fn)(void *arg, const char *data, size_t len);

void	sse_init(struct sse *, size_t max);
void	sse_free(struct sse *);
/* Feed bytes: 0, the callback's nonzero value, or -1 when a line or an
 * event exceeds the bound (or memory runs out). */
int	sse_feed(struct sse *, const char *p, size_t n, sse_fn, void *arg);

#endif
