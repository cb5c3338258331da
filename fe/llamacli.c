/*
 * llama-cli's ways for yangtuo's line chat: escapes as llama.cpp's
 * string_process_escapes, Llama-3 prompts turned back into messages (so
 * the built-in template gives the very tokens), other raw prompts as a
 * Go template whose own text keeps its special tokens, as llama.cpp
 * tokenizes a prompt with special parsing on and typed input without.
 */
#include "config.h"

#include "llamacli.h"

#include <stdlib.h>
#include <string.h>

#include "modelfile.h"
#include "xmalloc.h"

#define L3_BOT		"<|begin_of_text|>"
#define L3_START	"<|start_header_id|>"
#define L3_END		"<|end_header_id|>\n\n"
#define L3_EOT		"<|eot_id|>"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* llama.cpp's escapes, in place. */
void
llamacli_unescape(char *s)
{
	char	*w = s;
	int	 h, l;

	for (; *s != '\0'; s++) {
		if (*s != '\\' || s[1] == '\0') {
			*w++ = *s;
			continue;
		}
		switch (*++s) {
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case '\'': case '"': case '\\': *w++ = *s; break;
		case 'x':
			if ((h = hexval(s[1])) >= 0 && (l = hexval(s[2])) >=
			    0) {
				*w++ = (char)(h << 4 | l);
				s += 2;
				break;
			}
			/* FALLTHROUGH */
		default:
			*w++ = '\\';
			*w++ = *s;
		}
	}
	*w = '\0';
}

void
llamacli_msgs_free(struct mf_msg *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(m[i].role);
		free(m[i].text);
	}
	free(m);
}

static int
skip(const char **s, const char *w)
{
	size_t	n = strlen(w);

	if (strncmp(*s, w, n) != 0)
		return 0;
	*s += n;
	return 1;
}

/* The messages of a prompt in Llama-3 markup, when it is exactly that. */
int
llamacli_llama3(const char *prompt, const char *prefix, const char *suffix,
    struct mf_msg **msgs, size_t *n)
{
	const char	*s = prompt, *role, *end, *text;
	struct mf_msg	*m = NULL;
	size_t		 k = 0;

	*msgs = NULL;
	*n = 0;
	if (prefix == NULL || suffix == NULL ||
	    strcmp(prefix, L3_START "user" L3_END) != 0 ||
	    strcmp(suffix, L3_EOT L3_START "assistant" L3_END) != 0)
		return 0;
	skip(&s, L3_BOT);
	while (skip(&s, L3_START)) {
		role = s;
		if ((end = strstr(s, L3_END)) == NULL)
			break;
		s = end + strlen(L3_END);
		if (*s == '\0' && strncmp(role, "assistant", 9) == 0 &&
		    role + 9 == end && k > 0 &&
		    strcmp(m[k - 1].role, "user") == 0) {
			*msgs = m;
			*n = k;
			return 1;
		}
		text = s;
		if ((end = strstr(s, L3_EOT)) == NULL)
			break;
		s = end + strlen(L3_EOT);
		m = xreallocarray(m, k + 1, sizeof *m);
		m[k].role = xstrndup(role, (size_t)(strstr(role, L3_END) -
		    role));
		m[k++].text = xstrndup(text, (size_t)(end - text));
		if (strcmp(m[k - 1].role, "system") != 0 &&
		    strcmp(m[k - 1].role, "user") != 0 &&
		    strcmp(m[k - 1].role, "assistant") != 0)
			break;
	}
	llamacli_msgs_free(m, k);
	return 0;
}

/* Text that goes into the template as it is: "{{" would open an action,
 * so it becomes {{"{{"}}. */
static void
literal(char **t, size_t *len, const char *s)
{
	const char	*p;
	size_t		 n;

	while (*s != '\0') {
		p = strstr(s, "{{");
		n = p != NULL ? (size_t)(p - s) : strlen(s);
		*t = xreallocarray(*t, *len + n + 10, 1);
		memcpy(*t + *len, s, n);
		*len += n;
		s += n;
		if (p != NULL) {
			memcpy(*t + *len, "{{\"{{\"}}", 8);
			*len += 8;
			s += 2;
		}
		(*t)[*len] = '\0';
	}
}

static void
add(char **t, size_t *len, const char *s)
{
	size_t	n = strlen(s);

	*t = xreallocarray(*t, *len + n + 1, 1);
	memcpy(*t + *len, s, n + 1);
	*len += n;
}

/* llama-cli's interactive stream as a Go template; caller frees. */
char *
llamacli_template(const char *prompt, const char *prefix, const char *suffix)
{
	char	*t = xstrdup("");
	size_t	 len = 0;

	literal(&t, &len, prompt != NULL ? prompt : "");
	add(&t, &len, "{{ range $i, $m := .Messages }}");
	/* The prompt stands for the first user message. */
	add(&t, &len, prompt != NULL && *prompt != '\0' ?
	    "{{ if ge $i 1 }}" : "{{ if true }}");
	add(&t, &len, "{{ if eq .Role \"user\" }}");
	literal(&t, &len, prefix != NULL ? prefix : "");
	add(&t, &len, "{{ .Content }}");
	literal(&t, &len, suffix != NULL ? suffix : "");
	add(&t, &len, "{{ else if eq .Role \"assistant\" }}{{ .Content }}"
	    "{{ end }}{{ end }}{{ end }}");
	return t;
}
