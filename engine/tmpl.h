/*
 * Chat templates: llama3, llama2, chatml, mistral and none (plain
 * continuation).  A template is recognised from tokenizer.chat_template
 * (never executed) or forced by name, and rendered straight to token ids:
 * special tokens come from the template only, message text is encoded
 * with special parsing off.
 */
#ifndef YT_ENGINE_TMPL_H
#define YT_ENGINE_TMPL_H

#include <stddef.h>
#include <stdint.h>

struct gguf;
struct tok;

enum tmpl_kind {
	TMPL_NONE = 0,
	TMPL_LLAMA3,
	TMPL_LLAMA2,
	TMPL_CHATML,
	TMPL_MISTRAL,
	TMPL_COUNT
};
/* An ollama (Go) template, rendered by tmpl_render_go() (gotmpl.h). */
#define TMPL_GO		TMPL_COUNT

struct tmpl_msg {
	const char	*role;		/* "system", "user", "assistant" */
	const char	*content;
	size_t		 len;
};

/* The template a file asks for, recognised from tokenizer.chat_template
 * (never executed); without one, llama3 or chatml if the vocabulary has
 * their markup tokens; else TMPL_NONE (base models). */
int		 tmpl_detect(const struct gguf *, const struct tok *);
/* 0 if the file has a chat template tmpl_detect() does not recognise. */
int		 tmpl_known(const struct gguf *);
/* By name: "llama3", ...; "auto" gives -2; unknown gives -1. */
int		 tmpl_by_name(const char *);
const char	*tmpl_name(int kind);

/*
 * Render msgs[0..n) with the generation prompt appended (add_gen) into
 * *ids (grown with realloc; *n_ids, *cap updated).  BOS comes first when
 * the vocabulary asks for it.  If msg_start is not NULL it receives n + 1
 * offsets: where each message's tokens start in *ids (a message that
 * begins inside a run of text, as in llama2's "[INST] sys user [/INST]",
 * gets the start of that run), and last *n_ids at return.  Returns 0, or
 * -1 on OOM.
 */
int		 tmpl_render(int kind, const struct tok *,
		    const struct tmpl_msg *msgs, size_t n, int add_gen,
		    int32_t **ids, size_t *n_ids, size_t *cap,
		    size_t *msg_start);

/*
 * Render msgs[0..n) through an ollama template as ollama does (BOS first
 * when the vocabulary asks for it): the special-token texts of the
 * template's own text are their control tokens, as in the built-in
 * templates, and message text is encoded with special parsing off.
 * Returns 0, or -1 with *cause (caller frees; NULL for out of memory).
 */
struct gotmpl;
int		 tmpl_render_go(const struct gotmpl *, const struct tok *,
		    const struct tmpl_msg *msgs, size_t n, int32_t **ids,
		    size_t *n_ids, size_t *cap, char **cause);

/* Token ids that end a reply under this template, beyond the vocab's
 * end-of-generation tokens; returns how many were stored (at most max). */
size_t		 tmpl_stops(int kind, const struct tok *, int32_t *out,
		    size_t max);

#endif
