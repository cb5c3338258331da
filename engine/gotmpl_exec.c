/*
 * Running a parsed Go template on a conversation, as ollama's
 * template.Execute does: values are the root map (System, Prompt,
 * Response, Messages), messages (Role, Content), strings, numbers and
 * booleans, with text/template's truth, comparison and printing rules.
 */
#include "config.h"

#include "gotmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotmpl_impl.h"
#include "tmpl.h"

struct gmsg {
	const char	*role;
	char		*content;	/* owned */
	size_t		 len;
};

struct val {
	int			 kind;
	int			 from_tmpl;	/* a constant of the template */
	long long		 i;
	const char		*s;
	size_t			 len;
	const struct gmsg	*m;		/* V_MSG: one; V_LIST: n */
	size_t			 n;
};

struct ex {
	/* the root map */
	int			 msg_mode;	/* has Messages, no Prompt */
	const char		*system, *prompt, *response;
	size_t			 system_len, prompt_len, response_len;
	const struct gmsg	*msgs;
	size_t			 n_msgs;
	int			 last;		/* skip what ollama cuts */

	const char		*names[GT_MAX_VARS];
	struct val		 vals[GT_MAX_VARS];
	size_t			 n_vars;
	gotmpl_emit_fn		 emit;
	void			*arg;
	char			*err;
	int			 failed;
	int			 brk;		/* 1 break, 2 continue */
};

static const struct val v_missing = { V_MISSING, 0, 0, NULL, 0, NULL, 0 };

static void
xerr(struct ex *x, int line, const char *fmt, ...)
{
	char	*msg = NULL;
	va_list	 ap;

	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg != NULL && asprintf(&x->err, "line %d: %s", line, msg) < 0)
		x->err = NULL;
	free(msg);
}

static struct val
v_str(const char *s, size_t len, int from_tmpl)
{
	struct val	v = v_missing;

	v.kind = V_STR;
	v.s = s;
	v.len = len;
	v.from_tmpl = from_tmpl;
	return v;
}

static struct val
v_int(int kind, long long i)
{
	struct val	v = v_missing;

	v.kind = kind;
	v.i = i;
	return v;
}

/* text/template's truth: false, 0, "", nil and empty lists are false. */
static int
truth(const struct val *v)
{
	switch (v->kind) {
	case V_BOOL:
	case V_INT:
		return v->i != 0;
	case V_STR:
		return v->len > 0;
	case V_LIST:
		return v->n > 0;
	case V_MSG:
	case V_ROOT:
		return 1;
	default:
		return 0;
	}
}

static struct val
root_field(const struct ex *x, const char *f)
{
	struct val	v = v_missing;

	if (strcmp(f, "System") == 0)
		return v_str(x->system, x->system_len, 0);
	if (strcmp(f, "Response") == 0)
		return v_str(x->response, x->response_len, 0);
	if (!x->msg_mode && strcmp(f, "Prompt") == 0)
		return v_str(x->prompt, x->prompt_len, 0);
	if (x->msg_mode && strcmp(f, "Messages") == 0) {
		v.kind = V_LIST;
		v.m = x->msgs;
		v.n = x->n_msgs;
	}
	return v;	/* a key the map lacks */
}

static struct val
field(struct ex *x, struct val v, const char *f, int line)
{
	static const char *const empty[] = { "ToolCalls", "Images",
	    "Thinking", "ToolName", "ToolCallID", NULL };
	size_t	i;

	if (v.kind == V_ROOT)
		return root_field(x, f);
	if (v.kind == V_MSG) {
		if (strcmp(f, "Role") == 0)
			return v_str(v.m->role, strlen(v.m->role), 0);
		if (strcmp(f, "Content") == 0)
			return v_str(v.m->content, v.m->len, 0);
		for (i = 0; empty[i] != NULL; i++)
			if (strcmp(f, empty[i]) == 0)
				return v_str("", 0, 0);
	}
	xerr(x, line, "can't evaluate field %s", f);
	return v_missing;
}

static struct val
fields(struct ex *x, struct val v, char **f, size_t n, int line)
{
	size_t	i;

	for (i = 0; i < n && !x->failed; i++)
		v = field(x, v, f[i], line);
	return v;
}

static struct val
var_get(struct ex *x, const char *name, int line)
{
	size_t	i;

	for (i = x->n_vars; i-- > 0;)
		if (strcmp(x->names[i], name) == 0)
			return x->vals[i];
	xerr(x, line, "undefined variable: $%s", name);
	return v_missing;
}

static void
var_set(struct ex *x, const char *name, struct val v, int assign, int line)
{
	size_t	i;

	if (assign) {
		for (i = x->n_vars; i-- > 0;)
			if (strcmp(x->names[i], name) == 0) {
				x->vals[i] = v;
				return;
			}
		xerr(x, line, "undefined variable: $%s", name);
		return;
	}
	if (x->n_vars == GT_MAX_VARS) {
		xerr(x, line, "too many variables");
		return;
	}
	x->names[x->n_vars] = name;
	x->vals[x->n_vars++] = v;
}

static struct val eval_pipe(struct ex *, const struct pipe *,
    const struct val *dot);

static struct val
eval_arg(struct ex *x, const struct arg *a, const struct val *dot, int line)
{
	switch (a->kind) {
	case A_DOT:
		return *dot;
	case A_FIELD:
		return fields(x, *dot, a->fields, a->n_fields, line);
	case A_VAR:
		return fields(x, var_get(x, a->name, line), a->fields,
		    a->n_fields, line);
	case A_STR:
		return v_str(a->s, a->len, 1);
	case A_NUM:
		return v_int(V_INT, a->num);
	case A_BOOL:
		return v_int(V_BOOL, a->num);
	case A_NIL:
		return v_int(V_NIL, 0);
	case A_PIPE:
		return fields(x, eval_pipe(x, a->pipe, dot), a->fields,
		    a->n_fields, line);
	default:
		xerr(x, line, "%s is not a value", a->name);
		return v_missing;
	}
}

/* Go's basic comparison: -1, 0, 1, or 2 for values that do not compare
 * (an error). */
static int
compare(const struct val *a, const struct val *b)
{
	size_t	n;
	int	c;

	if (a->kind != b->kind)
		return 2;
	switch (a->kind) {
	case V_BOOL:
	case V_INT:
		return a->i < b->i ? -1 : a->i > b->i;
	case V_STR:
		n = a->len < b->len ? a->len : b->len;
		if ((c = memcmp(a->s, b->s, n)) != 0)
			return c < 0 ? -1 : 1;
		return a->len < b->len ? -1 : a->len > b->len;
	default:
		return 2;
	}
}

/* Evaluate the arguments of a call: args[1..n), then the value piped in. */
static size_t
call_args(struct ex *x, const struct cmd *c, const struct val *dot,
    const struct val *in, struct val *out, size_t max, int line)
{
	size_t	i, k = 0;

	for (i = 1; i < c->n && k < max; i++)
		if (!(x->last && c->args[i]->cut))
			out[k++] = eval_arg(x, c->args[i], dot, line);
	if (in != NULL && k < max)
		out[k++] = *in;
	return k;
}

static struct val
call_logic(struct ex *x, const char *f, const struct cmd *c,
    const struct val *dot, int line)
{
	struct val	v = v_int(V_BOOL, 0);
	size_t		i;
	int		is_and = strcmp(f, "and") == 0;

	/* and/or stop at the first value that decides, and give it. */
	for (i = 1; i < c->n && !x->failed; i++) {
		v = eval_arg(x, c->args[i], dot, line);
		if (truth(&v) != is_and)
			break;
	}
	if (c->n < 2)
		xerr(x, line, "wrong number of args for %s", f);
	return v;
}

static struct val
call_cmp(struct ex *x, const char *f, const struct val *a, size_t n,
    int line)
{
	size_t	i;
	int	r = 0, c;

	if (n < 2 || (strcmp(f, "eq") != 0 && n != 2)) {
		xerr(x, line, "wrong number of args for %s", f);
		return v_missing;
	}
	/* eq a b c: a equals any of the others. */
	for (i = 1; i < n; i++) {
		if ((c = compare(&a[0], &a[i])) == 2) {
			xerr(x, line, "incompatible types for comparison");
			return v_missing;
		}
		if (strcmp(f, "eq") == 0)
			r |= c == 0;
		else if (strcmp(f, "ne") == 0)
			r = c != 0;
		else if (strcmp(f, "lt") == 0)
			r = c < 0;
		else if (strcmp(f, "le") == 0)
			r = c <= 0;
		else if (strcmp(f, "gt") == 0)
			r = c > 0;
		else
			r = c >= 0;
	}
	return v_int(V_BOOL, r);
}

/* len, slice, index on lists and strings. */
static struct val
call_seq(struct ex *x, const char *f, const struct val *a, size_t n,
    int line)
{
	struct val	v;
	long long	lo, hi, size;

	if (n < 1 || (a[0].kind != V_LIST && a[0].kind != V_STR))
		goto bad;
	size = (long long)(a[0].kind == V_LIST ? a[0].n : a[0].len);
	if (strcmp(f, "len") == 0 && n == 1)
		return v_int(V_INT, size);
	if (n < 2 || n > 3 || a[1].kind != V_INT ||
	    (n == 3 && a[2].kind != V_INT))
		goto bad;
	lo = a[1].i;
	if (strcmp(f, "index") == 0 && n == 2 && a[0].kind == V_LIST) {
		if (lo < 0 || lo >= size) {
			xerr(x, line, "index out of range: %lld", lo);
			return v_missing;
		}
		v = a[0];
		v.kind = V_MSG;
		v.m += lo;
		v.n = 1;
		return v;
	}
	if (strcmp(f, "slice") != 0)
		goto bad;
	hi = n == 3 ? a[2].i : size;
	if (lo < 0 || hi < lo || hi > size) {
		xerr(x, line, "slice index out of range");
		return v_missing;
	}
	v = a[0];
	if (v.kind == V_LIST) {
		v.m += lo;
		v.n = (size_t)(hi - lo);
	} else {
		v.s += lo;
		v.len = (size_t)(hi - lo);
	}
	return v;
bad:
	xerr(x, line, "wrong arguments for %s", f);
	return v_missing;
}

static struct val
call(struct ex *x, const struct cmd *c, const struct val *dot,
    const struct val *in, int line)
{
	const char	*f = c->args[0]->name;
	struct val	 a[8];
	size_t		 n;

	if (strcmp(f, "and") == 0 || strcmp(f, "or") == 0)
		return call_logic(x, f, c, dot, line);
	n = call_args(x, c, dot, in, a, 8, line);
	if (x->failed)
		return v_missing;
	if (strcmp(f, "not") == 0 && n == 1)
		return v_int(V_BOOL, !truth(&a[0]));
	if (strcmp(f, "eq") == 0 || strcmp(f, "ne") == 0 ||
	    strcmp(f, "lt") == 0 || strcmp(f, "le") == 0 ||
	    strcmp(f, "gt") == 0 || strcmp(f, "ge") == 0)
		return call_cmp(x, f, a, n, line);
	if (strcmp(f, "len") == 0 || strcmp(f, "slice") == 0 ||
	    strcmp(f, "index") == 0)
		return call_seq(x, f, a, n, line);
	xerr(x, line, "function \"%s\" not defined", f);
	return v_missing;
}

static struct val
eval_pipe(struct ex *x, const struct pipe *pp, const struct val *dot)
{
	struct val	 v = v_missing;
	const struct cmd *c;
	size_t		 i;
	int		 have = 0;

	for (i = 0; i < pp->n && !x->failed; i++) {
		c = pp->cmds[i];
		if (x->last && c->cut)
			continue;
		if (c->args[0]->kind == A_FUNC)
			v = call(x, c, dot, have ? &v : NULL, pp->line);
		else if (c->n > 1 || have)
			xerr(x, pp->line, "can't give arguments to a "
			    "non-function");
		else
			v = eval_arg(x, c->args[0], dot, pp->line);
		have = 1;
	}
	return v;
}

/* A pipeline's value, declaring or assigning its variables. */
static struct val
eval_decl(struct ex *x, const struct pipe *pp, const struct val *dot)
{
	struct val	v = eval_pipe(x, pp, dot);

	if (pp->n_decl == 1 && !x->failed)
		var_set(x, pp->decl[0], v, pp->assign, pp->line);
	return v;
}

static void
emit_val(struct ex *x, const struct val *v, int line)
{
	char	buf[32];
	int	n;

	switch (v->kind) {
	case V_STR:
		x->emit(x->arg, v->s, v->len, v->from_tmpl);
		break;
	case V_INT:
		n = snprintf(buf, sizeof buf, "%lld", v->i);
		x->emit(x->arg, buf, (size_t)n, 1);
		break;
	case V_BOOL:
		x->emit(x->arg, v->i ? "true" : "false", v->i ? 4 : 5, 1);
		break;
	case V_MISSING:
		x->emit(x->arg, "<no value>", 10, 1);
		break;
	case V_NIL:
		x->emit(x->arg, "<nil>", 5, 1);
		break;
	default:
		xerr(x, line, "cannot print a list or a message");
	}
}

static void exec_list(struct ex *, const struct list *, const struct val *);

static void
exec_range(struct ex *x, const struct node *n, const struct val *dot)
{
	struct val	 v, e;
	size_t		 i, mark;
	const struct pipe *pp = n->pipe;

	v = eval_pipe(x, pp, dot);
	if (x->failed)
		return;
	if (v.kind != V_LIST && v.kind != V_MISSING && v.kind != V_NIL) {
		xerr(x, n->line, "range can't iterate over this value");
		return;
	}
	if (v.kind != V_LIST || v.n == 0) {
		if (n->elist != NULL)
			exec_list(x, n->elist, dot);
		return;
	}
	for (i = 0; i < v.n && !x->failed; i++) {
		mark = x->n_vars;
		e = v_missing;
		e.kind = V_MSG;
		e.m = v.m + i;
		e.n = 1;
		if (pp->n_decl == 2) {
			var_set(x, pp->decl[0], v_int(V_INT, (long long)i), 0,
			    n->line);
			var_set(x, pp->decl[1], e, 0, n->line);
		} else if (pp->n_decl == 1)
			var_set(x, pp->decl[0], e, 0, n->line);
		exec_list(x, n->list, &e);
		x->n_vars = mark;
		if (x->brk == 1) {
			x->brk = 0;
			break;
		}
		x->brk = 0;
	}
}

static void
exec_node(struct ex *x, const struct node *n, const struct val *dot)
{
	struct val	v;
	size_t		mark = x->n_vars;

	if (x->last && n->cut)
		return;
	switch (n->kind) {
	case N_TEXT:
		x->emit(x->arg, n->s, n->len, 1);
		return;
	case N_ACTION:
		v = eval_decl(x, n->pipe, dot);
		if (n->pipe->n_decl == 0 && !x->failed)
			emit_val(x, &v, n->line);
		return;
	case N_IF:
	case N_WITH:
		v = eval_decl(x, n->pipe, dot);
		if (x->failed)
			return;
		if (truth(&v))
			exec_list(x, n->list, n->kind == N_WITH ? &v : dot);
		else if (n->elist != NULL)
			exec_list(x, n->elist, dot);
		x->n_vars = mark;
		return;
	case N_RANGE:
		exec_range(x, n, dot);
		x->n_vars = mark;
		return;
	case N_BREAK:
		x->brk = 1;
		return;
	default:
		x->brk = 2;
		return;
	}
}

static void
exec_list(struct ex *x, const struct list *l, const struct val *dot)
{
	size_t	i, mark = x->n_vars;

	for (i = 0; i < l->n && !x->failed && !x->brk; i++)
		exec_node(x, l->v[i], dot);
	x->n_vars = mark;
}

static void
run(const struct gotmpl *g, struct ex *x)
{
	struct val	root = v_missing;

	root.kind = V_ROOT;
	x->n_vars = 0;
	x->brk = 0;
	var_set(x, "", root, 0, 0);
	exec_list(x, g->root, &root);
}

/* ---- ollama's Execute ---- */

static void
collate_free(struct gmsg *c, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(c[i].content);
	free(c);
}

static int
append(char **s, size_t *len, const char *add, size_t n, const char *sep)
{
	size_t	 k = strlen(sep);
	char	*p;

	if (*len > ((size_t)1 << 30) || n > ((size_t)1 << 30) ||
	    (p = realloc(*s, *len + k + n + 1)) == NULL)
		return -1;
	memcpy(p + *len, sep, k);
	memcpy(p + *len + k, add, n);
	*len += k + n;
	p[*len] = '\0';
	*s = p;
	return 0;
}

/* ollama's collate: system texts joined into *system, runs of one role
 * merged with "\n\n". */
static struct gmsg *
collate(const struct tmpl_msg *msgs, size_t n, char **system,
    size_t *system_len, size_t *nc)
{
	struct gmsg	*c;
	const char	*role, *text;
	size_t		 i, len;

	*nc = 0;
	if ((c = calloc(n + 1, sizeof *c)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		role = msgs[i].role != NULL ? msgs[i].role : "user";
		text = msgs[i].content != NULL ? msgs[i].content : "";
		len = msgs[i].content != NULL ? msgs[i].len : 0;
		if (strcmp(role, "system") == 0 && append(system, system_len,
		    text, len, *system_len > 0 || *system != NULL ?
		    "\n\n" : "") != 0)
			goto oom;
		if (*nc > 0 && strcmp(c[*nc - 1].role, role) == 0) {
			if (append(&c[*nc - 1].content, &c[*nc - 1].len,
			    text, len, "\n\n") != 0)
				goto oom;
			continue;
		}
		c[*nc].role = role;
		if (append(&c[*nc].content, &c[*nc].len, text, len, "") != 0)
			goto oom;
		(*nc)++;
	}
	return c;
oom:
	collate_free(c, n + 1);
	return NULL;
}

/* The legacy mode: one run per turn, then the last one cut. */
static void
run_turns(const struct gotmpl *g, struct ex *x, const struct gmsg *c,
    size_t nc)
{
	static const char	 none[] = "";
	size_t			 i;

	x->system = x->prompt = x->response = none;
	x->system_len = x->prompt_len = x->response_len = 0;
	for (i = 0; i < nc && !x->failed; i++) {
		if ((strcmp(c[i].role, "system") == 0 && (x->prompt_len > 0 ||
		    x->response_len > 0)) || (strcmp(c[i].role, "user") == 0 &&
		    x->response_len > 0)) {
			run(g, x);
			x->system = x->prompt = x->response = none;
			x->system_len = x->prompt_len = x->response_len = 0;
		}
		if (strcmp(c[i].role, "system") == 0) {
			x->system = c[i].content;
			x->system_len = c[i].len;
		} else if (strcmp(c[i].role, "user") == 0) {
			x->prompt = c[i].content;
			x->prompt_len = c[i].len;
		} else if (strcmp(c[i].role, "assistant") == 0) {
			x->response = c[i].content;
			x->response_len = c[i].len;
		}
	}
	if (!x->failed) {
		x->last = 1;
		run(g, x);
	}
}

/* Render msgs[0..n) as ollama's template.Execute: 0, or -1 with *cause
 * (caller frees; NULL for out of memory). */
int
gotmpl_render(const struct gotmpl *g, const struct tmpl_msg *msgs, size_t n,
    gotmpl_emit_fn emit, void *arg, char **cause)
{
	struct ex	 x;
	struct gmsg	*c;
	char		*system = NULL;
	size_t		 nc, system_len = 0;

	*cause = NULL;
	memset(&x, 0, sizeof x);
	x.emit = emit;
	x.arg = arg;
	if ((c = collate(msgs, n, &system, &system_len, &nc)) == NULL) {
		free(system);
		return -1;
	}
	if (g->messages) {
		x.msg_mode = 1;
		x.system = system != NULL ? system : "";
		x.system_len = system_len;
		x.response = "";
		x.msgs = c;
		x.n_msgs = nc;
		run(g, &x);
	} else
		run_turns(g, &x, c, nc);
	collate_free(c, nc);
	free(system);
	*cause = x.err;
	return x.failed ? -1 : 0;
}
