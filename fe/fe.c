/*
 * The pieces every chat front end shares (the line chat, the batch mode
 * and ui/): starting the engine, the conversation to begin with, the
 * sampling parameters by name.  The caller's thread; errors to stderr
 * where the contract says so.
 */
#include "config.h"

#include "fe.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "conv.h"
#include "journal.h"
#include "slashcmd.h"
#include "xmalloc.h"
#include "util.h"
#include "i18n.h"

/* A startup notice: to the front end's hook, else stderr. */
static void
fe_note(struct fe *fe, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	if (fe->note != NULL)
		fe->note(fe->note_arg, s);
	else
		fprintf(stderr, "yangtuo: %s\n", s);
	free(s);
}

/* Add the conversation given by --resume, --session or --history to cv
 * (a session's KV snapshot is restored too); errors go to stderr. */
int
fe_start_conv(struct fe *fe, struct client *cl, struct conv *cv)
{
	char	*cause = NULL, *notice = NULL;
	int	 r;

	if (fe->resume) {
		if ((r = journal_restore(cv, &cause)) < 0) {
			fprintf(stderr, "yangtuo: %s\n", cause);
			free(cause);
			return -1;
		}
		if (r == 0)
			fe_note(fe, _("resumed the last conversation (%zu "
			    "messages)"), cv->n);
		else
			fe_note(fe, _("no conversation to resume"));
	}
	if (fe->session != NULL) {
		conv_clear(cv);
		if (fe_session_load(cl, cv, fe->session, &notice,
		    &cause) != 0) {
			fprintf(stderr, "yangtuo: %s\n", cause);
			free(cause);
			return -1;
		}
		if (notice != NULL && (fe->verbose || fe->note != NULL))
			fe_note(fe, "%s", notice);
		free(notice);
		if ((notice = slashcmd_model_note(cv, cl->model.path)) !=
		    NULL) {
			fe_note(fe, "%s", notice);
			free(notice);
		}
	}
	if (fe->history != NULL && conv_load_json(cv, fe->history,
	    &cause) != 0) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Start the engine thread and load the model; errors go to stderr. */
int
fe_connect(struct fe *fe, struct client *cl)
{
	char	*cause = NULL;

	if (client_start(cl) != 0) {
		fprintf(stderr, _("yangtuo: cannot start the engine: %s\n"),
		    strerror(errno));
		return -1;
	}
	if (client_load_wait(cl, &fe->load, &cause) != 0) {
		fprintf(stderr, "yangtuo: %s\n", cause);
		free(cause);
		client_stop(cl);
		return -1;
	}
	if (client_params(cl, &fe->params) != 0) {
		client_stop(cl);
		return -1;
	}
	return 0;
}

static int
parse_float(const char *s, float lo, float hi, float *out)
{
	char	*end;
	float	 v;

	errno = 0;
	v = strtof(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Set one sampling parameter by name (as in /set and the config). */
int
fe_set_param(struct proto_params *p, const char *name, const char *value,
    char **cause)
{
	long	v;
	float	f;

	if (strcmp(name, "temperature") == 0 || strcmp(name, "temp") == 0) {
		if (parse_float(value, 0.0f, 100.0f, &f) != 0)
			goto bad;
		p->temperature = f;
	} else if (strcmp(name, "top_k") == 0 || strcmp(name, "top-k") == 0) {
		if (util_parse_long(value, 0, 1 << 24, &v) != 0)
			goto bad;
		p->top_k = (int32_t)v;
	} else if (strcmp(name, "top_p") == 0 || strcmp(name, "top-p") == 0) {
		if (parse_float(value, 0.0f, 1.0f, &f) != 0 || f <= 0.0f)
			goto bad;
		p->top_p = f;
	} else if (strcmp(name, "min_p") == 0 || strcmp(name, "min-p") == 0) {
		if (parse_float(value, 0.0f, 1.0f, &f) != 0)
			goto bad;
		p->min_p = f;
	} else if (strcmp(name, "repeat_penalty") == 0 ||
	    strcmp(name, "repeat-penalty") == 0) {
		if (parse_float(value, 0.0f, 10.0f, &f) != 0 || f <= 0.0f)
			goto bad;
		p->repeat_penalty = f;
	} else if (strcmp(name, "repeat_last_n") == 0 ||
	    strcmp(name, "repeat-last-n") == 0) {
		if (util_parse_long(value, -1, 1 << 20, &v) != 0)
			goto bad;
		p->repeat_last_n = (int32_t)v;
	} else if (strcmp(name, "seed") == 0) {
		if (util_parse_long(value, 0, 0x7fffffffL, &v) != 0)
			goto bad;
		p->seed = (uint64_t)v;
	} else if (strcmp(name, "max_tokens") == 0 ||
	    strcmp(name, "max-tokens") == 0) {
		if (util_parse_long(value, -1, 1 << 24, &v) != 0 || v == 0)
			goto bad;
		p->max_tokens = (int32_t)v;
	} else {
		xasprintf(cause, _("unknown parameter '%s' (temperature, "
		    "top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed, "
		    "max_tokens)"), name);
		return -1;
	}
	return 0;
bad:
	xasprintf(cause, _("bad value '%s' for %s"), value, name);
	return -1;
}

/* The parameters in one line; caller frees. */
char *
fe_params_text(const struct proto_params *p)
{
	char	*s, mt[32];

	if (p->max_tokens < 0)
		snprintf(mt, sizeof mt, "%s", _("until the context is full"));
	else
		snprintf(mt, sizeof mt, "%d", p->max_tokens);
	xasprintf(&s, "temperature %.2f, top_k %d, top_p %.2f, min_p %.2f, "
	    "repeat_penalty %.2f, repeat_last_n %d, seed %llu, max_tokens %s",
	    p->temperature, p->top_k, p->top_p, p->min_p, p->repeat_penalty,
	    p->repeat_last_n, (unsigned long long)p->seed, mt);
	return s;
}
