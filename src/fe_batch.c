/*
 * Batch mode, as the seed script's --data_file/--predictions_file: one
 * instruction a line, answered one by one, written as a JSON array of
 * {"Input", "Output"} (UTF-8 kept) after every answer, atomically.  A
 * rerun after an interruption keeps the answers already written for the
 * same leading instructions and continues from there.
 */
#include "config.h"

#include "fe.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "conv.h"
#include "session.h"
#include "text.h"
#include "xmalloc.h"
#include "utf8.h"
#include "i18n.h"

#define BATCH_MAX_LINES		1000000
#define BATCH_MAX_LINE		(256u << 10)

static volatile sig_atomic_t	batch_stop;

static void
on_stop(int sig)
{
	batch_stop = sig;
}

/* Read the instructions: every non-empty line; NULL on error. */
static char **
read_lines(const char *path, size_t *n)
{
	FILE	*f;
	char	*line = NULL, **v = NULL;
	size_t	 cap = 0, vcap = 0;
	ssize_t	 len;

	*n = 0;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "yangtuo: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((size_t)len > BATCH_MAX_LINE || *n >= BATCH_MAX_LINES ||
		    !utf8_valid(line, (size_t)len)) {
			fprintf(stderr, _("yangtuo: %s:%zu: line too long or "
			    "not UTF-8\n"), path, *n + 1);
			break;
		}
		if (*n == vcap) {
			vcap = vcap == 0 ? 64 : vcap * 2;
			v = xreallocarray(v, vcap, sizeof *v);
		}
		v[(*n)++] = xstrndup(line, (size_t)len);
	}
	free(line);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		while (*n > 0)
			free(v[--*n]);
		free(v);
		return NULL;
	}
	fclose(f);
	return v != NULL ? v : xcalloc(1, sizeof *v);
}

/* The answers already in out for the leading instructions, as a new JSON
 * array (empty if the file is missing, unreadable or for other input). */
static json_t *
previous(const char *path, char **lines, size_t n, size_t *done)
{
	json_t	*a, *e, *keep;
	size_t	 i;

	*done = 0;
	keep = json_array();
	if ((a = json_load_file(path, 0, NULL)) == NULL)
		return keep;
	if (json_is_array(a)) {
		json_array_foreach(a, i, e) {
			const char	*in = json_string_value(json_object_get(e,
					    "Input"));

			if (i >= n || in == NULL || strcmp(in, lines[i]) != 0 ||
			    !json_is_string(json_object_get(e, "Output")))
				break;
			json_array_append(keep, e);
			(*done)++;
		}
	}
	json_decref(a);
	return keep;
}

static int
save(const char *path, json_t *a)
{
	char	*js, *s, *cause = NULL;
	int	 r;

	js = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (js == NULL)
		return -1;
	/* C1, DEL, bidi, tag and zero-width characters escaped too, so
	 * no viewer of the file is driven by the model's output. */
	s = text_json(js);
	free(js);
	r = file_write_atomic(path, s, strlen(s), &cause);
	if (r != 0) {
		text_say(stderr, "yangtuo: %s\n", cause);
		free(cause);
	}
	free(s);
	return r;
}

static void
progress(size_t done, size_t total, size_t first, double t0)
{
	double	el = (double)time(NULL) - t0, eta;
	int	w = 30, fill, i;

	if (!isatty(STDERR_FILENO) || total == 0)
		return;
	fill = (int)(w * done / total);
	eta = done > first ? el / (double)(done - first) *
	    (double)(total - done) : 0;
	fputc('\r', stderr);
	fputc('[', stderr);
	for (i = 0; i < w; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, _("] %zu/%zu  ETA %02d:%02d:%02d "), done, total,
	    (int)(eta / 3600), (int)(eta / 60) % 60, (int)eta % 60);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* Answer one instruction; the reply (caller frees) or NULL. */
static char *
answer(struct fe *fe, struct client *cl, const char *text)
{
	struct conv		 cv;
	struct client_ev	 ev;
	char			*out = NULL, *msg;
	size_t			 len = 0;
	int			 r, done = 0;

	conv_init(&cv);
	if (fe->with_prompt)
		conv_set_system(&cv, fe->system_name, fe->system_text);
	conv_add(&cv, CONV_USER, text, strlen(text));
	if (client_chat(cl, &cv) != 0) {
		conv_free(&cv);
		return NULL;
	}
	conv_free(&cv);
	while (!done) {
		if (batch_stop && cl->busy) {
			client_cancel(cl);
			batch_stop = batch_stop < 0 ? batch_stop : -batch_stop;
		}
		if ((r = client_next(cl, &ev, 100)) < 0)
			break;
		if (r == 0)
			continue;
		if (ev.type == PROTO_EV_TOKEN) {
			out = xreallocarray(out, len + ev.len + 1, 1);
			memcpy(out + len, ev.text, ev.len);
			len += ev.len;
			out[len] = '\0';
		} else if (ev.type == PROTO_EV_DONE) {
			done = 1;
			if (ev.stats.stop == PROTO_STOP_CANCEL) {
				free(out);
				out = NULL;
			} else if (out == NULL)
				out = xstrdup("");
			if (fe->verbose)
				fprintf(stderr, _("[%u prompt tokens, %u "
				    "generated, %.1f t/s]\n"), ev.stats.prompt,
				    ev.stats.generated, ev.stats.decode_sec > 0 ?
				    ev.stats.generated / ev.stats.decode_sec :
				    0.0);
		} else if (ev.type == PROTO_EV_ERROR) {
			msg = client_error_text(ev.code, ev.text);
			text_say(stderr, "yangtuo: %s\n", msg);
			free(msg);
			free(out);
			out = xstrdup("");
			done = 1;
		}
		client_ev_free(&ev);
	}
	return out;
}

/* yangtuo --data-file IN --predictions-file OUT. */
int
fe_batch(struct fe *fe)
{
	struct client	 cl;
	struct sigaction sa;
	char		**lines, *reply;
	size_t		 n, done, first, i;
	json_t		*a, *o;
	double		 t0 = (double)time(NULL);
	int		 status = 0;

	if ((lines = read_lines(fe->data_file, &n)) == NULL)
		return 1;
	a = previous(fe->pred_file, lines, n, &done);
	if (done > 0)
		fprintf(stderr, _("yangtuo: %zu of %zu answers already in %s; "
		    "continuing\n"), done, n, fe->pred_file);
	first = done;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (done < n && fe_connect(fe, &cl) != 0) {
		status = 1;
		goto out;
	}
	for (i = done; i < n && !batch_stop; i++) {
		progress(i, n, first, t0);
		if ((reply = answer(fe, &cl, lines[i])) == NULL)
			break;
		o = json_object();
		json_object_set_new(o, "Input", json_string(lines[i]));
		json_object_set_new(o, "Output", json_string(reply));
		json_array_append_new(a, o);
		free(reply);
		if (save(fe->pred_file, a) != 0) {
			status = 1;
			break;
		}
		progress(i + 1, n, first, t0);
	}
	if (done < n)
		client_stop(&cl);
	if (i < n && status == 0) {
		fprintf(stderr, _("\nyangtuo: stopped after %zu of %zu; run the "
		    "same command again to continue\n"), i, n);
		status = batch_stop ? 128 + (batch_stop < 0 ? -batch_stop :
		    batch_stop) : 1;
	} else if (done == n && save(fe->pred_file, a) != 0)
		status = 1;
out:
	json_decref(a);
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return status;
}
