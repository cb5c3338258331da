/*
 * The built-in theme: a few colour pairs on the terminal's own
 * background, or attributes only when colour is off (NO_COLOR, TERM
 * without colours).  Pairs are set up once after initscr.
 */
#include "config.h"

#include "theme.h"

struct theme_def {
	short	fg;		/* -1: the terminal's */
	short	bg;
	attr_t	colour_attr;	/* with colours */
	attr_t	mono_attr;	/* without */
};

static const struct theme_def theme_defs[TH_COUNT] = {
	[TH_NORMAL] =		{ -1, -1, A_NORMAL, A_NORMAL },
	[TH_USER] =		{ COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[TH_ASSISTANT] =	{ COLOR_CYAN, -1, A_BOLD, A_BOLD },
	[TH_NOTE] =		{ COLOR_YELLOW, -1, A_NORMAL, A_DIM },
	[TH_ERROR] =		{ COLOR_RED, -1, A_BOLD, A_BOLD },
	[TH_DIM] =		{ -1, -1, A_DIM, A_DIM },
	[TH_STATUS] =		{ COLOR_WHITE, COLOR_BLUE, A_NORMAL,
				    A_REVERSE },
	[TH_STATUS_KEY] =	{ COLOR_YELLOW, COLOR_BLUE, A_BOLD,
				    A_REVERSE | A_BOLD },
	[TH_METER] =		{ COLOR_GREEN, COLOR_BLUE, A_BOLD,
				    A_REVERSE | A_BOLD },
	[TH_MARKER] =		{ COLOR_BLACK, COLOR_YELLOW, A_NORMAL,
				    A_REVERSE },
	[TH_MATCH] =		{ COLOR_BLACK, COLOR_YELLOW, A_NORMAL,
				    A_REVERSE },
	[TH_MATCH_CUR] =	{ COLOR_BLACK, COLOR_MAGENTA, A_BOLD,
				    A_REVERSE | A_BOLD },
	[TH_BOX] =		{ COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[TH_SELECT] =		{ COLOR_BLACK, COLOR_CYAN, A_NORMAL,
				    A_REVERSE },
	[TH_PROMPT] =		{ COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[TH_PLACEHOLDER] =	{ COLOR_MAGENTA, -1, A_BOLD, A_REVERSE },
};

static int	theme_on;	/* colour pairs are in use */

/* Set up the colour pairs if colour is wanted and the terminal has
 * them; call after initscr, on the UI thread. */
void
theme_init(int colour)
{
	short	i;

	theme_on = 0;
	if (!colour || !has_colors() || start_color() != OK)
		return;
	use_default_colors();
	for (i = 1; i < TH_COUNT; i++)
		init_pair(i, theme_defs[i].fg, theme_defs[i].bg);
	theme_on = 1;
}

/* Whether colours are in use. */
int
theme_colour(void)
{
	return theme_on;
}

/* The attributes of a slot, colour pair included. */
attr_t
theme_attr(int slot)
{
	if (slot <= 0 || slot >= TH_COUNT)
		return A_NORMAL;
	if (!theme_on)
		return theme_defs[slot].mono_attr;
	return theme_defs[slot].colour_attr | COLOR_PAIR(slot);
}

/* The colour pair of a slot (0 without colours). */
short
theme_pair(int slot)
{
	return theme_on && slot > 0 && slot < TH_COUNT ? (short)slot : 0;
}
