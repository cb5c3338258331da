/*
 * The JSON side of yangtuo serve: OpenAI-style requests become a
 * conversation and sampling parameters (over the server's defaults; the
 * names and ranges of fe_set_param), and the engine's text and
 * statistics become completion objects, stream chunks and errors.  No
 * I/O here.  Unknown request fields are ignored, as the servers we
 * imitate do.
 */
#include "config.h"

#include "serve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"
#include "utf8.h"
#include "xmalloc.h"

#define SERVE_MAX_MSGS	100000

/* The sampling fields and the name fe_set_param() knows them by. */
static const struct {
	const char	*json;
	const char	*param;
	int		 integer;
} fields[] = {
	{ "temperature", "temperature", 0 },
	{ "top_p", "top_p", 0 },
	{ "top_k", "top_k", 1 },
	{ "min_p", "min_p", 0 },
	{ "repeat_penalty", "repeat_penalty", 0 },
	{ "repeat_last_n", "repeat_last_n", 1 },
	{ "seed", "seed", 1 },
	{ "max_tokens", "max_tokens", 1 },
	{ "max_completion_tokens", "max_tokens", 1 },
	{ NULL, NULL, 0 }
};

/* One sampling field, if present: 0, or -1 with *cause. */
static int
parse_field(json_t *body, size_t i, struct proto_params *p, char **cause)
{
	json_t	*v = json_object_get(body, fields[i].json);
	char	 num[64], *why = NULL;

	if (v == NULL || json_is_null(v))
		return 0;
	if (fields[i].integer && json_is_integer(v))
		snprintf(num, sizeof num, "%lld",
		    (long long)json_integer_value(v));
	else if (!fields[i].integer && json_is_number(v))
		snprintf(num, sizeof num, "%.9g", json_number_value(v));
	else {
		xasprintf(cause, "'%s' must be %s", fields[i].json,
		    fields[i].integer ? "an integer" : "a number");
		return -1;
	}
	if (fe_set_param(p, fields[i].param, num, &why) != 0) {
		xasprintf(cause, "bad value %s for '%s'", num, fields[i].json);
		free(why);
		return -1;
	}
	return 0;
}

/* "stop": a string or an array of them, in place of the defaults. */
static int
parse_stop(json_t *body, struct proto_params *p, char **cause)
{
	json_t	*v = json_object_get(body, "stop"), *s;
	char	*why = NULL;
	size_t	 i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) && !json_is_array(v)) {
		*cause = xstrdup("'stop' must be a string or an array of "
		    "strings");
		return -1;
	}
	fe_set_param(p, "stop", "", &why);
	if (json_is_string(v)) {
		if (json_string_length(v) > 0 && fe_set_param(p, "stop",
		    json_string_value(v), &why) != 0)
			goto bad;
		return 0;
	}
	json_array_foreach(v, i, s) {
		if (!json_is_string(s)) {
			*cause = xstrdup("'stop' must be a string or an array "
			    "of strings");
			return -1;
		}
		if (json_string_length(s) > 0 && fe_set_param(p, "stop",
		    json_string_value(s), &why) != 0)
			goto bad;
	}
	return 0;
bad:
	xasprintf(cause, "bad 'stop': %s", why != NULL ? why : "");
	free(why);
	return -1;
}

/* A message's content: a string, or an array of text parts joined. */
static char *
content_text(json_t *c, char **cause)
{
	json_t		*part, *t;
	const char	*type;
	char		*s = NULL;
	size_t	 i, len = 0, n;

	if (json_is_string(c))
		return xstrndup(json_string_value(c), json_string_length(c));
	if (json_is_null(c))
		return xstrdup("");
	if (!json_is_array(c)) {
		*cause = xstrdup("a message's 'content' must be a string or "
		    "an array of text parts");
		return NULL;
	}
	s = xstrdup("");
	json_array_foreach(c, i, part) {
		t = json_object_get(part, "text");
		type = json_string_value(json_object_get(part, "type"));
		if (!json_is_string(t) || (type != NULL &&
		    strcmp(type, "text") != 0)) {
			*cause = xstrdup("only text content parts are "
			    "supported");
			free(s);
			return NULL;
		}
		n = json_string_length(t);
		s = xreallocarray(s, len + n + 1, 1);
		memcpy(s + len, json_string_value(t), n);
		len += n;
		s[len] = '\0';
	}
	return s;
}

static int
parse_messages(json_t *body, struct conv *cv, char **cause)
{
	json_t		*msgs = json_object_get(body, "messages"), *m;
	const char	*role;
	char		*text;
	size_t		 i;
	int		 r;

	if (!json_is_array(msgs) || json_array_size(msgs) == 0 ||
	    json_array_size(msgs) > SERVE_MAX_MSGS) {
		*cause = xstrdup("'messages' must be a non-empty array");
		return -1;
	}
	json_array_foreach(msgs, i, m) {
		role = json_string_value(json_object_get(m, "role"));
		if (role == NULL) {
			xasprintf(cause, "message %zu has no 'role'", i);
			return -1;
		}
		if (strcmp(role, "developer") == 0)
			role = "system";
		if ((r = conv_role_by_name(role)) < 0) {
			xasprintf(cause, "message %zu: unsupported role "
			    "(system, developer, user, assistant)", i);
			return -1;
		}
		if ((text = content_text(json_object_get(m, "content"),
		    cause)) == NULL)
			return -1;
		/* The first system message is the system prompt; later
		 * ones stay in place. */
		if (r == CONV_SYSTEM && cv->n == 0 && cv->system_text == NULL)
			conv_set_system(cv, "request", text);
		else
			conv_add(cv, r, text, strlen(text));
		free(text);
	}
	if (cv->n == 0) {
		*cause = xstrdup("'messages' has no user message");
		return -1;
	}
	return 0;
}

static int
parse_prompt(json_t *body, struct conv *cv, char **cause)
{
	json_t	*p = json_object_get(body, "prompt");

	if (json_is_array(p) && json_array_size(p) == 1)
		p = json_array_get(p, 0);
	if (!json_is_string(p)) {
		*cause = xstrdup("'prompt' must be a string (one prompt per "
		    "request)");
		return -1;
	}
	conv_add(cv, CONV_USER, json_string_value(p), json_string_length(p));
	return 0;
}

/* Parse a request body over the defaults. */
int
serve_parse(int kind, const char *body, size_t len,
    const struct proto_params *def, struct serve_req *rq, char **cause)
{
	json_error_t	 err;
	json_t		*j, *v;
	size_t		 i;
	int		 r = -1;

	memset(rq, 0, sizeof *rq);
	rq->kind = kind;
	rq->params = *def;
	conv_init(&rq->conv);
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL || !json_is_object(j)) {
		xasprintf(cause, "the body is not a JSON object: %s", j ==
		    NULL ? err.text : "another value");
		goto out;
	}
	v = json_object_get(j, "stream");
	if (v != NULL && !json_is_boolean(v) && !json_is_null(v)) {
		*cause = xstrdup("'stream' must be true or false");
		goto out;
	}
	rq->stream = json_is_true(v);
	v = json_object_get(json_object_get(j, "stream_options"),
	    "include_usage");
	rq->include_usage = json_is_true(v);
	v = json_object_get(j, "n");
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) != 1)) {
		*cause = xstrdup("only n = 1 is supported");
		goto out;
	}
	for (i = 0; fields[i].json != NULL; i++)
		if (parse_field(j, i, &rq->params, cause) != 0)
			goto out;
	if (parse_stop(j, &rq->params, cause) != 0)
		goto out;
	if (kind == SERVE_CHAT)
		r = parse_messages(j, &rq->conv, cause);
	else
		r = parse_prompt(j, &rq->conv, cause);
out:
	json_decref(j);
	if (r != 0)
		serve_req_free(rq);
	return r;
}

void
serve_req_free(struct serve_req *rq)
{
	conv_free(&rq->conv);
	conv_init(&rq->conv);
}

const char *
serve_finish(uint32_t stop)
{
	switch (stop) {
	case PROTO_STOP_LENGTH:
	case PROTO_STOP_CONTEXT:
		return "length";
	default:
		return "stop";
	}
}

/* A JSON string of any bytes: invalid UTF-8 becomes U+FFFD. */
static json_t *
text_value(const char *s, size_t len)
{
	json_t	*v;
	char	*fix;
	size_t	 i = 0, o = 0, n;
	uint32_t cp;

	if (utf8_valid(s, len))
		return json_stringn(s, len);
	fix = xreallocarray(NULL, len + 1, 3);
	while (i < len) {
		if ((n = utf8_char(s + i, len - i, &cp)) == 0) {
			i += utf8_bad_len(s + i, len - i);
			memcpy(fix + o, "\xef\xbf\xbd", 3);
			o += 3;
			continue;
		}
		memcpy(fix + o, s + i, n);
		o += n;
		i += n;
	}
	v = json_stringn(fix, o);
	free(fix);
	return v;
}

static json_t *
head(const char *object, const char *id, const char *model,
    long long created)
{
	return json_pack("{s:s, s:s, s:I, s:s}", "id", id, "object", object,
	    "created", (json_int_t)created, "model", model);
}

/* One stream chunk: the role-only first one, a piece of text, or the
 * last one with its finish reason. */
json_t *
serve_chunk(int kind, const char *id, const char *model, long long created,
    int role_only, const char *text, size_t len, const char *finish)
{
	json_t	*o, *choice, *delta;

	o = head(kind == SERVE_CHAT ? "chat.completion.chunk" :
	    "text_completion", id, model, created);
	choice = json_pack("{s:i, s:o}", "index", 0, "finish_reason",
	    finish != NULL ? json_string(finish) : json_null());
	if (kind == SERVE_CHAT) {
		delta = json_object();
		if (role_only)
			json_object_set_new(delta, "role",
			    json_string("assistant"));
		if (text != NULL)
			json_object_set_new(delta, "content",
			    text_value(text, len));
		json_object_set_new(choice, "delta", delta);
	} else
		json_object_set_new(choice, "text", text != NULL ?
		    text_value(text, len) : json_string(""));
	json_object_set_new(choice, "logprobs", json_null());
	json_object_set_new(o, "choices", json_pack("[o]", choice));
	return o;
}

json_t *
serve_usage(const struct proto_done *d)
{
	return json_pack("{s:I, s:I, s:I, s:{s:I}}",
	    "prompt_tokens", (json_int_t)d->prompt,
	    "completion_tokens", (json_int_t)d->generated,
	    "total_tokens", (json_int_t)d->prompt + (json_int_t)d->generated,
	    "prompt_tokens_details", "cached_tokens", (json_int_t)d->cached);
}

/* The answer of a request without streaming. */
json_t *
serve_whole(int kind, const char *id, const char *model, long long created,
    const char *text, size_t len, const struct proto_done *d)
{
	json_t	*o, *choice;

	o = head(kind == SERVE_CHAT ? "chat.completion" : "text_completion",
	    id, model, created);
	choice = json_pack("{s:i, s:s, s:n}", "index", 0, "finish_reason",
	    serve_finish(d->stop), "logprobs");
	if (kind == SERVE_CHAT)
		json_object_set_new(choice, "message", json_pack("{s:s, s:o}",
		    "role", "assistant", "content", text_value(text, len)));
	else
		json_object_set_new(choice, "text", text_value(text, len));
	json_object_set_new(o, "choices", json_pack("[o]", choice));
	json_object_set_new(o, "usage", serve_usage(d));
	return o;
}

json_t *
serve_error(const char *message, const char *type)
{
	return json_pack("{s:{s:o, s:s, s:n, s:n}}", "error", "message",
	    text_value(message, strlen(message)), "type", type, "param",
	    "code");
}

/* /v1/models: the one model, with its context (vLLM's max_model_len). */
json_t *
serve_models(const char *model, long long created, uint32_t n_ctx)
{
	return json_pack("{s:s, s:[{s:s, s:s, s:I, s:s, s:I}]}", "object",
	    "list", "data", "id", model, "object", "model", "created",
	    (json_int_t)created, "owned_by", "yangtuo", "max_model_len",
	    (json_int_t)n_ctx);
}
