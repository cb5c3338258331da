/*
 * llama.cpp's interactive habits (llama-cli -i with -p, --in-prefix,
 * --in-suffix and -e): its escapes, a prompt written in Llama-3 markup
 * read back as messages, and any other prompt with prefix and suffix as
 * an ollama (Go) template the engine renders the same way.
 */
#ifndef YT_FE_LLAMACLI_H
#define YT_FE_LLAMACLI_H

#include <stddef.h>

struct mf_msg;

/* llama.cpp's escapes in place: \n \r \t \' \" \\ and \xHH; any other
 * backslash stays as it is. */
void	llamacli_unescape(char *);

/*
 * If prompt, prefix and suffix are exactly the Llama-3 chat markup (an
 * optional <|begin_of_text|>, whole turns, and the assistant header open
 * at the end; the prefix and suffix wrap a user turn), the messages of
 * the prompt (allocated: *msgs, *n; the last one is the user's turn to
 * answer) and 1; else 0.
 */
int	llamacli_llama3(const char *prompt, const char *prefix,
	    const char *suffix, struct mf_msg **msgs, size_t *n);
void	llamacli_msgs_free(struct mf_msg *, size_t n);

/*
 * The Go template of llama-cli's interactive stream: prompt, then every
 * later user message as prefix + text + suffix and every reply as it is.
 * A non-empty prompt stands for the first user message (which the caller
 * sends in its place).  Caller frees.
 */
char	*llamacli_template(const char *prompt, const char *prefix,
	    const char *suffix);

#endif
