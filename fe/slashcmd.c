/*
 * The one table of slash commands (/help, /帮助, ...) that the line chat
 * (src/fe_line.c) and the full-screen chat (ui/slash.c) both run, the
 * help rows made from it, and the replies the two chats share: /stats,
 * /set, /export and why a reply stopped.
 */
#include "config.h"

#include "slashcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#include "cfg.h"
#include "client.h"
#include "conv.h"
#include "fe.h"
#include "linewrap.h"
#include "session.h"
#include "text.h"
#include "utf8.h"
#include "xmalloc.h"
#include "i18n.h"

#define SLASH_USAGE_COLS	20	/* the first column of the help */

const struct slashcmd slashcmd_table[] = {
	{ SLASH_HELP, "help", "?", "帮助", SLASH_ANYTIME, 0,
	    N_("/help"), N_("this help"), NULL, N_("this text"), 0 },
	{ SLASH_SYSTEM, "system", NULL, "系统", SLASH_ANYTIME, 0,
	    N_("/system [NAME|TEXT]"),
	    N_("choose the system prompt, or switch to NAME\n"
	    "or to a TEXT of your own (it has a blank)"), NULL,
	    N_("list the system prompts, or switch to NAME\n"
	    "or to a TEXT of your own (it has a blank)"), 0 },
	{ SLASH_SET, "set", NULL, "设置", SLASH_ANYTIME, 0,
	    N_("/set PARAM VALUE"),
	    N_("temperature, top_k, top_p, min_p,\n"
	    "repeat_penalty, repeat_last_n, seed,\n"
	    "max_tokens, stop TEXT (\\n: a newline;\n"
	    "stop alone clears them)\n"
	    "(/set alone lists them);\n"
	    "/set system TEXT: a system prompt of your own"), NULL, NULL, 0 },
	{ SLASH_CLEAR, "clear", NULL, "清空", SLASH_IDLE, 0,
	    N_("/clear"), N_("start again (the system prompt stays)"), NULL,
	    NULL, 0 },
	{ SLASH_NEW, "new", NULL, "新建", SLASH_IDLE, 0,
	    N_("/new"), N_("the same, as a new conversation"), NULL,
	    N_("the same"), 0 },
	{ SLASH_SAVE, "save", NULL, "保存", SLASH_ANYTIME, 0,
	    N_("/save [NAME]"),
	    N_("save the conversation (/save! NAME replaces\n"
	    "another one saved as NAME)"),
	    N_("/save NAME"), NULL, 1 },
	{ SLASH_LOAD, "load", NULL, "载入", SLASH_IDLE_ARG, 0,
	    N_("/load [NAME]"),
	    N_("load a saved conversation (a list without NAME)"),
	    NULL, NULL, 0 },
	{ SLASH_EXPORT, "export", NULL, "导出", SLASH_ANYTIME, 0,
	    N_("/export [FILE]"),
	    N_("write the conversation as Markdown\n"
	    "(/export! FILE replaces FILE)"),
	    NULL, NULL, 1 },
	{ SLASH_REGEN, "regen", NULL, "重答", SLASH_IDLE, 0,
	    N_("/regen"), N_("answer the last message again"), NULL, NULL, 0 },
	{ SLASH_EDIT, "edit", NULL, "编辑", SLASH_IDLE, 1,
	    N_("/edit"), N_("take the last message back into the input"),
	    NULL, NULL, 0 },
	{ SLASH_STATS, "stats", NULL, "统计", SLASH_ANYTIME, 0,
	    N_("/stats"), N_("parameters, context and speed of the last reply"),
	    NULL, NULL, 0 },
	{ SLASH_THEME, "theme", NULL, "主题", SLASH_ANYTIME, 0,
	    N_("/theme [NAME]"),
	    N_("list the colour themes, or switch to NAME"),
	    N_("/theme"), N_("colour themes (the full-screen chat's)"), 0 },
	{ SLASH_MODEL, "model", NULL, "模型", SLASH_IDLE_ARG, 0,
	    N_("/model [N|NAME|PATH]"),
	    N_("list the models, or switch to one (the\n"
	    "conversation stays and is read again)"), NULL, NULL, 0 },
	{ SLASH_FILE, "file", NULL, "文件", SLASH_ANYTIME, 0,
	    N_("/file [PATH]"),
	    N_("put a text file into the next message\n"
	    "(/file alone drops it)"), NULL, NULL, 0 },
	{ SLASH_COPY, "copy", NULL, "复制", SLASH_ANYTIME, 0,
	    N_("/copy [N]"),
	    N_("copy the last reply, or its Nth code block,\n"
	    "to the clipboard (OSC 52)"), NULL, NULL, 0 },
	{ SLASH_RENAME, "rename", NULL, "改名", SLASH_ANYTIME, 0,
	    N_("/rename [OLD /] NEW"),
	    N_("rename this saved conversation, or OLD"), NULL, NULL, 0 },
	{ SLASH_DELETE, "delete", NULL, "删除", SLASH_ANYTIME, 0,
	    N_("/delete NAME"),
	    N_("delete a saved conversation (/delete! NAME\n"
	    "confirms)"), NULL, NULL, 1 },
	{ SLASH_QUIT, "quit", "exit", "退出", SLASH_ANYTIME, 0,
	    N_("/quit, /exit"), N_("leave"), NULL, NULL, 0 },
	{ SLASH_COUNT, NULL, NULL, NULL, SLASH_ANYTIME, 0, NULL, NULL, NULL,
	    NULL, 0 }
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
	int	 bang = 0;

	if (line[0] != '/' || line[1] == '/' || line[1] == '\0')
		return 0;
	a = line + 1 + strcspn(line + 1, " \t");
	if (*a != '\0')
		*a++ = '\0';
	n = strlen(line + 1);
	if (n > 1 && line[n] == '!') {
		line[n] = '\0';
		if ((*cmd = slashcmd_find(line + 1)) != NULL && (*cmd)->bang)
			bang = 1;
		else
			line[n] = '!';
	}
	a += strspn(a, " \t");
	a[strcspn(a, "\n")] = '\0';
	n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		a[--n] = '\0';	/* as Tab completion leaves it */
	*cmd = slashcmd_find(line + 1);
	*arg = a;
	return 1 + bang;
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

/* The note for a system prompt the model cannot take. */
const char *
slashcmd_system_unused(const struct client *cl, const struct conv *cv)
{
	if (cv->system_text == NULL || *cv->system_text == '\0' ||
	    cl->model.template_name == NULL ||
	    strcmp(cl->model.template_name, "none") != 0)
		return NULL;
	return _("This model has no chat template: the system prompt is not "
	    "used (--template chatml, say, gives it one).");
}

/* Switch the system prompt: a name, else a text of one's own. */
int
slashcmd_system(const struct cfg *cfg, struct conv *cv, const char *arg,
    int custom, char **reply)
{
	const struct cfg_prompt	*p;
	char			*label;

	if (!custom && (p = cfg_prompt(cfg, arg)) != NULL) {
		conv_set_system(cv, p->name, p->text);
		xasprintf(reply, _("system prompt: %s"), p->name);
		return 0;
	}
	if (!custom && strpbrk(arg, " \t\n") == NULL) {
		if ((p = cfg_prompt_near(cfg, arg)) != NULL)
			xasprintf(reply, _("no system prompt named '%s' (did "
			    "you mean '%s'?); a text of your own has a blank, "
			    "or use /set system TEXT"), arg, p->name);
		else
			xasprintf(reply, _("no system prompt named '%s' "
			    "(/system lists them); a text of your own has a "
			    "blank, or use /set system TEXT"), arg);
		return -1;
	}
	conv_set_system(cv, "custom", arg);
	label = slashcmd_system_label(cv);
	xasprintf(reply, _("system prompt: %s"), label);
	free(label);
	return 0;
}

/* "custom: " and the first words of a custom prompt, else its name. */
char *
slashcmd_system_label(const struct conv *cv)
{
	char	*cut, *s, *p;

	if (cv->system_text == NULL)
		return xstrdup(_("none"));
	if (cv->system_name != NULL && strcmp(cv->system_name, "custom") != 0)
		return xstrdup(cv->system_name);
	cut = linewrap_cut(cv->system_text, 24);
	for (p = cut; *p != '\0'; p++)
		if (*p == '\t')
			*p = ' ';
	/* Cut after a whole word when there is one. */
	if ((p = strstr(cut, "...")) != NULL && p[3] == '\0' &&
	    (p = strrchr(cut, ' ')) != NULL && p > cut)
		memcpy(p, "...", 4);
	xasprintf(&s, _("custom: %s"), cut);
	free(cut);
	return s;
}

/* /file PATH. */
int
slashcmd_file(const char *path, char **block, char **reply)
{
	struct stat	 st;
	const char	*base;
	char		*buf;
	size_t		 n;
	FILE		*f;

	*block = NULL;
	if (path == NULL || *path == '\0') {
		xasprintf(reply, _("usage: /file PATH"));
		return -1;
	}
	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
		xasprintf(reply, _("no file added: %s: %s"), path,
		    strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)SLASHCMD_FILE_MAX) {
		xasprintf(reply, !S_ISREG(st.st_mode) ? _("no file added: %s "
		    "is not a file") : _("no file added: %s is larger than "
		    "%u KiB"), path, SLASHCMD_FILE_MAX >> 10);
		fclose(f);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	n = fread(buf, 1, (size_t)st.st_size + 1, f);
	fclose(f);
	if (n > SLASHCMD_FILE_MAX || memchr(buf, '\0', n) != NULL ||
	    !utf8_valid(buf, n)) {
		xasprintf(reply, n > SLASHCMD_FILE_MAX ? _("no file added: %s "
		    "is larger than %u KiB") : _("no file added: %s is not "
		    "UTF-8 text"), path, SLASHCMD_FILE_MAX >> 10);
		free(buf);
		return -1;
	}
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	xasprintf(block, "%s %s:\n```\n%.*s\n```\n\n", _("File"), base, (int)n,
	    buf);
	xasprintf(reply, _("%s (%zu bytes) goes with the next message (/file "
	    "alone drops it)"), base, n);
	free(buf);
	return 0;
}

/* Whether line (up to its end) opens or closes a code fence. */
static int
fence(const char *line)
{
	line += strspn(line, " ");
	return strncmp(line, "```", 3) == 0 || strncmp(line, "~~~", 3) == 0;
}

/* /copy [N]. */
int
slashcmd_copy_text(const struct conv *cv, const char *arg, char **text,
    char **reply)
{
	const struct conv_msg	*m = NULL;
	const char		*p, *nl, *start = NULL;
	struct conv_msg		 none;
	size_t			 i;
	long			 want = 0, k = 0;
	char			*end;

	*text = NULL;
	for (i = cv->n; i > 0 && m == NULL; i--)
		if (cv->msgs[i - 1].role == CONV_ASSISTANT)
			m = &cv->msgs[i - 1];
	if (m == NULL) {
		xasprintf(reply, _("no reply to copy yet"));
		return -1;
	}
	if (arg != NULL && *arg != '\0') {
		want = strtol(arg, &end, 10);
		if (*end != '\0' || want < 1 || want > 1000) {
			xasprintf(reply, _("usage: /copy [N] (N: the code "
			    "block, from 1)"));
			return -1;
		}
	}
	if (want == 0) {
		memset(&none, 0, sizeof none);
		i = conv_lead_blanks(&none, m->text, m->len);
		*text = xstrdup(m->text + i);
		return 0;
	}
	for (p = m->text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (fence(p)) {
			if (start == NULL) {
				start = nl != NULL ? nl + 1 : p + strlen(p);
				k++;
			} else {
				if (k == want) {
					*text = xstrndup(start, (size_t)(p -
					    start));
					return 0;
				}
				start = NULL;
			}
		}
		if (nl == NULL)
			break;
	}
	if (start != NULL && k == want) {	/* a block left open */
		*text = xstrdup(start);
		return 0;
	}
	xasprintf(reply, _("the last reply has %ld code blocks, not %ld"), k,
	    want);
	return -1;
}

/* "ESC ] 52 ; c ; BASE64 BEL". */
char *
slashcmd_osc52(const char *text, size_t len)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*t = (const unsigned char *)text;
	char			*s, *o;
	size_t			 i;
	unsigned		 v;

	s = xmalloc(len / 3 * 4 + 16);
	o = s + sprintf(s, "\033]52;c;");
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)t[i] << 16 | (unsigned)t[i + 1] << 8 | t[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (i < len) {
		v = (unsigned)t[i] << 16 | (i + 1 < len ? (unsigned)t[i + 1] <<
		    8 : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o++ = '\a';
	*o = '\0';
	return s;
}

/* The file of a saved conversation, or NULL with *reply. */
static char *
sess_file(const char *name, char **reply)
{
	char	*path;

	if (!session_name_ok(name)) {
		xasprintf(reply, _("'%s' is not a usable name"), name);
		return NULL;
	}
	if ((path = session_path(name)) == NULL)
		xasprintf(reply, _("no folder for sessions ($HOME unset?)"));
	return path;
}

/* /rename [OLD /] NEW. */
int
slashcmd_rename(const char *arg, const char *current, char **renamed,
    char **reply)
{
	char		*old, *new, *from = NULL, *to = NULL, *slash;
	size_t		 n;
	int		 r = -1;

	*renamed = NULL;
	if ((slash = strchr(arg, '/')) != NULL) {
		n = (size_t)(slash - arg);
		while (n > 0 && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
			n--;
		old = xstrndup(arg, n);
		new = xstrdup(slash + 1 + strspn(slash + 1, " \t"));
	} else {
		old = xstrdup(current != NULL ? current : "");
		new = xstrdup(arg);
	}
	if (*new == '\0' || *old == '\0') {
		xasprintf(reply, *new == '\0' ? _("usage: /rename [OLD /] NEW")
		    : _("this conversation is not saved yet: /save NAME "
		    "names it"));
		goto out;
	}
	if ((from = sess_file(old, reply)) == NULL ||
	    (to = sess_file(new, reply)) == NULL)
		goto out;
	/* link, then unlink: never over another conversation. */
	if (link(from, to) != 0) {
		if (errno == EEXIST)
			xasprintf(reply, _("not renamed: another conversation "
			    "is saved as '%s'"), new);
		else if (errno == ENOENT)
			xasprintf(reply, _("not renamed: no conversation is "
			    "saved as '%s'"), old);
		else
			xasprintf(reply, _("not renamed: %s"), strerror(errno));
		goto out;
	}
	unlink(from);
	xasprintf(reply, _("renamed '%s' to '%s'"), old, new);
	*renamed = xstrdup(new);
	r = 0;
out:
	free(from);
	free(to);
	free(old);
	free(new);
	return r;
}

/* /delete NAME. */
int
slashcmd_delete(const char *name, int force, char **reply)
{
	char	*path;

	if (name == NULL || *name == '\0') {
		xasprintf(reply, _("usage: /delete NAME"));
		return -1;
	}
	if ((path = sess_file(name, reply)) == NULL)
		return -1;
	if (access(path, F_OK) != 0) {
		xasprintf(reply, _("no conversation is saved as '%s'"), name);
		free(path);
		return -1;
	}
	if (!force) {
		xasprintf(reply, _("delete '%s' for good? /delete! %s does it"),
		    name, name);
		free(path);
		return 1;
	}
	if (unlink(path) != 0) {
		xasprintf(reply, _("not deleted: %s"), strerror(errno));
		free(path);
		return -1;
	}
	xasprintf(reply, _("deleted '%s'"), name);
	free(path);
	return 0;
}

/* /model alone. */
char *
slashcmd_models(const struct fe *fe)
{
	char	**v, *s, *t, *cause = NULL, *safe;
	size_t	  n, i;

	v = fe_model_list(fe, &n, &cause);
	if (cause != NULL) {
		safe = text_line(cause);
		xasprintf(&s, _("the server does not list its models: %s"),
		    safe);
		free(safe);
		free(cause);
		return s;
	}
	s = xstrdup(_("Models (/model N or NAME switches; * is in use):"));
	for (i = 0; i < n; i++) {
		safe = text_line(v[i]);		/* a server's ids too */
		xasprintf(&t, "%s\n  %s %zu  %s", s, i == 0 ? "*" : " ", i + 1,
		    safe);
		free(safe);
		free(s);
		s = t;
	}
	fe_model_list_free(v, n);
	return s;
}

/* The note for a session saved with another model. */
char *
slashcmd_model_note(const struct conv *cv, const char *model_path)
{
	const char	*base;
	char		*s;

	if (cv->model == NULL || model_path == NULL)
		return NULL;
	base = strrchr(model_path, '/');
	base = base != NULL ? base + 1 : model_path;
	if (strcmp(base, cv->model) == 0)
		return NULL;
	xasprintf(&s, _("This conversation was saved with %s; %s reads it "
	    "afresh and may answer differently."), cv->model, base);
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
	if (d->from_disk > 0) {
		char	*t;

		xasprintf(&t, _("[prompt cache: %u tokens from disk]\n"),
		    d->from_disk);
		append(&s, t);
	}
	return s;
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
		xasprintf(&t, _("last reply: stopped (%s); "),
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

/* Make path as a new, empty file (so no other export takes it); 0, or
 * -1 with errno (EEXIST: it is there). */
static int
claim(const char *path)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
		return -1;
	close(fd);
	return 0;
}

/* A file name of its own for an export: yangtuo-DATE-TIME.md, else with
 * -2, -3, ...; claimed.  Caller frees; NULL with errno. */
static char *
export_name(void)
{
	time_t		 now = time(NULL);
	struct tm	 tm;
	char		 stamp[32], *path;
	int		 i;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	for (i = 1; i < 1000; i++) {
		if (i == 1)
			xasprintf(&path, "yangtuo-%s.md", stamp);
		else
			xasprintf(&path, "yangtuo-%s-%d.md", stamp, i);
		if (claim(path) == 0)
			return path;
		free(path);
		if (errno != EEXIST)
			return NULL;
	}
	errno = EEXIST;
	return NULL;
}

/* /export [FILE]. */
int
slashcmd_export(const struct conv *cv, const char *arg,
    const char *model_path, int force, char **reply)
{
	char	*path, *cause = NULL;
	int	 claimed = 0;

	if (arg != NULL && *arg != '\0') {
		path = xstrdup(arg);
		if (!force && claim(path) != 0) {
			if (errno == EEXIST)
				xasprintf(reply, _("not exported: %s exists "
				    "(/export! %s replaces it)"), path, path);
			else
				xasprintf(reply, _("not exported: %s: %s"),
				    path, strerror(errno));
			free(path);
			return -1;
		}
		claimed = !force;
	} else {
		if ((path = export_name()) == NULL) {
			xasprintf(reply, _("not exported: %s"),
			    strerror(errno));
			return -1;
		}
		claimed = 1;
	}
	if (session_export_md(cv, path, model_path, &cause) != 0) {
		if (claimed)
			unlink(path);
		xasprintf(reply, _("not exported: %s"), cause);
		free(cause);
		free(path);
		return -1;
	}
	xasprintf(reply, _("exported to %s"), path);
	free(path);
	return 0;
}

/* Whether /save may write name. */
int
slashcmd_save_ok(const char *name, const char *current, int force,
    char **why)
{
	char	*path;
	int	 r = 0;

	if (force || (current != NULL && strcmp(current, name) == 0) ||
	    !session_name_ok(name))
		return 0;	/* a bad name is session_save's to say */
	if ((path = session_path(name)) == NULL)
		return 0;
	if (access(path, F_OK) == 0) {
		xasprintf(why, _("another conversation is saved as '%s' "
		    "(/save! %s replaces it; /load lists them)"), name, name);
		r = -1;
	}
	free(path);
	return r;
}
