/*
 * ollama's Go templates: a lexer and parser for the text/template subset
 * model templates use, and an executor over one conversation that follows
 * ollama's template.Execute (collating messages, per-turn rendering and
 * cutting the last turn after .Response).  Nodes live in one allocation
 * chain freed with the template.
 */
#include "config.h"

#include "gotmpl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotmpl_impl.h"

/* ---- parsing ---- */

struct parser {
	struct gotmpl	*g;
	const char	*t;
	size_t		 len;
	size_t		 pos;
	int		 line;
	char		*err;		/* NULL with failed: out of memory */
	int		 failed;
	/* the current action's tokens */
	const char	*a;
	size_t		 alen;
	size_t		 apos;
	int		 aline;
	int		 depth;
};

struct item {
	int		 action;	/* else text */
	const char	*s;
	size_t		 len;
	int		 line;
};

static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	char	*msg = NULL, *full = NULL;
	va_list	 ap;

	if (p->failed)
		return;
	p->failed = 1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || asprintf(&full, "line %d: %s", line, msg) < 0)
		full = NULL;
	free(msg);
	p->err = full;
}

static void *
palloc(struct parser *p, size_t n)
{
	union chunk	*c;

	if (n > ((size_t)1 << 30) || (c = calloc(1, sizeof *c + n)) ==
	    NULL) {
		perr(p, p->line, "out of memory");
		return NULL;
	}
	c->next = p->g->mem;
	p->g->mem = c;
	return c + 1;
}

static char *
pstrndup(struct parser *p, const char *s, size_t n)
{
	char	*d;

	if ((d = palloc(p, n + 1)) != NULL)
		memcpy(d, s, n);
	return d;
}

/* Append x to a pointer array (*v, *n), growing it by doubling. */
static int
ppush(struct parser *p, void ***v, size_t *n, void *x)
{
	void	**nv;

	if (x == NULL)
		return -1;
	if ((*n & (*n - 1)) == 0) {	/* 0, 1, 2, 4...: full */
		if ((nv = palloc(p, (*n == 0 ? 1 : *n * 2) * sizeof *nv)) ==
		    NULL)
			return -1;
		if (*n > 0)
			memcpy(nv, *v, *n * sizeof *nv);
		*v = nv;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static int
is_sp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
count_lines(struct parser *p, const char *s, size_t n)
{
	while (n-- > 0)
		if (*s++ == '\n')
			p->line++;
}

/* The end of a quoted constant starting at i (its closing quote), or
 * (size_t)-1 if it does not close. */
static size_t
quote_end(const char *s, size_t len, size_t i)
{
	char	q = s[i];

	for (i++; i < len; i++) {
		if (q != '`' && s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == q)
			return i;
		if (q != '`' && s[i] == '\n')
			break;
	}
	return (size_t)-1;
}

/* The next text or action; 0 at the end, -1 on an error. */
static int
lex_next(struct parser *p, struct item *it)
{
	const char	*t = p->t, *q;
	size_t		 i, start, end;

	for (;;) {
		if (p->pos >= p->len)
			return 0;
		q = memmem(t + p->pos, p->len - p->pos, "{{", 2);
		it->line = p->line;
		if (q != t + p->pos) {
			end = q != NULL ? (size_t)(q - t) : p->len;
			it->action = 0;
			it->s = t + p->pos;
			it->len = end - p->pos;
			count_lines(p, it->s, it->len);
			p->pos = end;
			/* "{{- " trims the white space before it. */
			if (q != NULL && end + 3 < p->len && t[end + 2] == '-' &&
			    is_sp(t[end + 3]))
				while (it->len > 0 && is_sp(it->s[it->len - 1]))
					it->len--;
			return 1;
		}
		start = p->pos + 2;
		if (start + 1 < p->len && t[start] == '-' && is_sp(t[start + 1]))
			start++;
		for (i = start; i + 1 < p->len; i++) {
			if (t[i] == '"' || t[i] == '`' || t[i] == '\'') {
				if ((i = quote_end(t, p->len, i)) ==
				    (size_t)-1)
					break;
			} else if (t[i] == '}' && t[i + 1] == '}')
				break;
		}
		if (i == (size_t)-1 || i + 1 >= p->len) {
			perr(p, p->line, "unclosed action");
			return -1;
		}
		end = i;
		it->action = 1;
		it->s = t + start;
		it->len = end - start;
		if (end > start + 1 && t[end - 1] == '-' && is_sp(t[end - 2]))
			it->len--;
		count_lines(p, t + p->pos, end + 2 - p->pos);
		p->pos = end + 2;
		if (it->len != end - start)	/* " -}}" trims after it */
			while (p->pos < p->len && is_sp(t[p->pos])) {
				count_lines(p, t + p->pos, 1);
				p->pos++;
			}
		/* A comment is the whole action: skip it. */
		for (i = 0; i < it->len && is_sp(it->s[i]); i++)
			;
		end = it->len;
		while (end > i && is_sp(it->s[end - 1]))
			end--;
		if (end - i >= 4 && memcmp(it->s + i, "/*", 2) == 0 &&
		    memcmp(it->s + end - 2, "*/", 2) == 0)
			continue;
		return 1;
	}
}

/* ---- action tokens ---- */

enum { T_END, T_LPAR, T_RPAR, T_PIPE, T_DECL, T_ASSIGN, T_COMMA, T_IDENT,
	T_FIELD, T_VAR, T_STR, T_NUM, T_DOT, T_BAD };

struct tok_ {
	int		 kind;
	const char	*s;
	size_t		 len;
};

static int
is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* The next token of the action; peek leaves it in place. */
static struct tok_
atok(struct parser *p, int peek)
{
	struct tok_	 k = { T_END, NULL, 0 };
	const char	*a = p->a;
	size_t		 i = p->apos, e;

	while (i < p->alen && is_sp(a[i]))
		i++;
	k.s = a + i;
	if (i >= p->alen)
		goto out;
	e = i + 1;
	switch (a[i]) {
	case '(': k.kind = T_LPAR; break;
	case ')': k.kind = T_RPAR; break;
	case '|': k.kind = T_PIPE; break;
	case ',': k.kind = T_COMMA; break;
	case '=': k.kind = T_ASSIGN; break;
	case ':':
		k.kind = e < p->alen && a[e] == '=' ? T_DECL : T_BAD;
		e++;
		break;
	case '"': case '`':
		if ((e = quote_end(a, p->alen, i)) == (size_t)-1) {
			k.kind = T_BAD;
			e = p->alen;
		} else {
			k.kind = T_STR;
			e++;
		}
		break;
	case '.': case '$':
		/* .A.B, $x.A.B, $, . */
		k.kind = a[i] == '$' ? T_VAR : T_FIELD;
		while (e < p->alen && (is_ident(a[e]) || a[e] == '.'))
			e++;
		if (k.kind == T_FIELD && e == i + 1)
			k.kind = T_DOT;
		break;
	default:
		if (a[i] == '-' || (a[i] >= '0' && a[i] <= '9'))
			k.kind = T_NUM;
		else if (is_ident(a[i]))
			k.kind = T_IDENT;
		else
			k.kind = T_BAD;
		while (e < p->alen && is_ident(a[e]))
			e++;
	}
	k.len = e - i;
	if (!peek)
		p->apos = e;
out:
	return k;
}

static int
tok_is(struct tok_ k, const char *w)
{
	return k.kind == T_IDENT && k.len == strlen(w) &&
	    memcmp(k.s, w, k.len) == 0;
}

/* Split ".A.B" (from the first dot) into fields. */
static int
split_fields(struct parser *p, struct arg *a, const char *s, size_t n)
{
	size_t	i = 0, j;

	while (i < n) {
		if (s[i] != '.') {
			perr(p, p->aline, "bad field '%.*s'", (int)n, s);
			return -1;
		}
		for (j = ++i; j < n && s[j] != '.'; j++)
			;
		if (j == i) {
			perr(p, p->aline, "bad field '%.*s'", (int)n, s);
			return -1;
		}
		if (ppush(p, (void ***)&a->fields, &a->n_fields,
		    pstrndup(p, s + i, j - i)) != 0)
			return -1;
		i = j;
	}
	return 0;
}

/* Decode a quoted constant (Go's escapes \n \t \\ \" \r; raw strings as
 * they are). */
static int
unquote(struct parser *p, struct arg *a, struct tok_ k)
{
	size_t	i, n = 0;
	char	*d;

	if ((d = palloc(p, k.len)) == NULL)
		return -1;
	for (i = 1; i + 1 < k.len; i++) {
		if (k.s[0] == '"' && k.s[i] == '\\') {
			switch (k.s[++i]) {
			case 'n': d[n++] = '\n'; break;
			case 't': d[n++] = '\t'; break;
			case 'r': d[n++] = '\r'; break;
			case '\\': d[n++] = '\\'; break;
			case '"': d[n++] = '"'; break;
			default:
				perr(p, p->aline, "unsupported escape "
				    "'\\%c'", k.s[i]);
				return -1;
			}
		} else
			d[n++] = k.s[i];
	}
	a->s = d;
	a->len = n;
	return 0;
}

static struct pipe *parse_pipe(struct parser *, int in_paren);

static struct arg *
parse_arg(struct parser *p, struct tok_ k)
{
	struct arg	*a;
	char		 buf[32];

	if ((a = palloc(p, sizeof *a)) == NULL)
		return NULL;
	switch (k.kind) {
	case T_DOT:
		a->kind = A_DOT;
		return a;
	case T_FIELD:
		a->kind = A_FIELD;
		return split_fields(p, a, k.s, k.len) == 0 ? a : NULL;
	case T_VAR:
		a->kind = A_VAR;
		k.s++;
		k.len--;
		a->len = 0;
		while (a->len < k.len && k.s[a->len] != '.')
			a->len++;
		a->name = pstrndup(p, k.s, a->len);
		return a->name != NULL && split_fields(p, a, k.s + a->len,
		    k.len - a->len) == 0 ? a : NULL;
	case T_STR:
		a->kind = A_STR;
		return unquote(p, a, k) == 0 ? a : NULL;
	case T_NUM:
		a->kind = A_NUM;
		if (k.len >= sizeof buf)
			break;
		memcpy(buf, k.s, k.len);
		buf[k.len] = '\0';
		a->num = strtoll(buf, NULL, 10);
		return a;
	case T_LPAR:
		a->kind = A_PIPE;
		if (++p->depth > GT_MAX_DEPTH) {
			perr(p, p->aline, "nested too deep");
			return NULL;
		}
		a->pipe = parse_pipe(p, 1);
		p->depth--;
		if (a->pipe == NULL)
			return NULL;
		/* (pipeline).Field */
		if (p->apos < p->alen && p->a[p->apos] == '.') {
			k = atok(p, 0);
			if (k.kind != T_FIELD || split_fields(p, a, k.s,
			    k.len) != 0)
				return NULL;
		}
		return a;
	case T_IDENT:
		if (tok_is(k, "true") || tok_is(k, "false")) {
			a->kind = A_BOOL;
			a->num = tok_is(k, "true");
		} else if (tok_is(k, "nil"))
			a->kind = A_NIL;
		else {
			a->kind = A_FUNC;
			a->name = pstrndup(p, k.s, k.len);
		}
		return a;
	default:
		break;
	}
	perr(p, p->aline, "unexpected '%.*s' in action", (int)k.len, k.s);
	return NULL;
}

/* Variables declared at the start of a pipeline: "$x :=", "$i, $m :=",
 * "$x =". */
static int
parse_decl(struct parser *p, struct pipe *pp)
{
	size_t		 save = p->apos;
	struct tok_	 k;

	for (;;) {
		k = atok(p, 0);
		if (k.kind != T_VAR || memchr(k.s, '.', k.len) != NULL)
			break;
		if (ppush(p, (void ***)&pp->decl, &pp->n_decl,
		    pstrndup(p, k.s + 1, k.len - 1)) != 0)
			return -1;
		k = atok(p, 0);
		if (k.kind == T_COMMA && pp->n_decl == 1)
			continue;
		if (k.kind == T_DECL || k.kind == T_ASSIGN) {
			pp->assign = k.kind == T_ASSIGN;
			return 0;
		}
		break;
	}
	p->apos = save;
	pp->decl = NULL;
	pp->n_decl = 0;
	return 0;
}

/* A pipeline: commands separated by '|', up to ')' when in_paren, else
 * to the end of the action. */
static struct pipe *
parse_pipe(struct parser *p, int in_paren)
{
	struct pipe	*pp;
	struct cmd	*c = NULL;
	struct tok_	 k;

	if ((pp = palloc(p, sizeof *pp)) == NULL)
		return NULL;
	pp->line = p->aline;
	if (!in_paren && parse_decl(p, pp) != 0)
		return NULL;
	for (;;) {
		k = atok(p, 0);
		if (k.kind == T_END || k.kind == T_RPAR || k.kind == T_PIPE) {
			if (c == NULL || c->n == 0) {
				perr(p, p->aline, "missing value in action");
				return NULL;
			}
			c = NULL;
			if ((k.kind == T_RPAR) != in_paren ||
			    (k.kind == T_END && in_paren)) {
				perr(p, p->aline, in_paren ? "unclosed "
				    "'('" : "unexpected ')'");
				return NULL;
			}
			if (k.kind != T_PIPE)
				return pp;
			continue;
		}
		if (c == NULL) {
			if ((c = palloc(p, sizeof *c)) == NULL ||
			    ppush(p, (void ***)&pp->cmds, &pp->n, c) != 0)
				return NULL;
		}
		if (ppush(p, (void ***)&c->args, &c->n, parse_arg(p, k)) != 0)
			return NULL;
	}
}

static struct list *parse_list(struct parser *, int *ended, int *line);

enum { END_EOF, END_END, END_ELSE };

/* After if/range/with: the pipeline, the body and an else branch. */
static struct node *
parse_branch(struct parser *p, int kind, int line)
{
	struct node	*n;
	int		 how, eline;

	if ((n = palloc(p, sizeof *n)) == NULL)
		return NULL;
	n->kind = kind;
	n->line = line;
	if ((n->pipe = parse_pipe(p, 0)) == NULL)
		return NULL;
	if (++p->depth > GT_MAX_DEPTH) {
		perr(p, line, "nested too deep");
		return NULL;
	}
	if ((n->list = parse_list(p, &how, &eline)) == NULL)
		return NULL;
	if (how == END_ELSE) {
		/* "else if ..." nests an if as the whole else branch. */
		if (tok_is(atok(p, 1), "if")) {
			atok(p, 0);
			if ((n->elist = palloc(p, sizeof *n->elist)) == NULL ||
			    ppush(p, (void ***)&n->elist->v, &n->elist->n,
			    parse_branch(p, N_IF, eline)) != 0)
				return NULL;
			how = END_END;
		} else if ((n->elist = parse_list(p, &how, &eline)) == NULL)
			return NULL;
	}
	if (how != END_END) {
		perr(p, line, how == END_EOF ? "unclosed action: no {{end}}" :
		    "{{else}} twice");
		return NULL;
	}
	p->depth--;
	return n;
}

static struct node *
parse_keyword(struct parser *p, struct tok_ k, int line)
{
	struct node	*n;

	if (tok_is(k, "if") || tok_is(k, "range") || tok_is(k, "with")) {
		atok(p, 0);
		return parse_branch(p, tok_is(k, "if") ? N_IF :
		    tok_is(k, "range") ? N_RANGE : N_WITH, line);
	}
	if (tok_is(k, "break") || tok_is(k, "continue")) {
		atok(p, 0);
		if ((n = palloc(p, sizeof *n)) != NULL) {
			n->kind = tok_is(k, "break") ? N_BREAK : N_CONTINUE;
			n->line = line;
		}
		return n;
	}
	perr(p, line, "{{%.*s}} is not supported", (int)k.len, k.s);
	return NULL;
}

/* Nodes up to {{end}}, {{else}} (*ended says which, *line where) or the
 * end of the template. */
static struct list *
parse_list(struct parser *p, int *ended, int *line)
{
	struct list	*l;
	struct node	*n;
	struct item	 it;
	struct tok_	 k;
	int		 r;

	if ((l = palloc(p, sizeof *l)) == NULL)
		return NULL;
	*ended = END_EOF;
	while ((r = lex_next(p, &it)) == 1) {
		*line = it.line;
		if (!it.action) {
			if (it.len == 0)
				continue;
			if ((n = palloc(p, sizeof *n)) == NULL)
				return NULL;
			n->kind = N_TEXT;
			n->line = it.line;
			n->s = (char *)it.s;
			n->len = it.len;
		} else {
			p->a = it.s;
			p->alen = it.len;
			p->apos = 0;
			p->aline = it.line;
			k = atok(p, 1);
			if (tok_is(k, "end") || tok_is(k, "else")) {
				atok(p, 0);
				*ended = tok_is(k, "end") ? END_END : END_ELSE;
				if (*ended == END_END &&
				    atok(p, 1).kind != T_END) {
					perr(p, it.line, "junk after {{end}}");
					return NULL;
				}
				return l;
			}
			if (k.kind == T_IDENT && !tok_is(k, "true") &&
			    !tok_is(k, "false") && !tok_is(k, "nil") &&
			    (tok_is(k, "if") || tok_is(k, "range") ||
			    tok_is(k, "with") || tok_is(k, "break") ||
			    tok_is(k, "continue") || tok_is(k, "define") ||
			    tok_is(k, "template") || tok_is(k, "block")))
				n = parse_keyword(p, k, it.line);
			else if ((n = palloc(p, sizeof *n)) != NULL) {
				n->kind = N_ACTION;
				n->line = it.line;
				n->pipe = parse_pipe(p, 0);
				if (n->pipe == NULL)
					return NULL;
			}
		}
		if (ppush(p, (void ***)&l->v, &l->n, n) != 0)
			return NULL;
	}
	return r == 0 ? l : NULL;
}

/* ---- ollama's cut: the last turn ends after .Response ---- */

static int
names_response(const struct arg *a)
{
	size_t	i;

	if (a->kind != A_FIELD)
		return 0;
	for (i = 0; i < a->n_fields; i++)
		if (strcmp(a->fields[i], "Response") == 0)
			return 1;
	return 0;
}

static int
uses_messages(const struct arg *a)
{
	size_t	i;

	for (i = 0; i < a->n_fields; i++)
		if (strcmp(a->fields[i], "Messages") == 0)
			return 1;
	return 0;
}

static void mark_list(struct gotmpl *, struct list *, int *cutting);

/* Walk a pipeline as ollama's deleteNode does: arguments after the first
 * .Response field go, and commands (and pipelines) left empty. */
static int
mark_pipe(struct gotmpl *g, struct pipe *pp, int *cutting, int walk)
{
	size_t		 i, j, kept_cmds = 0, kept;
	struct arg	*a;

	for (i = 0; i < pp->n; i++) {
		kept = 0;
		for (j = 0; j < pp->cmds[i]->n; j++) {
			a = pp->cmds[i]->args[j];
			g->messages |= uses_messages(a);
			if (a->kind == A_PIPE)
				mark_pipe(g, a->pipe, cutting, walk);
			if (!walk)
				continue;
			if (*cutting)
				a->cut = 1;
			else if (names_response(a))
				*cutting = 1;
			kept += !a->cut;
		}
		pp->cmds[i]->cut = walk && kept == 0;
		kept_cmds += walk && kept > 0;
	}
	return walk && kept_cmds == 0;
}

static void
mark_node(struct gotmpl *g, struct node *n, int *cutting)
{
	int	never = 0;

	if (*cutting) {
		n->cut = 1;
		if (n->pipe != NULL)	/* still scan for .Messages */
			mark_pipe(g, n->pipe, &never, 0);
		if (n->list != NULL)
			mark_list(g, n->list, cutting);
		if (n->elist != NULL)
			mark_list(g, n->elist, cutting);
		return;
	}
	switch (n->kind) {
	case N_ACTION:
		n->cut = mark_pipe(g, n->pipe, cutting, 1);
		break;
	case N_IF:
	case N_RANGE:
	case N_WITH:
		/* ollama does not walk the condition. */
		mark_pipe(g, n->pipe, &never, 0);
		mark_list(g, n->list, cutting);
		if (n->elist != NULL)
			mark_list(g, n->elist, cutting);
		break;
	default:
		break;
	}
}

static void
mark_list(struct gotmpl *g, struct list *l, int *cutting)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		mark_node(g, l->v[i], cutting);
}

/* Parse a template: NULL with *cause ("line N: ...", caller frees). */
struct gotmpl *
gotmpl_parse(const char *text, size_t len, char **cause)
{
	struct parser	 p;
	struct gotmpl	*g;
	int		 how, line, cutting = 0;

	*cause = NULL;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	memset(&p, 0, sizeof p);
	p.g = g;
	p.line = 1;
	/* Text nodes point into the template: keep a copy of it. */
	if ((p.t = pstrndup(&p, text, len)) != NULL) {
		p.len = len;
		g->root = parse_list(&p, &how, &line);
	}
	if (g->root != NULL && how != END_EOF)
		perr(&p, line, "unexpected {{%s}}", how == END_END ? "end" :
		    "else");
	if (p.failed) {
		*cause = p.err;
		gotmpl_free(g);
		return NULL;
	}
	mark_list(g, g->root, &cutting);
	return g;
}

/* Free a template and all its nodes; NULL is a no-op. */
void
gotmpl_free(struct gotmpl *g)
{
	union chunk	*c, *next;

	if (g == NULL)
		return;
	for (c = g->mem; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(g);
}

/* Whether the template reads .Messages. */
int
gotmpl_uses_messages(const struct gotmpl *g)
{
	return g->messages;
}
