/*
 * ollama's chat templates: the subset of Go's text/template that model
 * templates use (actions, if/else if/else, range, with, variables, eq, ne,
 * lt, le, gt, ge, and, or, not, len, slice, index, {{- -}} trimming),
 * executed on a conversation the way ollama's template.Execute does it.
 * Pure text: the output comes in pieces that say whether they came from
 * the template (whose special-token texts count) or from a message.
 */
#ifndef YT_ENGINE_GOTMPL_H
#define YT_ENGINE_GOTMPL_H

#include <stddef.h>

struct tmpl_msg;
struct gotmpl;

/* One piece of output; from_tmpl is set for the template's own text and
 * string constants, clear for the conversation's text. */
typedef void (*gotmpl_emit_fn)(void *arg, const char *s, size_t len,
    int from_tmpl);

/* Parse a template; NULL with *cause ("line N: ...", caller frees). */
struct gotmpl	*gotmpl_parse(const char *text, size_t len, char **cause);
void		 gotmpl_free(struct gotmpl *);
/* Whether the template reads .Messages (else ollama's per-turn mode). */
int		 gotmpl_uses_messages(const struct gotmpl *);

/*
 * Render msgs[0..n) as ollama does: system messages joined into .System,
 * consecutive messages of one role merged with "\n\n"; a template that
 * reads .Messages runs once, any other once per user turn (.System,
 * .Prompt, .Response) and, for the last, up to its .Response.  Returns
 * 0, or -1 with *cause (caller frees) on an execution error or OOM.
 */
int		 gotmpl_render(const struct gotmpl *, const struct tmpl_msg *msgs,
		    size_t n, gotmpl_emit_fn, void *arg, char **cause);

#endif
