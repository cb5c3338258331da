/*
 * The theme in use: colour pairs 1..TH_COUNT-1 (and pair 0, the screen's
 * own colours, from the normal slot) set from a struct cfg_theme, with
 * the 256-colour values where the terminal has them and the 8-colour
 * fallbacks elsewhere; attributes only when colour is off.
 */
#include "config.h"

#include "theme.h"

#include <stdlib.h>
#include <string.h>

#include "fe/cfg.h"
#include "fe/xmalloc.h"

/* A slot is an enum theme_slot (fe/cfg.h), one list for the files and
 * the screen. */

static struct cfg_theme	 theme_cur;
static char		*theme_cur_name;	/* as /theme named it */
static unsigned		 theme_n;		/* themes applied */
static int		 theme_on;	/* colour pairs are in use */
static int		 theme_256;	/* and 256 of them */
static int		 theme_dflt;	/* -1 is the terminal's colour */

static attr_t
theme_curses_attr(unsigned a)
{
	attr_t	r = A_NORMAL;

	if (a & CFG_ATTR_BOLD)
		r |= A_BOLD;
	if (a & CFG_ATTR_DIM)
		r |= A_DIM;
	if (a & CFG_ATTR_UNDERLINE)
		r |= A_UNDERLINE;
	if (a & CFG_ATTR_REVERSE)
		r |= A_REVERSE;
#ifdef A_ITALIC
	if (a & CFG_ATTR_ITALIC)
		r |= A_ITALIC;
#endif
	return r;
}

/* A slot's colour for this terminal: default is the normal slot's, and
 * without default-colour support white on black. */
static short
theme_resolve(short c, short normal, short fallback)
{
	if (c < 0)
		c = normal;
	if (c < 0 && !theme_dflt)
		c = fallback;
	return c;
}

/* Set the colour pairs from theme_cur. */
static void
theme_pairs(void)
{
	const struct cfg_theme_slot	*s = &theme_cur.slot[TH_NORMAL];
	short				 nfg, nbg, fg, bg;
	int				 i;

	nfg = theme_256 ? s->fg : s->fg8;
	nbg = theme_256 ? s->bg : s->bg8;
	if (theme_dflt || nfg >= 0 || nbg >= 0)
		assume_default_colors(theme_resolve(nfg, -1, COLOR_WHITE),
		    theme_resolve(nbg, -1, COLOR_BLACK));
	for (i = 1; i < TH_COUNT; i++) {
		s = &theme_cur.slot[i];
		fg = theme_resolve(theme_256 ? s->fg : s->fg8, nfg,
		    COLOR_WHITE);
		bg = theme_resolve(theme_256 ? s->bg : s->bg8, nbg,
		    COLOR_BLACK);
		init_pair((short)i, fg, bg);
	}
}

/* Set up colours if colour is wanted and the terminal has them, with the
 * built-in theme; call after initscr, on the UI thread. */
void
theme_init(int colour)
{
	cfg_theme_free(&theme_cur);
	cfg_theme_init(&theme_cur);
	free(theme_cur_name);
	theme_cur_name = xstrdup("default");
	theme_n++;
	theme_on = theme_256 = theme_dflt = 0;
	if (!colour || !has_colors() || start_color() != OK ||
	    COLORS < 8 || COLOR_PAIRS < TH_COUNT)
		return;
	theme_dflt = use_default_colors() == OK;
	theme_256 = COLORS >= 256;
	theme_on = 1;
	theme_pairs();
}

/* Free the theme in use (the terminal's colours are left as they are). */
void
theme_fini(void)
{
	cfg_theme_free(&theme_cur);
	free(theme_cur_name);
	theme_cur_name = NULL;
}

/*
 * Switch to the theme called name (cfg_theme_load's lookup), redefining
 * the colour pairs; the caller redraws.  Returns 0, or -1 with *cause
 * set (caller frees) and the theme in use unchanged.  Warnings go to
 * warn(arg, msg).
 */
int
theme_use(const char *name, void (*warn)(void *, const char *), void *arg,
    char **cause)
{
	struct cfg_theme	t;

	memset(&t, 0, sizeof t);
	if (cfg_theme_load(&t, name, warn, arg, cause) != 0)
		return -1;
	cfg_theme_free(&theme_cur);
	theme_cur = t;
	free(theme_cur_name);
	theme_cur_name = xstrdup(name);
	theme_n++;
	if (theme_on)
		theme_pairs();
	return 0;
}

/* The name of the theme in use (borrowed). */
const char *
theme_name(void)
{
	return theme_cur_name != NULL ? theme_cur_name : "default";
}

/* A number that changes whenever another theme is applied. */
unsigned
theme_serial(void)
{
	return theme_n;
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
		return theme_curses_attr(theme_cur.slot[slot].mono);
	return theme_curses_attr(theme_cur.slot[slot].attrs) |
	    COLOR_PAIR(slot);
}

/* The colour pair of a slot (0 without colours). */
short
theme_pair(int slot)
{
	return theme_on && slot > 0 && slot < TH_COUNT ? (short)slot : 0;
}
