/*
 * Word wrap for the line chat's streamed replies: text arrives in pieces
 * and goes out at once, words moved whole to the next line when they
 * would pass the terminal's width; wide (CJK) characters break anywhere.
 */
#ifndef YT_FE_LINEWRAP_H
#define YT_FE_LINEWRAP_H

#include <stddef.h>
#include <stdio.h>

struct linewrap {
	int	 cols;		/* the width; <= 0: no wrapping */
	int	 col;		/* where the cursor is */
	char	*word;		/* a word not yet written */
	size_t	 len;
	int	 wcols;		/* its columns */
	int	 space;		/* a blank before it */
};

void	linewrap_init(struct linewrap *, int cols);
/* Write s[0..len) (terminal-safe text) to f, wrapped. */
void	linewrap_put(struct linewrap *, FILE *f, const char *s, size_t len);
/* Write the word held back; the next text starts a new line. */
void	linewrap_flush(struct linewrap *, FILE *f);
void	linewrap_fini(struct linewrap *);
/* The first line of s, at most cols columns of whole characters, "..."
 * after it when cut; caller frees. */
char	*linewrap_cut(const char *s, int cols);

#endif
