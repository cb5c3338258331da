/*
 * Slash commands and the pages they open (help, system prompts, saved
 * sessions) for the full-screen chat, on its UI thread.
 */
#ifndef YT_UI_SLASH_H
#define YT_UI_SLASH_H

struct chat;

int	slash_run(struct chat *, const char *line);
void	slash_open(struct chat *, int what);
void	slash_key(struct chat *, int is_key, unsigned key);
char	**slash_words(struct chat *, const char *line, int start);

#endif
