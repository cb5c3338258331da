/*
 * The pieces every chat front end shares (the line chat, the batch mode
 * and ui/): starting the engine, the conversation to begin with, the
 * sampling parameters by name.  The caller's thread; errors to stderr
 * where the contract says so.
 */
#include "config.h"

#include "fe.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "client.h"
#include "conv.h"
#include "journal.h"
#include "modelfile.h"
#include "xdg.h"
#include "slashcmd.h"
#include "xmalloc.h"
#include "util.h"
#include "utf8.h"
#include "i18n.h"
#include "text.h"

/* A Modelfile's MESSAGE lines open a conversation that has none yet. */
static void
preload(struct fe *fe, struct conv *cv)
{
	size_t	i;
	int	role;

	if (cv->n > 0)
		return;
	for (i = 0; i < fe->n_preload; i++)
		if ((role = conv_role_by_name(fe->preload[i].role)) >= 0 &&
		    role != CONV_SYSTEM)
			conv_add(cv, role, fe->preload[i].text,
			    strlen(fe->preload[i].text));
}

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
		text_say(stderr, "yangtuo: %s\n", s);
	free(s);
}

/* Add the conversation given by --resume, --session or --history to cv
 * (a session's KV snapshot is restored too); errors go to stderr. */
int
fe_start_conv(struct fe *fe, struct client *cl, struct conv *cv)
{
	char	*cause = NULL, *notice = NULL;
	int	 r, others = 0;

	if (fe->resume) {
		if ((r = journal_restore(cv, &others, &cause)) < 0) {
			text_say(stderr, "yangtuo: %s\n", cause);
			free(cause);
			return -1;
		}
		if (r == 0)
			fe_note(fe, _("resumed the last conversation (%zu "
			    "messages)"), cv->n);
		else
			fe_note(fe, _("no conversation to resume"));
		if (others > 0)
			fe_note(fe, _("%d more conversations were left by "
			    "crashes: each --resume brings back the next "
			    "newest"), others);
	}
	if (fe->session != NULL) {
		conv_clear(cv);
		if (fe_session_load(cl, cv, fe->session, &notice,
		    &cause) != 0) {
			text_say(stderr, "yangtuo: %s\n", cause);
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
		text_say(stderr, "yangtuo: %s\n", cause);
		free(cause);
		return -1;
	}
	preload(fe, cv);
	return 0;
}

/* The remote worker's options as fe says them. */
static void
fe_ropts(const struct fe *fe, struct remote_opts *o)
{
	o->key_env = fe->api_key_env;
	o->model = fe->remote_model;
	o->insecure = fe->insecure;
}

/* Start the worker, with the remote options set for a server. */
static int
fe_client_start(const struct fe *fe, struct client *cl)
{
	if (client_start(cl) != 0)
		return -1;
	fe_ropts(fe, &cl->ropts);
	return 0;
}

/* Start the engine thread and load the model; errors go to stderr. */
int
fe_connect(struct fe *fe, struct client *cl)
{
	char	*cause = NULL;

	if (fe_client_start(fe, cl) != 0) {
		fprintf(stderr, _("yangtuo: cannot start the engine: %s\n"),
		    strerror(errno));
		return -1;
	}
	if (client_load_wait(cl, &fe->load, &cause) != 0) {
		text_say(stderr, "yangtuo: %s\n", cause);
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
	} else if (strcmp(name, "stop") == 0)
		return fe_add_stop(p, value, cause);
	else {
		xasprintf(cause, _("unknown parameter '%s' (temperature, "
		    "top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed, "
		    "max_tokens, stop)"), name);
		return -1;
	}
	return 0;
bad:
	xasprintf(cause, _("bad value '%s' for %s"), value, name);
	return -1;
}

/*
 * Add a stop string ("" clears them all); 0, or -1 with *cause.  The
 * string is taken as it is: callers decode escapes they allow.
 */
int
fe_add_stop(struct proto_params *p, const char *value, char **cause)
{
	size_t	len = strlen(value);

	if (len == 0) {
		p->n_stop = 0;
		memset(p->stop, 0, sizeof p->stop);
		return 0;
	}
	if (len >= PROTO_STOP_MAX || !utf8_valid(value, len)) {
		xasprintf(cause, _("a stop string must be valid UTF-8 of at "
		    "most %d bytes"), PROTO_STOP_MAX - 1);
		return -1;
	}
	if (p->n_stop >= PROTO_MAX_STOP) {
		xasprintf(cause, _("at most %d stop strings ('/set stop' "
		    "alone clears them)"), PROTO_MAX_STOP);
		return -1;
	}
	memcpy(p->stop[p->n_stop++], value, len + 1);
	return 0;
}

/*
 * Decode the escapes a stop string may be typed with: \n \t \r \\
 * (a newline cannot be typed at a prompt).  In place; -1 for an unknown
 * escape.
 */
int
fe_unescape(char *s)
{
	char	*w = s;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		switch (*++s) {
		case 'n':
			*w++ = '\n';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case '\\':
			*w++ = '\\';
			break;
		default:
			return -1;
		}
	}
	*w = '\0';
	return 0;
}

/* The stop strings as one line, quoted with \n for control characters
 * and every other byte below 0x20 as \xHH; caller frees. */
static char *
stops_text(const struct proto_params *p)
{
	char		*s = xstrdup(""), *t;
	const char	*c;
	char		 e[8];
	uint32_t	 i;

	for (i = 0; i < p->n_stop && i < PROTO_MAX_STOP; i++) {
		xasprintf(&t, "%s%s\"", s, i ? ", " : "");
		free(s);
		s = t;
		for (c = p->stop[i]; *c != '\0'; c++) {
			if (*c == '\n')
				snprintf(e, sizeof e, "\\n");
			else if (*c == '\t')
				snprintf(e, sizeof e, "\\t");
			else if (*c == '"' || *c == '\\')
				snprintf(e, sizeof e, "\\%c", *c);
			else if ((unsigned char)*c < 0x20 || *c == 0x7f)
				snprintf(e, sizeof e, "\\x%02x",
				    (unsigned char)*c);
			else
				snprintf(e, sizeof e, "%c", *c);
			xasprintf(&t, "%s%s", s, e);
			free(s);
			s = t;
		}
		xasprintf(&t, "%s\"", s);
		free(s);
		s = t;
	}
	return s;
}

/* The parameters in one line; caller frees. */
char *
fe_params_text(const struct proto_params *p)
{
	char	*s, *st, mt[32];

	if (p->max_tokens < 0)
		snprintf(mt, sizeof mt, "%s", _("until the context is full"));
	else
		snprintf(mt, sizeof mt, "%d", p->max_tokens);
	st = stops_text(p);
	xasprintf(&s, "temperature %.2f, top_k %d, top_p %.2f, min_p %.2f, "
	    "repeat_penalty %.2f, repeat_last_n %d, seed %llu, max_tokens %s"
	    "%s%s", p->temperature, p->top_k, p->top_p, p->min_p,
	    p->repeat_penalty, p->repeat_last_n, (unsigned long long)p->seed,
	    mt, p->n_stop > 0 ? ", stop " : "", st);
	free(st);
	return s;
}

/*
 * A model file truncated or replaced while it is mapped turns the next
 * read of a lost page into SIGBUS (RELIABILITY-NOTES G13).  Nothing can
 * continue without the weights, so the handler gives the terminal back
 * (the full screen's reset string, the saved terminal modes), says what
 * happened and exits with 74; every finished message is already in the
 * journal.  Only async-signal-safe calls run in it.
 */
static struct termios	 guard_tio;
static volatile int	 guard_tio_saved;
static char		 guard_reset[256];
static char		 guard_msg[512];

static void
guard_bus(int sig)
{
	ssize_t	w;

	(void)sig;
	if (guard_reset[0] != '\0')
		w = write(STDOUT_FILENO, guard_reset, strlen(guard_reset));
	if (guard_tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &guard_tio);
	w = write(STDERR_FILENO, guard_msg, strlen(guard_msg));
	(void)w;
	_exit(74);
}

/* Install the SIGBUS guard; chat: the message points to --resume. */
void
fe_guard_start(int chat)
{
	struct sigaction	sa;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &guard_tio) == 0)
		guard_tio_saved = 1;
	snprintf(guard_msg, sizeof guard_msg, "\n%s\n", chat ?
	    _("yangtuo: the model file was truncated or changed on disk while "
	    "in use (SIGBUS); every finished message is in the autosave "
	    "journal: 'yangtuo --resume' brings the conversation back") :
	    _("yangtuo: the model file was truncated or changed on disk while "
	    "in use (SIGBUS)"));
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = guard_bus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* What the handler writes to give the terminal back (NULL: nothing). */
void
fe_guard_term(const char *reset)
{
	snprintf(guard_reset, sizeof guard_reset, "%s", reset != NULL ?
	    reset : "");
}

/* Add path to v unless there (same file). */
static void
model_add(char ***v, size_t *n, const char *path)
{
	struct stat	st, o;
	size_t		i;

	if (path == NULL || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	for (i = 0; i < *n; i++)
		if (stat((*v)[i], &o) == 0 && o.st_dev == st.st_dev &&
		    o.st_ino == st.st_ino)
			return;
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(path);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .gguf files of dir, sorted, added to v. */
static void
model_dir(char ***v, size_t *n, const char *dir)
{
	struct dirent	 *de;
	DIR		 *d;
	char		**f = NULL, *p;
	size_t		  nf = 0, i, len;

	if (dir == NULL || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && nf < 200) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".gguf") != 0)
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
		f = xreallocarray(f, nf + 1, sizeof *f);
		f[nf++] = p;
	}
	closedir(d);
	qsort(f, nf, sizeof *f, str_cmp);
	for (i = 0; i < nf; i++) {
		model_add(v, n, f[i]);
		free(f[i]);
	}
	free(f);
}

/* A server's model ids, the one in use (asked for, else its first)
 * first; NULL with *cause when it cannot say. */
static char **
remote_models(const struct fe *fe, size_t *n, char **cause)
{
	struct remote_opts	  o;
	char			**v = NULL, *t;
	size_t			  i;
	int			  k;

	*n = 0;
	fe_ropts(fe, &o);
	if ((k = remote_list_models(fe->load.path, &o, &v, cause)) < 0)
		return NULL;
	*n = (size_t)k;
	for (i = 1; fe->remote_model != NULL && i < *n; i++)
		if (strcmp(v[i], fe->remote_model) == 0) {
			t = v[i];
			memmove(v + 1, v, i * sizeof *v);
			v[0] = t;
			break;
		}
	return v;
}

/* The models /model offers. */
char **
fe_model_list(const struct fe *fe, size_t *n, char **cause)
{
	char	**v = NULL, *dir, *slash, *why = NULL;

	*n = 0;
	if (remote_is_url(fe->load.path)) {
		v = remote_models(fe, n, &why);
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		return v;
	}
	model_add(&v, n, fe->load.path);
	model_add(&v, n, fe->cfg != NULL ? fe->cfg->model : NULL);
	if (fe->load.path != NULL &&
	    (slash = strrchr(fe->load.path, '/')) != NULL) {
		dir = xstrndup(fe->load.path, (size_t)(slash - fe->load.path));
		model_dir(&v, n, *dir != '\0' ? dir : "/");
		free(dir);
	} else
		model_dir(&v, n, ".");
	if ((dir = xdg_dir(XDG_DATA, "models", 0)) != NULL) {
		model_dir(&v, n, dir);
		free(dir);
	}
	return v;
}

void
fe_model_list_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The model arg names. */
char *
fe_model_find(const struct fe *fe, const char *arg)
{
	char		**v, *r = NULL, *end;
	const char	 *base;
	size_t		  n, i, len;
	long		  k;
	int		  remote = remote_is_url(fe->load.path);

	/* A path names a file; a server's model goes by its number or its
	 * whole id (which may hold a '/'), a file by its number or name. */
	if (!remote && strchr(arg, '/') != NULL)
		return access(arg, R_OK) == 0 ? xstrdup(arg) : NULL;
	v = fe_model_list(fe, &n, NULL);
	k = strtol(arg, &end, 10);
	if (*end == '\0' && k >= 1 && (size_t)k <= n)
		r = xstrdup(v[k - 1]);
	len = strlen(arg);
	for (i = 0; r == NULL && i < n; i++) {
		if (remote) {
			if (strcmp(v[i], arg) == 0)
				r = xstrdup(v[i]);
			continue;
		}
		base = strrchr(v[i], '/') != NULL ? strrchr(v[i], '/') + 1 :
		    v[i];
		if (strcmp(base, arg) == 0 || (strncmp(base, arg, len) == 0 &&
		    strcmp(base + len, ".gguf") == 0))
			r = xstrdup(v[i]);
	}
	fe_model_list_free(v, n);
	return r;
}

/* Another model of the same server: a new worker asking for it, the old
 * one back on failure. */
static int
switch_remote(struct fe *fe, struct client *cl, const char *id,
    char **cause)
{
	const char	*was = fe->remote_model;
	char		*keep = xstrdup(id), *why = NULL;

	client_stop(cl);
	fe->remote_model = keep;
	if (fe_client_start(fe, cl) == 0 && client_load_wait(cl, &fe->load,
	    cause) == 0 && client_params(cl, &fe->params) == 0) {
		free(fe->remote_own);
		fe->remote_own = keep;
		return 0;
	}
	if (*cause == NULL)
		*cause = xstrdup(strerror(errno));
	fe->remote_model = was;
	free(keep);
	client_stop(cl);
	if (fe_client_start(fe, cl) != 0 || client_load_wait(cl, &fe->load,
	    &why) != 0 || client_params(cl, &fe->params) != 0)
		free(why);
	return -1;
}

/* A new engine on another model, the old one back on failure. */
int
fe_switch_model(struct fe *fe, struct client *cl, const char *path,
    char **cause)
{
	struct proto_load	 l = fe->load;
	char			*keep, *why = NULL;

	if (remote_is_url(fe->load.path))
		return switch_remote(fe, cl, path, cause);
	client_stop(cl);
	l.path = (char *)path;
	if (client_start(cl) == 0 && client_load_wait(cl, &l, cause) == 0 &&
	    client_params(cl, &fe->params) == 0) {
		keep = xstrdup(path);
		free(fe->model_path);
		fe->model_path = keep;
		fe->load.path = keep;
		fe->demo = 0;
		return 0;
	}
	if (*cause == NULL)
		*cause = xstrdup(strerror(errno));
	client_stop(cl);
	if (fe_client_start(fe, cl) != 0 || client_load_wait(cl, &fe->load,
	    &why) != 0 || client_params(cl, &fe->params) != 0) {
		free(why);
		why = NULL;
	}
	return -1;
}
