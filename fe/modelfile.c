/*
 * ollama's Modelfile: one command a line (keywords in any case), values
 * bare to the end of the line, "quoted" or in """ blocks over several
 * lines, # comments.  FROM and ADAPTER paths are relative to the
 * Modelfile's folder; a FROM that names no file is an ollama model.
 */
#include "config.h"

#include "modelfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xmalloc.h"

/* The parameters ollama knows; yangtuo uses the first eleven and notes
 * the rest as ignored (fe's caller decides). */
static const char *const mf_params[] = {
	"temperature", "top_k", "top_p", "min_p", "repeat_penalty",
	"repeat_last_n", "seed", "num_ctx", "num_predict", "num_keep", "stop",
	"num_thread", "num_batch", "num_gpu", "main_gpu", "use_mmap",
	"use_mlock", "numa", "low_vram", "f16_kv", "vocab_only", "mirostat",
	"mirostat_eta", "mirostat_tau", "tfs_z", "typical_p",
	"presence_penalty", "frequency_penalty", "penalize_newline", NULL
};

static const char *const mf_commands[] = {
	"FROM", "ADAPTER", "SYSTEM", "TEMPLATE", "PARAMETER", "MESSAGE",
	"LICENSE", NULL
};

struct mfp {
	const char	*name;
	const char	*b;
	size_t		 len;
	size_t		 pos;
	int		 line;
	char		*err;
};

static int
mf_err(struct mfp *p, int line, const char *fmt, ...)
{
	char	*msg;
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (p->err == NULL)
		xasprintf(&p->err, "%s:%d: %s", p->name, line, msg != NULL ?
		    msg : "?");
	free(msg);
	return -1;
}

/* Initialize an empty Modelfile. */
void
modelfile_init(struct modelfile *mf)
{
	memset(mf, 0, sizeof *mf);
}

/* Free what a Modelfile holds (it stays initialized). */
void
modelfile_free(struct modelfile *mf)
{
	size_t	i;

	free(mf->path);
	free(mf->from);
	free(mf->model);
	for (i = 0; i < mf->n_adapters; i++)
		free(mf->adapters[i]);
	free(mf->adapters);
	free(mf->system);
	free(mf->template_text);
	free(mf->license);
	for (i = 0; i < mf->n_params; i++) {
		free(mf->params[i].name);
		free(mf->params[i].value);
	}
	free(mf->params);
	for (i = 0; i < mf->n_msgs; i++) {
		free(mf->msgs[i].role);
		free(mf->msgs[i].text);
	}
	free(mf->msgs);
	modelfile_init(mf);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void
skip_blanks(struct mfp *p)
{
	while (p->pos < p->len && is_blank(p->b[p->pos]))
		p->pos++;
}

/* A word: the command, a parameter's name, a message's role. */
static char *
word(struct mfp *p)
{
	size_t	s = p->pos;

	while (p->pos < p->len && !is_blank(p->b[p->pos]) &&
	    p->b[p->pos] != '\n')
		p->pos++;
	return p->pos > s ? xstrndup(p->b + s, p->pos - s) : NULL;
}

/* After a quoted value only blanks may follow on its line. */
static int
end_of_line(struct mfp *p, int line)
{
	skip_blanks(p);
	if (p->pos < p->len && p->b[p->pos] != '\n')
		return mf_err(p, line, "unexpected text after the closing "
		    "quote");
	return 0;
}

/* A value: """block""", "quoted" (\" and \\ escaped) or the rest of the
 * line; NULL after an error. */
static char *
value(struct mfp *p, int line)
{
	const char	*b = p->b, *e;
	char		*v;
	size_t		 s, n = 0;

	if (p->len - p->pos >= 3 && memcmp(b + p->pos, "\"\"\"", 3) == 0) {
		s = p->pos + 3;
		if ((e = memmem(b + s, p->len - s, "\"\"\"", 3)) == NULL) {
			mf_err(p, line, "a \"\"\" block is not closed");
			return NULL;
		}
		v = xstrndup(b + s, (size_t)(e - (b + s)));
		for (; p->pos < (size_t)(e - b); p->pos++)
			p->line += b[p->pos] == '\n';
		p->pos += 3;
		if (end_of_line(p, p->line) != 0) {
			free(v);
			return NULL;
		}
		return v;
	}
	if (p->pos < p->len && b[p->pos] == '"') {
		v = xcalloc(1, p->len - p->pos);
		for (p->pos++; p->pos < p->len && b[p->pos] != '"' &&
		    b[p->pos] != '\n'; p->pos++) {
			if (b[p->pos] == '\\' && p->pos + 1 < p->len &&
			    (b[p->pos + 1] == '"' || b[p->pos + 1] == '\\'))
				p->pos++;
			v[n++] = b[p->pos];
		}
		if (p->pos >= p->len || b[p->pos] != '"') {
			free(v);
			mf_err(p, line, "a quoted value is not closed");
			return NULL;
		}
		p->pos++;
		if (end_of_line(p, line) != 0) {
			free(v);
			return NULL;
		}
		return v;
	}
	s = p->pos;
	while (p->pos < p->len && b[p->pos] != '\n')
		p->pos++;
	n = p->pos - s;
	while (n > 0 && is_blank(b[s + n - 1]))
		n--;
	return xstrndup(b + s, n);
}

static int
known(const char *const *list, const char *w)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++)
		if (strcasecmp(list[i], w) == 0)
			return 1;
	return 0;
}

/* Add a PARAMETER (taking name and v) or a MESSAGE (copying). */
void
modelfile_add_param(struct modelfile *mf, char *name, char *v, int line)
{
	mf->params = xreallocarray(mf->params, mf->n_params + 1,
	    sizeof *mf->params);
	mf->params[mf->n_params].name = name;
	mf->params[mf->n_params].value = v;
	mf->params[mf->n_params++].line = line;
}

void
modelfile_add_msg(struct modelfile *mf, const char *role, const char *text)
{
	mf->msgs = xreallocarray(mf->msgs, mf->n_msgs + 1, sizeof *mf->msgs);
	mf->msgs[mf->n_msgs].role = xstrdup(role);
	mf->msgs[mf->n_msgs++].text = xstrdup(text);
}

static void
add_license(struct modelfile *mf, const char *text)
{
	char	*s;

	if (mf->license == NULL) {
		mf->license = xstrdup(text);
		return;
	}
	xasprintf(&s, "%s\n\n%s", mf->license, text);
	free(mf->license);
	mf->license = s;
}

static void
set_str(char **dst, char *v)
{
	free(*dst);
	*dst = v;
}

/* A path of the Modelfile: ~/ expanded, else relative to dir; caller
 * frees. */
static char *
resolve(const char *dir, const char *v)
{
	const char	*home;
	char		*s;

	if (v[0] == '~' && v[1] == '/' && (home = getenv("HOME")) != NULL)
		xasprintf(&s, "%s%s", home, v + 1);
	else if (v[0] == '/' || dir == NULL)
		s = xstrdup(v);
	else
		xasprintf(&s, "%s/%s", dir, v);
	return s;
}

/* Whether v reads as an ollama model name rather than a path. */
static int
looks_like_name(const char *v)
{
	size_t	n = strlen(v);

	if (v[0] == '/' || v[0] == '.' || v[0] == '~' || n == 0)
		return 0;
	if (n > 5 && strcasecmp(v + n - 5, ".gguf") == 0)
		return 0;
	return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-:/") == n;
}

/* FROM: a file or folder, else an ollama model name. */
static int
resolve_from(struct mfp *p, struct modelfile *mf, const char *dir)
{
	struct stat	 st;
	char		*path;

	if (strncmp(mf->from, "ollama:", 7) == 0) {
		mf->model = xstrdup(mf->from);
		return 0;
	}
	path = resolve(dir, mf->from);
	if (stat(path, &st) == 0) {
		mf->model = path;
		return 0;
	}
	if (errno == ENOENT && looks_like_name(mf->from)) {
		free(path);
		xasprintf(&mf->model, "ollama:%s", mf->from);
		return 0;
	}
	mf_err(p, mf->from_line, "FROM %s: %s", path, strerror(errno));
	free(path);
	return -1;
}

static int
command(struct mfp *p, struct modelfile *mf, const char *cmd,
    const char *dir)
{
	int	 line = p->line;
	char	*sub = NULL, *v, *q;

	if (strcasecmp(cmd, "PARAMETER") == 0 ||
	    strcasecmp(cmd, "MESSAGE") == 0) {
		if ((sub = word(p)) == NULL)
			return mf_err(p, line, "%s needs a %s and a value",
			    cmd, strcasecmp(cmd, "MESSAGE") == 0 ? "role" :
			    "name");
		skip_blanks(p);
	}
	if ((v = value(p, line)) == NULL) {
		free(sub);
		return -1;
	}
	if (*v == '\0' && strcasecmp(cmd, "SYSTEM") != 0 &&
	    strcasecmp(cmd, "MESSAGE") != 0) {
		free(sub);
		free(v);
		return mf_err(p, line, "%s needs a value", cmd);
	}
	if (strcasecmp(cmd, "PARAMETER") == 0) {
		if (!known(mf_params, sub)) {
			mf_err(p, line, "unknown parameter '%s'", sub);
			free(sub);
			free(v);
			return -1;
		}
		for (q = sub; *q != '\0'; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		modelfile_add_param(mf, sub, v, line);
		return 0;
	}
	if (strcasecmp(cmd, "MESSAGE") == 0) {
		if (strcmp(sub, "system") != 0 && strcmp(sub, "user") != 0 &&
		    strcmp(sub, "assistant") != 0) {
			mf_err(p, line, "MESSAGE role '%s' is not system, "
			    "user or assistant", sub);
			free(sub);
			free(v);
			return -1;
		}
		modelfile_add_msg(mf, sub, v);
		free(sub);
		free(v);
		return 0;
	}
	if (strcasecmp(cmd, "FROM") == 0) {
		set_str(&mf->from, v);
		mf->from_line = line;
	} else if (strcasecmp(cmd, "ADAPTER") == 0) {
		mf->adapters = xreallocarray(mf->adapters, mf->n_adapters + 1,
		    sizeof *mf->adapters);
		mf->adapters[mf->n_adapters++] = resolve(dir, v);
		free(v);
	} else if (strcasecmp(cmd, "SYSTEM") == 0)
		set_str(&mf->system, v);
	else if (strcasecmp(cmd, "TEMPLATE") == 0) {
		set_str(&mf->template_text, v);
		mf->template_line = line;
	}
	else {
		add_license(mf, v);
		free(v);
	}
	return 0;
}

/* Parse a Modelfile held in buf: 0, or -1 with *cause "name:line: ..."
 * (caller frees). */
int
modelfile_parse(struct modelfile *mf, const char *name, const char *dir,
    const char *buf, size_t len, char **cause)
{
	struct mfp	 p;
	char		*cmd;
	int		 r = 0;

	memset(&p, 0, sizeof p);
	p.name = name;
	p.b = buf;
	p.len = len;
	p.line = 1;
	*cause = NULL;
	if (memchr(buf, '\0', len) != NULL)
		r = mf_err(&p, 1, "not a text file");
	while (r == 0) {
		skip_blanks(&p);
		if (p.pos >= p.len)
			break;
		if (buf[p.pos] == '\n' || buf[p.pos] == '#') {
			while (p.pos < p.len && buf[p.pos] != '\n')
				p.pos++;
			p.pos++;
			p.line++;
			continue;
		}
		cmd = word(&p);
		if (!known(mf_commands, cmd))
			r = mf_err(&p, p.line, "unknown command '%s'", cmd);
		else {
			skip_blanks(&p);
			r = command(&p, mf, cmd, dir);
		}
		free(cmd);
	}
	if (r == 0 && mf->from == NULL)
		r = mf_err(&p, p.line, "no FROM line");
	if (r == 0)
		r = resolve_from(&p, mf, dir);
	if (r == 0)
		mf->path = xstrdup(name);
	*cause = p.err;
	return r;
}

/* Read a whole file of at most max bytes into *buf (NUL-terminated;
 * caller frees); 0, or -1 with errno set (EFBIG when larger). */
int
modelfile_read(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat	 st;
	ssize_t		 r;
	int		 fd, e;

	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > max) {
		e = errno;
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : e != 0 &&
		    !S_ISREG(st.st_mode) ? e : EFBIG;
		return -1;
	}
	*buf = xmalloc((size_t)st.st_size + 1);
	*len = 0;
	while (*len < (size_t)st.st_size && (r = read(fd, *buf + *len,
	    (size_t)st.st_size - *len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			free(*buf);
			close(fd);
			errno = e;
			return -1;
		}
		*len += (size_t)r;
	}
	(*buf)[*len] = '\0';
	close(fd);
	return 0;
}

/* Read and parse the Modelfile at path. */
int
modelfile_load(struct modelfile *mf, const char *path, char **cause)
{
	char	*buf, *dir, *slash;
	size_t	 len;
	int	 r;

	if (modelfile_read(path, MODELFILE_MAX_SIZE, &buf, &len) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else {
		free(dir);
		dir = xstrdup(".");
	}
	r = modelfile_parse(mf, path, dir, buf, len, cause);
	free(dir);
	free(buf);
	return r;
}

/* Whether path holds a Modelfile: not GGUF, and its first keyword (after
 * blank and comment lines) is a Modelfile command. */
int
modelfile_sniff(const char *path)
{
	char		 buf[4096], cmd[16];
	struct stat	 st;
	size_t		 n, i = 0, k = 0;
	int		 fd;
	ssize_t		 r;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (fd = open(path, O_RDONLY)) < 0)
		return 0;
	r = read(fd, buf, sizeof buf);
	close(fd);
	if (r < 4 || memcmp(buf, "GGUF", 4) == 0)
		return 0;
	n = (size_t)r;
	for (;;) {
		while (i < n && (is_blank(buf[i]) || buf[i] == '\n'))
			i++;
		if (i < n && buf[i] == '#') {
			while (i < n && buf[i] != '\n')
				i++;
			continue;
		}
		break;
	}
	while (i < n && k + 1 < sizeof cmd && buf[i] >= 'A' &&
	    (buf[i] | 0x20) >= 'a' && (buf[i] | 0x20) <= 'z')
		cmd[k++] = buf[i++];
	cmd[k] = '\0';
	return k > 0 && i < n && (is_blank(buf[i]) || buf[i] == '\n') &&
	    known(mf_commands, cmd);
}

/* The value of the last PARAMETER name, or NULL. */
const char *
modelfile_param(const struct modelfile *mf, const char *name)
{
	size_t	i;

	for (i = mf->n_params; i-- > 0;)
		if (strcmp(mf->params[i].name, name) == 0)
			return mf->params[i].value;
	return NULL;
}

/* Move what top says over base: SYSTEM, TEMPLATE and LICENSE replace,
 * adapters, parameters and messages are added after base's. */
void
modelfile_overlay(struct modelfile *base, struct modelfile *top)
{
	size_t	i;

	if (top->system != NULL)
		set_str(&base->system, top->system);
	if (top->template_text != NULL) {
		set_str(&base->template_text, top->template_text);
		base->template_line = top->template_line;
	}
	if (top->license != NULL)
		set_str(&base->license, top->license);
	top->system = top->template_text = top->license = NULL;
	for (i = 0; i < top->n_adapters; i++) {
		base->adapters = xreallocarray(base->adapters,
		    base->n_adapters + 1, sizeof *base->adapters);
		base->adapters[base->n_adapters++] = top->adapters[i];
	}
	top->n_adapters = 0;
	for (i = 0; i < top->n_params; i++)
		modelfile_add_param(base, top->params[i].name,
		    top->params[i].value, top->params[i].line);
	top->n_params = 0;
	for (i = 0; i < top->n_msgs; i++) {
		modelfile_add_msg(base, top->msgs[i].role, top->msgs[i].text);
		free(top->msgs[i].role);
		free(top->msgs[i].text);
	}
	top->n_msgs = 0;
	set_str(&base->path, top->path);
	top->path = NULL;
}

/*
 * What a -m or --modelfile argument names: "ollama:NAME" is read from
 * the store; a Modelfile (always when is_modelfile, else when it sniffs
 * as one) is read, and its FROM, when an ollama model, laid under it.
 * Returns 1 with mf filled, 0 for anything else (a GGUF file, a folder),
 * -1 with *cause (caller frees).
 */
int
modelfile_resolve(const char *arg, int is_modelfile, struct modelfile *mf,
    char **cause)
{
	struct modelfile	 top;
	char			*root;
	int			 r;

	*cause = NULL;
	if (strncmp(arg, "ollama:", 7) == 0) {
		root = ollama_root();
		r = ollama_load(mf, root, arg, cause);
		free(root);
		return r == 0 ? 1 : -1;
	}
	if (!is_modelfile && !modelfile_sniff(arg))
		return 0;
	modelfile_init(&top);
	if (modelfile_load(&top, arg, cause) != 0) {
		modelfile_free(&top);
		return -1;
	}
	if (strncmp(top.model, "ollama:", 7) != 0) {
		*mf = top;
		return 1;
	}
	root = ollama_root();
	r = ollama_load(mf, root, top.model, cause);
	free(root);
	if (r != 0) {
		/* Name the FROM line that led there. */
		root = *cause;
		xasprintf(cause, "%s:%d: FROM %s: %s", arg, top.from_line,
		    top.from, root);
		free(root);
		modelfile_free(&top);
		return -1;
	}
	modelfile_overlay(mf, &top);
	modelfile_free(&top);
	return 1;
}
