/*
 * The one table of slash commands (/help, /帮助, ...) that the line chat
 * (src/fe_line.c) and the full-screen chat (ui/slash.c) both run, the
 * help rows made from it, and the replies the two chats share: /stats,
 * /set, /export and why a reply stopped.
 */
#include "config.h"

#include "slashcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <utf8proc.h>

#include "client.h"
#include "conv.h"
#include "fe.h"
#include "session.h"
#include "text.h"
#include "xmalloc.h"
#include "i18n.h"

#define SLASH_USAGE_COLS	20	/* the first column of the help */

const struct slashcmd slashcmd_table[] = {
	{ SLASH_HELP, "help", "?", "帮助", SLASH_ANYTIME, 0,
	    N_("/help"), N_("this help"), NULL, N_("this text") },
	{ SLASH_SYSTEM, "system", NULL, "系统", SLASH_ANYTIME, 0,
	    N_("/system [NAME]"),
	    N_("choose the system prompt, or switch to NAME"), NULL,
	    N_("list the system prompts, or switch to NAME") },
	{ SLASH_SET, "set", NULL, "设置", SLASH_ANYTIME, 0,
	    N_("/set PARAM VALUE"),
	    N_("temperature, top_k, top_p, min_p,\n"
	    "repeat_penalty, repeat_last_n, seed,\n"
	    "max_tokens, stop TEXT (\\n: a newline;\n"
	    "stop alone clears them)\n"
	    "(/set alone lists them)"), NULL, NULL },
	{ SLASH_CLEAR, "clear", NULL, "清空", SLASH_IDLE, 0,
	    N_("/clear"), N_("start again (the system prompt stays)"), NULL,
	    NULL },
	{ SLASH_NEW, "new", NULL, "新建", SLASH_IDLE, 0,
	    N_("/new"), N_("the same, as a new conversation"), NULL,
	    N_("the same") },
	{ SLASH_SAVE, "save", NULL, "保存", SLASH_ANYTIME, 0,
	    N_("/save [NAME]"), N_("save the conversation"),
	    N_("/save NAME"), NULL },
	{ SLASH_LOAD, "load", NULL, "载入", SLASH_IDLE_ARG, 0,
	    N_("/load [NAME]"),
	    N_("load a saved conversation (a list without NAME)"),
	    N_("/load NAME"), N_("load a saved conversation") },
	{ SLASH_EXPORT, "export", NULL, "导出", SLASH_ANYTIME, 0,
	    N_("/export [FILE]"), N_("write the conversation as Markdown"),
	    NULL, NULL },
	{ SLASH_REGEN, "regen", NULL, "重答", SLASH_IDLE, 0,
	    N_("/regen"), N_("answer the last message again"), NULL, NULL },
	{ SLASH_EDIT, "edit", NULL, "编辑", SLASH_IDLE, 1,
	    N_("/edit"), N_("take the last message back into the input"),
	    NULL, NULL },
	{ SLASH_STATS, "stats", NULL, "统计", SLASH_ANYTIME, 0,
	    N_("/stats"), N_("parameters, context and speed of the last reply"),
	    NULL, NULL },
	{ SLASH_THEME, "theme", NULL, "主题", SLASH_ANYTIME, 0,
	    N_("/theme [NAME]"),
	    N_("list the colour themes, or switch to NAME"),
	    N_("/theme"), N_("colour themes (the full-screen chat's)") },
	{ SLASH_QUIT, "quit", "exit", "退出", SLASH_ANYTIME, 0,
	    N_("/quit, /exit"), N_("leave"), NULL, NULL },
	{ SLASH_COUNT, NULL, NULL, NULL, SLASH_ANYTIME, 0, NULL, NULL, NULL,
	    NULL }
};

/* The command called word, by any of its names. */
const struct slashcmd *
slashcmd_find(const char *word)
{
	const struct slashcmd	*c;

	for (c = slashcmd_table; c->name != NULL; c++)
		if (strcmp(word, c->name) == 0 || strcmp(word, c->alias) == 0 ||
		    (c->name2 != NULL && strcmp(word, c->name2) == 0))
			return c;
	return NULL;
}

/* Split "/cmd arg" in place; 1 if line was a command. */
int
slashcmd_parse(char *line, const struct slashcmd **cmd, char **arg)
{
	char	*a;
	size_t	 n;

	if (line[0] != '/' || line[1] == '/' || line[1] == '\0')
		return 0;
	a = line + 1 + strcspn(line + 1, " \t");
	if (*a != '\0')
		*a++ = '\0';
	a += strspn(a, " \t");
	a[strcspn(a, "\n")] = '\0';
	n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		a[--n] = '\0';	/* as Tab completion leaves it */
	*cmd = slashcmd_find(line + 1);
	*arg = a;
	return 1;
}

/* Columns of UTF-8 text s on a terminal. */
static int
text_cols(const char *s)
{
	const utf8proc_uint8_t	*p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t	 cp;
	utf8proc_ssize_t	 n;
	int			 w = 0;

	while (*p != '\0' && (n = utf8proc_iterate(p, -1, &cp)) > 0) {
		w += utf8proc_charwidth(cp);
		p += n;
	}
	return w;
}

/* Append "  USAGE  SECOND  HELP" to *s, the help's own lines indented
 * under its first. */
static void
help_row(char **s, const char *usage, const char *second, int col2,
    const char *help)
{
	const char	*p = help, *nl;
	char		*t;
	int		 pad1, pad2;

	pad1 = SLASH_USAGE_COLS - text_cols(usage);
	pad2 = col2 - text_cols(second);
	for (;;) {
		nl = strchr(p, '\n');
		if (p == help)
			xasprintf(&t, "%s  %s%*s%s%*s%.*s\n", *s, usage,
			    pad1 > 1 ? pad1 : 1, "", second, pad2 > 1 ?
			    pad2 : 1, "", nl != NULL ? (int)(nl - p) :
			    (int)strlen(p), p);
		else
			xasprintf(&t, "%s%*s%.*s\n", *s, 2 + SLASH_USAGE_COLS +
			    col2, "", nl != NULL ? (int)(nl - p) :
			    (int)strlen(p), p);
		free(*s);
		*s = t;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

/* The name of c that its translated usage does not show: the Chinese
 * one beside English, the English one beside Chinese; static. */
static const char *
other_name(const struct slashcmd *c, const char *usage, char *buf,
    size_t size)
{
	size_t	n = strlen(c->name);

	if (usage[0] == '/' && strncmp(usage + 1, c->name, n) == 0 &&
	    strchr(" ,", usage[1 + n]) != NULL)
		snprintf(buf, size, "/%s", c->alias);
	else
		snprintf(buf, size, "/%s", c->name);
	return buf;
}

/* The help rows of the commands; caller frees. */
char *
slashcmd_help(int line_chat)
{
	const struct slashcmd	*c;
	const char		*u;
	char			*s = xstrdup(""), buf[64];
	int			 col2 = 0, w;

	for (c = slashcmd_table; c->name != NULL; c++) {
		u = _(line_chat && c->line_usage != NULL ? c->line_usage :
		    c->usage);
		w = text_cols(other_name(c, u, buf, sizeof buf)) + 3;
		if (w > col2)
			col2 = w;
	}
	for (c = slashcmd_table; c->name != NULL; c++) {
		if (line_chat && c->full_screen)
			continue;
		u = _(line_chat && c->line_usage != NULL ? c->line_usage :
		    c->usage);
		help_row(&s, u, other_name(c, u, buf, sizeof buf), col2,
		    _(line_chat && c->line_help != NULL ? c->line_help :
		    c->help));
	}
	if (!line_chat)
		help_row(&s, _("//TEXT"), "", col2,
		    _("send a message that begins with /"));
	return s;
}

/* Why a reply stopped, in words. */
const char *
slashcmd_stop_text(uint32_t stop)
{
	switch (stop) {
	case PROTO_STOP_EOG:
		return _("end of turn");
	case PROTO_STOP_LENGTH:
		return _("max_tokens reached");
	case PROTO_STOP_CONTEXT:
		return _("the context is full");
	case PROTO_STOP_CANCEL:
		return _("cancelled");
	case PROTO_STOP_STRING:
		return _("a stop string");
	default:
		return _("error");
	}
}

/* The counts and speeds of a finished reply; caller frees. */
char *
slashcmd_done_text(const struct proto_done *d)
{
	char	*s;

	xasprintf(&s, _("[prompt %u tokens (%u cached, %u evaluated) in %.2f "
	    "s, %.1f t/s; reply %u tokens in %.2f s, %.1f t/s]\n"), d->prompt,
	    d->cached, d->evaluated, d->prefill_sec, d->prefill_sec > 0 ?
	    d->evaluated / d->prefill_sec : 0.0, d->generated, d->decode_sec,
	    d->decode_sec > 0 ? d->generated / d->decode_sec : 0.0);
	return s;
}

/* Append t to *s and free t. */
static void
append(char **s, char *t)
{
	char	*u;

	xasprintf(&u, "%s%s", *s, t);
	free(*s);
	free(t);
	*s = u;
}

/* The /stats text; caller frees. */
char *
slashcmd_stats(const struct client *cl, const struct conv *cv,
    const struct proto_params *params)
{
	const struct conv_msg	*m = NULL;
	char			*s, *t, *name, *sys;
	size_t			 i;

	/* The model's and the prompt's names come from files. */
	name = text_line(cl->model.name);
	sys = text_line(cv->system_name);
	xasprintf(&s, _("model: %s (%s template, context %u, %u threads, "
	    "%s)\n"), name, cl->model.template_name,
	    cl->model.n_ctx, cl->model.threads, cl->model.simd);
	for (i = 0; i < cl->model.n_lora; i++) {
		const struct proto_lora	*a = &cl->model.lora[i];
		char			*ap = text_line(a->path);

		xasprintf(&t, cl->model.lora_merged ? _("LoRA adapter: %s "
		    "(scale %g, rank %u, %u tensors, merged)\n") :
		    _("LoRA adapter: %s (scale %g, rank %u, %u tensors)\n"),
		    ap, a->scale, a->rank, a->n_tensors);
		free(ap);
		append(&s, t);
	}
	xasprintf(&t, _("system prompt: %s\n"), sys);
	free(name);
	free(sys);
	append(&s, t);
	append(&s, fe_params_text(params));
	append(&s, xstrdup("\n"));
	for (i = cv->n; i > 0; i--)
		if (cv->msgs[i - 1].has_stats) {
			m = &cv->msgs[i - 1];
			break;
		}
	if (m != NULL) {
		xasprintf(&t, _("last reply: stopped by %s; "),
		    slashcmd_stop_text(m->stats.stop));
		append(&s, t);
		append(&s, slashcmd_done_text(&m->stats));
		xasprintf(&t, _("cached tokens: %u of %u in the prompt\n"),
		    m->stats.cached, m->stats.prompt);
		append(&s, t);
	}
	return s;
}

/* /set PARAM VALUE. */
int
slashcmd_set(struct proto_params *params, char *arg, char **reply)
{
	char	*name, *value, *cause = NULL, *s;

	name = strtok(arg, " \t");
	/* A stop string is the rest of the line, escapes decoded; none
	 * clears them. */
	if (name != NULL && strcmp(name, "stop") == 0) {
		value = strtok(NULL, "");
		if (value == NULL)
			value = name + strlen(name);	/* "": clear */
		value += strspn(value, " \t");
		if (fe_unescape(value) != 0) {
			xasprintf(reply, _("bad escape in the stop string (\\n, "
			    "\\t, \\r and \\\\ are known)"));
			return -1;
		}
		if (fe_add_stop(params, value, reply) != 0)
			return -1;
		*reply = fe_params_text(params);
		return 0;
	}
	value = name != NULL ? strtok(NULL, " \t") : NULL;
	if (name == NULL || value == NULL) {
		s = fe_params_text(params);
		xasprintf(reply, _("usage: /set PARAM VALUE\n%s"), s);
		free(s);
		return 1;
	}
	if (fe_set_param(params, name, value, &cause) != 0) {
		*reply = cause;
		return -1;
	}
	xasprintf(reply, _("%s = %s"), name, value);
	return 0;
}

/* /export [FILE]. */
int
slashcmd_export(const struct conv *cv, const char *arg,
    const char *model_path, char **reply)
{
	char	*path, *cause = NULL;
	int	 r = 0;

	if (arg != NULL && *arg != '\0')
		path = xstrdup(arg);
	else
		xasprintf(&path, "yangtuo-%ld.md", (long)time(NULL));
	if (session_export_md(cv, path, model_path, &cause) != 0) {
		xasprintf(reply, _("not exported: %s"), cause);
		free(cause);
		r = -1;
	} else
		xasprintf(reply, _("exported to %s"), path);
	free(path);
	return r;
}
