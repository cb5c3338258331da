/*
 * Colour themes: NAME.yaml files with a mapping per role ("slot") of
 * colours for 256-colour terminals, fallbacks for 8/16-colour ones and
 * attributes, read through cfg_parse.c's hardened event loop.  Looked up
 * in the user's folder, then the installed one, then the source tree.
 */
#include "config.h"

#include "cfg.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_impl.h"
#include "datadir.h"
#include "xdg.h"
#include "xmalloc.h"
#include "i18n.h"

#define THEME_MAX_LISTED	500	/* names in cfg_theme_list() */
#define THEME_DEF		CFG_COLOUR_DEFAULT

/* Slot names, as theme files write them. */
static const char *const theme_slots[CFG_THEME_SLOTS] = {
	[TH_NORMAL] = "normal",
	[TH_USER] = "user",
	[TH_ASSISTANT] = "assistant",
	[TH_NOTE] = "note",
	[TH_ERROR] = "error",
	[TH_DIM] = "dim",
	[TH_STATUS] = "status",
	[TH_STATUS_KEY] = "status_key",
	[TH_METER] = "meter",
	[TH_MARKER] = "marker",
	[TH_MATCH] = "match",
	[TH_MATCH_CUR] = "match_current",
	[TH_BOX] = "box",
	[TH_SELECT] = "select",
	[TH_PROMPT] = "prompt",
	[TH_PLACEHOLDER] = "placeholder"
};

#define D	CFG_COLOUR_DEFAULT
#define B	CFG_ATTR_BOLD
#define M	CFG_ATTR_DIM
#define R	CFG_ATTR_REVERSE

/* The built-in theme (themes/default.yaml says the same): ANSI colours on
 * the terminal's own background; without colours, reverse video marks
 * the bars and matches. */
static const struct cfg_theme_slot theme_builtin[CFG_THEME_SLOTS] = {
	/* fg, bg, fg8, bg8, attrs, mono */
	[TH_NORMAL] = { D, D, D, D, 0, 0 },
	[TH_USER] = { 2, D, 2, D, B, B },
	[TH_ASSISTANT] = { 6, D, 6, D, B, B },
	[TH_NOTE] = { 3, D, 3, D, 0, M },
	[TH_ERROR] = { 1, D, 1, D, B, B },
	[TH_DIM] = { D, D, D, D, M, M },
	[TH_STATUS] = { 7, 4, 7, 4, 0, R },
	[TH_STATUS_KEY] = { 3, 4, 3, 4, B, R | B },
	[TH_METER] = { 2, 4, 2, 4, B, R | B },
	[TH_MARKER] = { 0, 3, 0, 3, 0, R },
	[TH_MATCH] = { 0, 3, 0, 3, 0, R },
	[TH_MATCH_CUR] = { 0, 5, 0, 5, B, R | B },
	[TH_BOX] = { 6, D, 6, D, 0, 0 },
	[TH_SELECT] = { 0, 6, 0, 6, 0, R },
	[TH_PROMPT] = { 2, D, 2, D, B, B },
	[TH_PLACEHOLDER] = { 5, D, 5, D, B, R },
};

#undef D
#undef B
#undef M
#undef R

static const char *const theme_basic[8] = {
	"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"
};

static const char *const theme_attr_names[] = {
	"bold", "dim", "underline", "reverse", "italic"
};
#define THEME_N_ATTRS	(sizeof theme_attr_names / sizeof *theme_attr_names)

/* The keys of a slot's mapping; their bits say which were given. */
enum theme_key {
	TK_FG,
	TK_BG,
	TK_FG8,
	TK_BG8,
	TK_BOLD,	/* ... TK_BOLD + THEME_N_ATTRS - 1: the attributes */
	TK_MONO = TK_BOLD + 5,
	TK_COUNT
};

static const char *const theme_keys[TK_COUNT] = {
	"fg", "bg", "fg8", "bg8", "bold", "dim", "underline", "reverse",
	"italic", "mono"
};

/* One load of a theme file. */
struct theme_load {
	struct cfg_parse	 p;
	struct cfg_theme	*t;		/* the copy being filled */
	unsigned		 seen;		/* slots given; bit 31: name */
	yaml_mark_t		 seen_at[32];
	char			 key[64];	/* "slot.key" for messages */
};

#define THEME_SEEN_NAME	(1u << 31)

/* The slot called name, or -1. */
static int
theme_slot_index(const char *name, size_t len)
{
	int	i;

	for (i = 0; i < CFG_THEME_SLOTS; i++)
		if (strlen(theme_slots[i]) == len &&
		    memcmp(theme_slots[i], name, len) == 0)
			return i;
	return -1;
}

/* The name of slot (a static string), or NULL if out of range. */
const char *
cfg_theme_slot_name(int slot)
{
	if (slot < 0 || slot >= CFG_THEME_SLOTS)
		return NULL;
	return theme_slots[slot];
}

/* xterm's 256 colours as RGB: 16 system colours, a 6x6x6 cube, 24
 * greys. */
static void
theme_rgb(int c, int rgb[3])
{
	static const int	sys[16][3] = {
		{ 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 },
		{ 0, 0, 238 }, { 205, 0, 205 }, { 0, 205, 205 },
		{ 229, 229, 229 }, { 127, 127, 127 }, { 255, 0, 0 },
		{ 0, 255, 0 }, { 255, 255, 0 }, { 92, 92, 255 },
		{ 255, 0, 255 }, { 0, 255, 255 }, { 255, 255, 255 }
	};
	static const int	level[6] = { 0, 95, 135, 175, 215, 255 };
	int			i;

	if (c < 16) {
		for (i = 0; i < 3; i++)
			rgb[i] = sys[c][i];
	} else if (c < 232) {
		c -= 16;
		rgb[0] = level[c / 36];
		rgb[1] = level[c / 6 % 6];
		rgb[2] = level[c % 6];
	} else
		rgb[0] = rgb[1] = rgb[2] = 8 + 10 * (c - 232);
}

static long
theme_dist(const int a[3], const int b[3])
{
	long	d = 0;
	int	i;

	for (i = 0; i < 3; i++)
		d += (long)(a[i] - b[i]) * (a[i] - b[i]);
	return d;
}

/* The colour of [lo, hi) nearest to rgb. */
static int
theme_nearest(const int rgb[3], int lo, int hi)
{
	int	c, best = lo, x[3];
	long	d, best_d = -1;

	for (c = lo; c < hi; c++) {
		theme_rgb(c, x);
		d = theme_dist(rgb, x);
		if (best_d < 0 || d < best_d) {
			best = c;
			best_d = d;
		}
	}
	return best;
}

/*
 * The basic colour (0-7) for a 256-colour one; default stays.  Greys
 * become black or white by lightness; other colours keep the channels
 * within a quarter of the strongest (ANSI numbers them r + 2g + 4b), so
 * a dark blue stays blue where the nearest basic colour could be black.
 */
static short
theme_colour8(short c)
{
	int	rgb[3], max, min, i, r = 0;

	if (c < 8)
		return c;
	if (c < 16)
		return (short)(c - 8);
	theme_rgb(c, rgb);
	max = min = rgb[0];
	for (i = 1; i < 3; i++) {
		max = rgb[i] > max ? rgb[i] : max;
		min = rgb[i] < min ? rgb[i] : min;
	}
	if (max - min < 48)
		return (max + min) / 2 >= 80 ? 7 : 0;
	for (i = 0; i < 3; i++)
		if (rgb[i] * 4 >= max * 3)
			r |= 1 << i;
	return (short)r;
}

static int
theme_hex(const char *s, int rgb[3])
{
	int	i, k, d;

	if (s[0] != '#' || strlen(s) != 7)
		return -1;
	for (i = 0; i < 3; i++) {
		rgb[i] = 0;
		for (k = 1; k <= 2; k++) {
			d = s[2 * i + k];
			if (d >= '0' && d <= '9')
				d -= '0';
			else if (d >= 'a' && d <= 'f')
				d -= 'a' - 10;
			else if (d >= 'A' && d <= 'F')
				d -= 'A' - 10;
			else
				return -1;
			rgb[i] = rgb[i] * 16 + d;
		}
	}
	return 0;
}

/* Whether the scalar looks like a (signed) decimal number. */
static int
theme_is_number(const struct cfg_parse *p)
{
	const char	*s = p->val;

	if (!p->plain && !cfg_tag_is(p, CFG_TAG_INT))
		return 0;
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '\0')
		return 0;
	return strspn(s, "0123456789") == strlen(s);
}

/*
 * A colour: 0-255, #rrggbb (the nearest of xterm's 256), a name (bright
 * forms such as brightred are 8-15) or default.  With basic set, only
 * the eight names and default (for fg8 and bg8).
 */
static int
theme_get_colour(struct cfg_parse *p, int basic, short *out)
{
	long long	 v;
	char		 low[16], *q;
	size_t		 i;
	int		 rgb[3];

	if (p->type != YAML_SCALAR_EVENT || cfg_is_null(p))
		return cfg_error(p, &p->mark, _("expected a colour, not %s"),
		    cfg_kind(p));
	if (!basic && theme_is_number(p)) {
		if (cfg_get_int(p, 0, 255, _("a colour is 0 to 255, a name "
		    "or default"), &v) != 0)
			return -1;
		*out = (short)v;
		return 0;
	}
	if (p->vlen < sizeof low) {
		for (i = 0; i <= p->vlen; i++)
			low[i] = p->val[i] >= 'A' && p->val[i] <= 'Z' ?
			    (char)(p->val[i] - 'A' + 'a') : p->val[i];
		if (strcmp(low, "default") == 0) {
			*out = THEME_DEF;
			return 0;
		}
		for (i = 0; i < 8; i++) {
			if (strcmp(low, theme_basic[i]) == 0) {
				*out = (short)i;
				return 0;
			}
			if (!basic && strncmp(low, "bright", 6) == 0 &&
			    strcmp(low + 6, theme_basic[i]) == 0) {
				*out = (short)(i + 8);
				return 0;
			}
		}
		if (!basic && theme_hex(low, rgb) == 0) {
			*out = (short)theme_nearest(rgb, 16, 256);
			return 0;
		}
	}
	q = cfg_quote(p->val, p->vlen);
	if (basic)
		cfg_error(p, &p->mark, _("unknown colour '%s' (expected black, "
		    "red, green, yellow, blue, magenta, cyan, white or "
		    "default)"), q);
	else
		cfg_error(p, &p->mark, _("unknown colour '%s' (expected 0 to "
		    "255, #rrggbb, a name such as red or brightred, or "
		    "default)"), q);
	free(q);
	return -1;
}

/* One attribute name of a mono list, or "none". */
static int
theme_attr_name(struct cfg_parse *p, void *arg)
{
	unsigned	*out = arg;
	size_t		 i;
	char		*q;

	if (p->type != YAML_SCALAR_EVENT)
		return cfg_error(p, &p->mark, _("expected an attribute name, "
		    "not %s"), cfg_kind(p));
	if (strcmp(p->val, "none") == 0)
		return 0;
	for (i = 0; i < THEME_N_ATTRS; i++) {
		if (strcmp(p->val, theme_attr_names[i]) == 0) {
			*out |= 1u << i;
			return 0;
		}
	}
	q = cfg_quote(p->val, p->vlen);
	cfg_error(p, &p->mark, _("unknown attribute '%s' (expected bold, dim, "
	    "underline, reverse, italic or none)"), q);
	free(q);
	return -1;
}

/* mono: the attributes without colours, one name or a sequence. */
static int
theme_mono(struct cfg_parse *p, unsigned *out)
{
	*out = 0;
	return cfg_each(p, theme_attr_name, out);
}

/* The value of key k of slot s; the value is the current event. */
static int
theme_slot_value(struct cfg_parse *p, struct cfg_theme_slot *s, int k)
{
	int	on = 0;

	switch (k) {
	case TK_FG:
		return theme_get_colour(p, 0, &s->fg);
	case TK_BG:
		return theme_get_colour(p, 0, &s->bg);
	case TK_FG8:
		return theme_get_colour(p, 1, &s->fg8);
	case TK_BG8:
		return theme_get_colour(p, 1, &s->bg8);
	case TK_MONO:
		return theme_mono(p, &s->mono);
	}
	if (cfg_get_bool(p, &on) != 0)
		return -1;
	if (on)
		s->attrs |= 1u << (k - TK_BOLD);
	else
		s->attrs &= ~(1u << (k - TK_BOLD));
	return 0;
}

/* Fill what the slot left out: the 8-colour fallbacks from the 256-colour
 * values, and the attributes without colours (reverse where a background
 * marked the slot, but not the screen's own). */
static void
theme_slot_finish(struct cfg_theme_slot *s, int idx, unsigned given)
{
	if (!(given & (1u << TK_FG8)))
		s->fg8 = theme_colour8(s->fg);
	if (!(given & (1u << TK_BG8)))
		s->bg8 = theme_colour8(s->bg);
	if (!(given & (1u << TK_MONO)))
		s->mono = s->attrs | (idx != 0 && (s->bg != THEME_DEF ||
		    s->bg8 != THEME_DEF) ? CFG_ATTR_REVERSE : 0);
}

/*
 * A slot's mapping, which describes it whole: what it leaves out is the
 * terminal's colour and no attribute.  An empty value is such a plain
 * slot.
 */
static int
theme_slot(struct theme_load *l, int idx)
{
	struct cfg_parse	*p = &l->p;
	struct cfg_theme_slot	 s = { THEME_DEF, THEME_DEF, THEME_DEF,
				    THEME_DEF, 0, 0 };
	yaml_mark_t		 at[TK_COUNT], m;
	unsigned		 given = 0;
	const char		*slot = theme_slots[idx];
	char			*u;
	int			 k, rc;

	if (cfg_is_null(p))
		goto done;
	if (p->type != YAML_MAPPING_START_EVENT)
		return cfg_error(p, &p->mark, _("expected a mapping of fg, bg, "
		    "fg8, bg8, attributes and mono, not %s"), cfg_kind(p));
	for (;;) {
		if (cfg_next(p) != 0)
			return -1;
		if (p->type == YAML_MAPPING_END_EVENT)
			break;
		m = p->mark;
		if (p->type != YAML_SCALAR_EVENT)
			return cfg_error(p, &m, _("expected a key, not %s"),
			    cfg_kind(p));
		for (k = 0; k < TK_COUNT; k++)
			if (strcmp(p->val, theme_keys[k]) == 0)
				break;
		if (k == TK_COUNT) {
			xasprintf(&u, "%s.%s", slot, p->val);
			rc = cfg_skip_unknown(p, u);
			free(u);
			if (rc != 0)
				return -1;
			continue;
		}
		snprintf(l->key, sizeof l->key, "%s.%s", slot, theme_keys[k]);
		p->key = l->key;
		if (given & (1u << k))
			return cfg_error(p, &m, _("given twice (first at line "
			    "%zu)"), (size_t)at[k].line + 1);
		given |= 1u << k;
		at[k] = m;
		if (cfg_next(p) != 0 || theme_slot_value(p, &s, k) != 0)
			return -1;
		p->key = slot;
	}
done:
	theme_slot_finish(&s, idx, given);
	l->t->slot[idx] = s;
	return 0;
}

/* One top-level key: name, or a slot. */
static int
theme_top_key(struct cfg_parse *p, void *arg)
{
	struct theme_load	*l = arg;
	yaml_mark_t		 m = p->mark;
	unsigned		 bit;
	char			*u, *s;
	int			 idx, rc;

	if (strcmp(p->val, "name") == 0) {
		idx = -1;
		bit = THEME_SEEN_NAME;
		p->key = "name";
	} else if ((idx = theme_slot_index(p->val, p->vlen)) >= 0) {
		bit = 1u << idx;
		p->key = theme_slots[idx];
	} else {
		u = xstrndup(p->val, p->vlen);
		rc = cfg_skip_unknown(p, u);
		free(u);
		return rc;
	}
	if (l->seen & bit)
		return cfg_error(p, &m, _("given twice (first at line %zu)"),
		    (size_t)l->seen_at[idx < 0 ? 31 : idx].line + 1);
	l->seen |= bit;
	l->seen_at[idx < 0 ? 31 : idx] = m;
	if (cfg_next(p) != 0)
		return -1;
	if (idx >= 0)
		rc = theme_slot(l, idx);
	else if ((rc = cfg_get_str(p, 0, &s)) == 0) {
		if (strlen(s) > CFG_THEME_NAME_MAX) {
			free(s);
			return cfg_error(p, &p->mark, _("longer than %d bytes"),
			    CFG_THEME_NAME_MAX);
		}
		free(l->t->name);
		l->t->name = s;
	}
	p->key = NULL;
	return rc;
}

/* Fill t with the built-in theme (name "default"); free with
 * cfg_theme_free. */
void
cfg_theme_init(struct cfg_theme *t)
{
	memset(t, 0, sizeof *t);
	t->name = xstrdup("default");
	memcpy(t->slot, theme_builtin, sizeof t->slot);
}

/* Free what t owns; NULL is a no-op. */
void
cfg_theme_free(struct cfg_theme *t)
{
	if (t == NULL)
		return;
	free(t->name);
	t->name = NULL;
}

/*
 * Parse len bytes of a theme file called name (for messages) into t:
 * slots not given keep the built-in look, t->name is the file's name:
 * or NULL.  Returns 0, or -1 with *cause set (caller frees) and t
 * untouched.  Warnings (unknown keys) go to warn(arg, msg) if not NULL.
 */
int
cfg_theme_load_string(struct cfg_theme *t, const char *name,
    const char *buf, size_t len, cfg_warn_fn warn, void *arg, char **cause)
{
	struct theme_load	l;
	struct cfg_theme	tmp;
	int			rc;

	memset(&l, 0, sizeof l);
	cfg_parse_init(&l.p, name, N_("theme"), buf, len, warn, arg);
	cfg_theme_init(&tmp);
	free(tmp.name);
	tmp.name = NULL;
	l.t = &tmp;
	rc = cfg_parse_map(&l.p, theme_top_key, &l);
	cfg_parse_fini(&l.p);
	if (rc == 0) {
		cfg_theme_free(t);
		*t = tmp;
		return 0;
	}
	cfg_theme_free(&tmp);
	if (cause != NULL)
		*cause = l.p.cause;
	else
		free(l.p.cause);
	return -1;
}

/* Load the theme file at path into t, as cfg_theme_load_string; errors
 * name the path.  0, or -1 with *cause set (caller frees). */
int
cfg_theme_load_file(struct cfg_theme *t, const char *path, cfg_warn_fn warn,
    void *arg, char **cause)
{
	char	*buf, *why = NULL;
	size_t	 len = 0;
	int	 rc;

	if ((buf = cfg_read(path, &len, &why)) == NULL) {
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		return -1;
	}
	rc = cfg_theme_load_string(t, path, buf, len, warn, arg, cause);
	free(buf);
	return rc;
}

/* A name that can only name a file in a themes folder: no '/', no
 * leading '.', no control characters, at most CFG_THEME_NAME_MAX bytes. */
static int
theme_name_ok(const char *name, size_t len)
{
	size_t	i;

	if (len == 0 || len > CFG_THEME_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 ||
		    name[i] == 0x7f)
			return 0;
	return 1;
}

/* The themes folders, in lookup order; *n of them (caller frees each and
 * the array).  The first is the user's when there is one. */
static char **
theme_dirs(size_t *n, int *have_user)
{
	char	**data = datadir_list(), **v;
	size_t	  i;

	for (i = 0; data[i] != NULL; i++)
		;
	v = xreallocarray(NULL, i + 1, sizeof *v);
	*n = 0;
	if ((v[*n] = xdg_dir(XDG_CONFIG, "themes", 0)) != NULL)
		(*n)++;
	*have_user = *n;
	for (i = 0; data[i] != NULL; i++)
		xasprintf(&v[(*n)++], "%s/themes", data[i]);
	datadir_free(data);
	return v;
}

static void
theme_dirs_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/*
 * The file of theme name: $XDG_CONFIG_HOME/yangtuo/themes/NAME.yaml, else
 * the first data folder's themes/NAME.yaml (datadir.c).  Returns the
 * path (caller frees), or NULL with *cause set (caller frees).
 */
char *
cfg_theme_path(const char *name, char **cause)
{
	struct stat	  st;
	char		**dirs, *path, *q;
	size_t		  n, i;
	int		  user;

	if (!theme_name_ok(name, strlen(name))) {
		q = cfg_quote(name, strlen(name));
		xasprintf(cause, _("'%s' is not a theme name"), q);
		free(q);
		return NULL;
	}
	dirs = theme_dirs(&n, &user);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s.yaml", dirs[i], name);
		if (stat(path, &st) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR)) {
			theme_dirs_free(dirs, n);
			return path;	/* the load says what is wrong */
		}
		free(path);
	}
	theme_dirs_free(dirs, n);
	q = cfg_quote(name, strlen(name));
	xasprintf(cause, _("no theme named '%s'"), q);
	free(q);
	return NULL;
}

/*
 * Load the theme called name (see cfg_theme_path) into t; "default"
 * without a file is the built-in theme.  t->name is the name: key or
 * else name.  Returns 0, or -1 with *cause set (caller frees) and t
 * untouched.
 */
int
cfg_theme_load(struct cfg_theme *t, const char *name, cfg_warn_fn warn,
    void *arg, char **cause)
{
	struct cfg_theme	 tmp;
	char			*path, *why = NULL;
	int			 rc;

	if ((path = cfg_theme_path(name, &why)) == NULL) {
		if (strcmp(name, "default") == 0) {
			free(why);
			cfg_theme_free(t);
			cfg_theme_init(t);
			return 0;
		}
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		return -1;
	}
	memset(&tmp, 0, sizeof tmp);
	rc = cfg_theme_load_file(&tmp, path, warn, arg, cause);
	free(path);
	if (rc != 0)
		return -1;
	if (tmp.name == NULL)
		tmp.name = xstrdup(name);
	cfg_theme_free(t);
	*t = tmp;
	return 0;
}

static int
theme_entry_cmp(const void *a, const void *b)
{
	const struct cfg_theme_entry	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Add the themes of one folder to v; the names already there win. */
static void
theme_list_dir(const char *dir, int user, struct cfg_theme_entry **v,
    size_t *n, size_t *cap)
{
	struct dirent	*de;
	struct stat	 st;
	size_t		 len, i;
	char		*path;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && *n < THEME_MAX_LISTED) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".yaml") != 0 ||
		    !theme_name_ok(de->d_name, len - 5))
			continue;
		for (i = 0; i < *n; i++)
			if (strlen((*v)[i].name) == len - 5 &&
			    strncmp((*v)[i].name, de->d_name, len - 5) == 0)
				break;
		if (i < *n) {
			if ((*v)[i].user && !user)
				(*v)[i].shadows = 1;
			continue;
		}
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (*n == *cap) {
				*cap = *cap == 0 ? 16 : *cap * 2;
				*v = xreallocarray(*v, *cap, sizeof **v);
			}
			(*v)[*n].name = xstrndup(de->d_name, len - 5);
			(*v)[*n].user = user;
			(*v)[*n].shadows = 0;
			(*n)++;
		}
		free(path);
	}
	closedir(d);
}

/* The themes there are (the user's and the installed ones, "default"
 * always), sorted by name; *n of them.  Free with cfg_theme_list_free. */
struct cfg_theme_entry *
cfg_theme_list(size_t *n)
{
	struct cfg_theme_entry	 *v = NULL;
	char			**dirs;
	size_t			  nd, i, cap = 0;
	int			  user;

	*n = 0;
	dirs = theme_dirs(&nd, &user);
	for (i = 0; i < nd; i++)
		theme_list_dir(dirs[i], user && i == 0, &v, n, &cap);
	theme_dirs_free(dirs, nd);
	for (i = 0; i < *n; i++)
		if (strcmp(v[i].name, "default") == 0)
			break;
	if (i == *n) {
		v = xreallocarray(v, *n + 1, sizeof *v);
		v[*n].name = xstrdup("default");
		v[*n].user = v[*n].shadows = 0;
		(*n)++;
	}
	qsort(v, *n, sizeof *v, theme_entry_cmp);
	return v;
}

/* Free a list from cfg_theme_list; NULL is a no-op. */
void
cfg_theme_list_free(struct cfg_theme_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n && v != NULL; i++)
		free(v[i].name);
	free(v);
}
