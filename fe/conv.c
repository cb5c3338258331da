/*
 * The conversation model shared by all front ends: messages in order,
 * appended as a reply streams, popped for /regen and /edit, marked when
 * the engine drops them to fit its context.
 */
#include "config.h"

#include "conv.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xmalloc.h"
#include "i18n.h"

static const char *conv_roles[] = { "system", "user", "assistant" };

/* An empty conversation with no system prompt. */
void
conv_init(struct conv *c)
{
	memset(c, 0, sizeof *c);
}

/* Free every message and the system prompt. */
void
conv_free(struct conv *c)
{
	conv_clear(c);
	free(c->msgs);
	free(c->system_name);
	free(c->system_text);
	free(c->kv_path);
	free(c->kv_sha256);
	free(c->model);
	memset(c, 0, sizeof *c);
}

/* Append a message (text copied, stamped now); returns it, valid until
 * the next conv_add. */
struct conv_msg *
conv_add(struct conv *c, int role, const char *text, size_t len)
{
	struct conv_msg	*m;

	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 16 : c->cap * 2;
		c->msgs = xreallocarray(c->msgs, c->cap, sizeof *c->msgs);
	}
	m = &c->msgs[c->n++];
	memset(m, 0, sizeof *m);
	m->role = role;
	m->text = xstrndup(text != NULL ? text : "", len);
	m->len = strlen(m->text);
	m->time = time(NULL);
	return m;
}

/* Append text to a message (a streaming reply). */
size_t
conv_lead_blanks(const struct conv_msg *m, const char *text, size_t len)
{
	size_t	i, skip = 0;

	for (i = 0; i < m->len; i++)
		if (m->text[i] != ' ' && m->text[i] != '\t')
			return 0;
	while (skip < len && (text[skip] == ' ' || text[skip] == '\t'))
		skip++;
	return skip;
}

void
conv_append(struct conv_msg *m, const char *text, size_t len)
{
	m->text = xreallocarray(m->text, m->len + len + 1, 1);
	memcpy(m->text + m->len, text, len);
	m->len += len;
	m->text[m->len] = '\0';
}

/* The last message, or NULL. */
struct conv_msg *
conv_last(struct conv *c)
{
	return c->n > 0 ? &c->msgs[c->n - 1] : NULL;
}

/* Remove the last message. */
void
conv_pop(struct conv *c)
{
	if (c->n > 0)
		free(c->msgs[--c->n].text);
}

/* Remove every message; the system prompt stays. */
void
conv_clear(struct conv *c)
{
	while (c->n > 0)
		conv_pop(c);
}

/* Set the system prompt (name may be NULL for a literal text). */
void
conv_set_system(struct conv *c, const char *name, const char *text)
{
	free(c->system_name);
	free(c->system_text);
	c->system_name = name != NULL ? xstrdup(name) : NULL;
	c->system_text = text != NULL ? xstrdup(text) : NULL;
}

/*
 * Mark the messages the engine dropped.  Its indices count the messages
 * client_chat() sent: the system prompt (if any) first, then every
 * message not dropped before.  Returns how many were newly dropped.
 */
size_t
conv_apply_dropped(struct conv *c, const struct proto_context *ctx)
{
	size_t		i, sent = 0, k = 0, n = 0;
	uint32_t	base = c->system_text != NULL &&
			    *c->system_text != '\0' ? 1 : 0;

	for (i = 0; i < c->n && k < ctx->n_dropped; i++) {
		if (c->msgs[i].dropped)
			continue;
		while (k < ctx->n_dropped && ctx->dropped[k] < base + sent)
			k++;
		if (k < ctx->n_dropped && ctx->dropped[k] == base + sent) {
			c->msgs[i].dropped = 1;
			n++;
			k++;
		}
		sent++;
	}
	return n;
}

/* "system", "user" or "assistant". */
const char *
conv_role_name(int role)
{
	return role >= 0 && role <= 2 ? conv_roles[role] : "?";
}

/* The role with this name, or -1. */
int
conv_role_by_name(const char *s)
{
	int	i;

	for (i = 0; i <= 2; i++)
		if (strcmp(s, conv_roles[i]) == 0)
			return i;
	return -1;
}

/* Append the messages of a JSON conversation file. */
int
conv_load_json(struct conv *c, const char *path, char **cause)
{
	json_error_t	 err;
	json_t		*a, *e;
	const char	*role, *text;
	size_t		 i;
	int		 r;

	if ((a = json_load_file(path, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		xasprintf(cause, "%s:%d:%d: %s", path, err.line, err.column,
		    err.text);
		return -1;
	}
	if (!json_is_array(a)) {
		xasprintf(cause, _("%s: expected an array of {\"role\", "
		    "\"content\"}"), path);
		json_decref(a);
		return -1;
	}
	json_array_foreach(a, i, e) {
		role = json_string_value(json_object_get(e, "role"));
		text = json_string_value(json_object_get(e, "content"));
		if (role == NULL || text == NULL ||
		    (r = conv_role_by_name(role)) < 0) {
			xasprintf(cause, _("%s: message %zu needs a role "
			    "(system, user, assistant) and a content"), path,
			    i + 1);
			json_decref(a);
			return -1;
		}
		if (r == CONV_SYSTEM)
			conv_set_system(c, "custom", text);
		else
			conv_add(c, r, text, strlen(text));
	}
	json_decref(a);
	return 0;
}
