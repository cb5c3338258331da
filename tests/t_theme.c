/*
 * Tests of the theme files: every shipped theme loads without a warning
 * and is usable on 8 colours, a theme with every key reads back, each
 * error names file:line:col and the key, the hostile inputs of
 * RELIABILITY-NOTES Y1-Y5 are refused, and themes are found in order.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"
#include "cfg.h"

#define THEMES		SRCDIR "/themes"
#define DEF		CFG_COLOUR_DEFAULT

struct warns {
	int	n;
	char	first[512];
};

static void
on_warn(void *arg, const char *msg)
{
	struct warns	*w = arg;

	if (w->n++ == 0)
		snprintf(w->first, sizeof w->first, "%s", msg);
}

/* Load len bytes as "t.yaml" over the built-in theme; the cause or NULL. */
static char *
load(struct cfg_theme *t, const char *y, size_t len, struct warns *w)
{
	char	*cause = NULL;
	int	 rc;

	cfg_theme_init(t);
	if (w != NULL)
		memset(w, 0, sizeof *w);
	rc = cfg_theme_load_string(t, "t.yaml", y, len,
	    w != NULL ? on_warn : NULL, w, &cause);
	if (rc == 0 && cause != NULL)
		return strdup("rc 0 with a cause");
	if (rc != 0 && cause == NULL)
		return strdup("rc -1 without a cause");
	return cause;
}

#define LOAD(t, y, w)	load(t, y, sizeof(y) - 1, w)

/* The error for y is exactly want, and the theme is left as it was. */
static void
expect_error(const char *y, size_t len, const char *want)
{
	struct cfg_theme	 t, b;
	char			*got = load(&t, y, len, NULL);

	cfg_theme_init(&b);
	if (!ok(got != NULL && strcmp(got, want) == 0 &&
	    memcmp(t.slot, b.slot, sizeof t.slot) == 0 &&
	    strcmp(t.name, "default") == 0, "%s", want))
		diag("got: %s", got != NULL ? got : "(no error)");
	free(got);
	cfg_theme_free(&t);
	cfg_theme_free(&b);
}

#define ERR(y, want)	expect_error(y, sizeof(y) - 1, want)

static int
slot_eq(const struct cfg_theme_slot *s, int fg, int bg, int fg8, int bg8,
    unsigned attrs, unsigned mono)
{
	return s->fg == fg && s->bg == bg && s->fg8 == fg8 && s->bg8 == bg8 &&
	    s->attrs == attrs && s->mono == mono;
}

static void
test_shipped(void)
{
	static const char *const want[] = {
		"dark", "default", "light", "mono", "solarized-dark"
	};
	struct cfg_theme	 t, b;
	struct warns		 w;
	struct dirent		*de;
	DIR			*d;
	char			*path, *cause;
	size_t			 i, len, found = 0;
	int			 s, rc, usable;

	if ((d = opendir(THEMES)) == NULL) {
		ok(0, "%s can be read", THEMES);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		for (i = 0; i < sizeof want / sizeof *want; i++)
			if (strncmp(de->d_name, want[i], len - 5) == 0 &&
			    strlen(want[i]) == len - 5)
				found |= 1u << i;
		if (asprintf(&path, "%s/%s", THEMES, de->d_name) < 0)
			abort();
		memset(&w, 0, sizeof w);
		memset(&t, 0, sizeof t);
		cause = NULL;
		rc = cfg_theme_load_file(&t, path, on_warn, &w, &cause);
		if (!ok(rc == 0 && w.n == 0, "%s loads without a warning",
		    de->d_name))
			diag("%s", cause != NULL ? cause : w.first);
		ok(t.name != NULL && strlen(t.name) == len - 5 &&
		    strncmp(t.name, de->d_name, len - 5) == 0,
		    "  its name: is its file name");
		/* Usable: no slot's text in its own background colour. */
		for (usable = 1, s = 0; s < CFG_THEME_SLOTS; s++) {
			if ((t.slot[s].fg == t.slot[s].bg &&
			    t.slot[s].fg != DEF) ||
			    (t.slot[s].fg8 == t.slot[s].bg8 &&
			    t.slot[s].fg8 != DEF)) {
				usable = 0;
				diag("slot %s", cfg_theme_slot_name(s));
			}
			if (t.slot[s].fg8 > 7 || t.slot[s].bg8 > 7)
				usable = 0;
		}
		ok(usable, "  no slot is drawn in its own background, on 256 "
		    "or 8 colours");
		if (strcmp(de->d_name, "mono.yaml") == 0) {
			for (usable = 1, s = 0; s < CFG_THEME_SLOTS; s++)
				if (t.slot[s].fg != DEF ||
				    t.slot[s].bg != DEF ||
				    t.slot[s].fg8 != DEF ||
				    t.slot[s].bg8 != DEF)
					usable = 0;
			ok(usable, "  mono uses attributes only");
		}
		if (strcmp(de->d_name, "default.yaml") == 0) {
			cfg_theme_init(&b);
			ok(memcmp(t.slot, b.slot, sizeof t.slot) == 0,
			    "  default.yaml is the built-in theme");
			cfg_theme_free(&b);
		}
		free(cause);
		free(path);
		cfg_theme_free(&t);
	}
	closedir(d);
	ok(found == 31, "default, dark, light, solarized-dark and mono are "
	    "there");
}

static void
test_round_trip(void)
{
	static const char y[] =
	    "name: 试一试\n"
	    "normal: {fg: 250, bg: '#1c1c1c'}\n"
	    "user:\n"
	    "  fg: brightGreen\n"
	    "  bg: Default\n"
	    "  fg8: blue\n"
	    "  bg8: white\n"
	    "  bold: true\n"
	    "  dim: True\n"
	    "  underline: TRUE\n"
	    "  reverse: false\n"
	    "  italic: !!bool true\n"
	    "  mono: [underline, italic]\n"
	    "assistant: {fg: 0, bg: 255, mono: none}\n"
	    "note: {fg: '#d75f00', mono: reverse}\n"
	    "error: {fg: !!int \"196\", bg: 21}\n"
	    "dim: {fg: 244}\n"
	    "status: {fg: 12, bg: 4, fg8: default, mono: []}\n"
	    "box:\n"
	    "select: {}\n";
	struct cfg_theme	 t, b;
	struct warns		 w;
	char			*cause = LOAD(&t, y, &w);
	const unsigned		 all = CFG_ATTR_BOLD | CFG_ATTR_DIM |
				    CFG_ATTR_UNDERLINE | CFG_ATTR_ITALIC;

	ok(cause == NULL && w.n == 0, "every key in one theme");
	if (cause != NULL || w.n != 0)
		diag("%s", cause != NULL ? cause : w.first);
	free(cause);
	cfg_theme_init(&b);
	ok(t.name != NULL && strcmp(t.name, "试一试") == 0, "name: read back");
	ok(slot_eq(&t.slot[0], 250, 234, 7, 0, 0, 0),
	    "#1c1c1c is grey 234; 8-colour fallbacks are the nearest");
	ok(slot_eq(&t.slot[1], 10, DEF, 4, 7, all,
	    CFG_ATTR_UNDERLINE | CFG_ATTR_ITALIC),
	    "names in any case, bright forms, fg8/bg8, every attribute, "
	    "a mono list");
	ok(slot_eq(&t.slot[2], 0, 255, 0, 7, 0, 0), "numbers; mono: none");
	ok(slot_eq(&t.slot[3], 166, DEF, 1, DEF, 0, CFG_ATTR_REVERSE),
	    "#d75f00 is 166; a single mono attribute");
	ok(slot_eq(&t.slot[4], 196, 21, 1, 4, 0, CFG_ATTR_REVERSE),
	    "!!int colours; a background gives reverse without colours");
	ok(slot_eq(&t.slot[5], 244, DEF, 7, DEF, 0, 0),
	    "grey 244 falls back to white");
	ok(slot_eq(&t.slot[6], 12, 4, DEF, 4, 0, 0),
	    "bright 12 would be blue, but fg8: default wins; mono: []");
	ok(slot_eq(&t.slot[12], DEF, DEF, DEF, DEF, 0, 0) &&
	    slot_eq(&t.slot[13], DEF, DEF, DEF, DEF, 0, 0),
	    "an empty slot is plain");
	ok(memcmp(&t.slot[7], &b.slot[7], sizeof t.slot[7] * 5) == 0 &&
	    memcmp(&t.slot[14], &b.slot[14], sizeof t.slot[14] * 2) == 0,
	    "slots not given keep the built-in look");
	cfg_theme_free(&t);
	cfg_theme_free(&b);

	cause = LOAD(&t, "# ~/.config/yangtuo/themes/calm.yaml\n"
	    "name: calm\n"
	    "user:\n"
	    "  fg: 114          # light green on 256 colours\n"
	    "  fg8: green       # green on 8\n"
	    "  bold: true\n"
	    "assistant: {fg: 117, fg8: cyan, bold: true}\n"
	    "note: {fg: \"#d7af5f\", mono: dim}\n"
	    "status: {fg: 252, bg: 236, fg8: white, bg8: blue}\n"
	    "match: {fg: black, bg: 222, mono: [reverse, underline]}\n", &w);
	ok(cause == NULL && w.n == 0 && t.slot[3].fg == 179 &&
	    t.slot[3].fg8 == 3 && t.slot[10].mono == (CFG_ATTR_REVERSE |
	    CFG_ATTR_UNDERLINE), "the example of yangtuo.yaml(5) loads");
	free(cause);
	cfg_theme_free(&t);

	cause = LOAD(&t, "", &w);
	cfg_theme_init(&b);
	ok(cause == NULL && t.name == NULL &&
	    memcmp(t.slot, b.slot, sizeof t.slot) == 0,
	    "an empty file is the built-in theme");
	free(cause);
	cfg_theme_free(&t);
	cause = LOAD(&t, "\xEF\xBB\xBFuser: {fg: 1}\r\n# c\r\n", &w);
	ok(cause == NULL && t.slot[1].fg == 1, "UTF-8 BOM, CRLF, comments");
	free(cause);
	cfg_theme_free(&t);
	cfg_theme_free(&b);

	ok(strcmp(cfg_theme_slot_name(0), "normal") == 0 &&
	    strcmp(cfg_theme_slot_name(11), "match_current") == 0 &&
	    strcmp(cfg_theme_slot_name(15), "placeholder") == 0 &&
	    cfg_theme_slot_name(16) == NULL && cfg_theme_slot_name(-1) ==
	    NULL, "slot names");
}

static void
test_errors(void)
{
	ERR("user:\n  fg: 300\n", "t.yaml:2:7: key 'user.fg': 300 out of "
	    "range: a colour is 0 to 255, a name or default");
	ERR("user: {bg: -1}\n", "t.yaml:1:12: key 'user.bg': -1 out of "
	    "range: a colour is 0 to 255, a name or default");
	ERR("user: {fg: pink}\n", "t.yaml:1:12: key 'user.fg': unknown "
	    "colour 'pink' (expected 0 to 255, #rrggbb, a name such as red "
	    "or brightred, or default)");
	ERR("note: {fg: '#12345g'}\n", "t.yaml:1:12: key 'note.fg': unknown "
	    "colour '#12345g' (expected 0 to 255, #rrggbb, a name such as "
	    "red or brightred, or default)");
	ERR("box:\n  fg8: 3\n", "t.yaml:2:8: key 'box.fg8': unknown colour "
	    "'3' (expected black, red, green, yellow, blue, magenta, cyan, "
	    "white or default)");
	ERR("box: {bg8: brightred}\n", "t.yaml:1:12: key 'box.bg8': unknown "
	    "colour 'brightred' (expected black, red, green, yellow, blue, "
	    "magenta, cyan, white or default)");
	ERR("user: red\n", "t.yaml:1:7: key 'user': expected a mapping of fg, "
	    "bg, fg8, bg8, attributes and mono, not a single value");
	ERR("user: [red]\n", "t.yaml:1:7: key 'user': expected a mapping of "
	    "fg, bg, fg8, bg8, attributes and mono, not a sequence");
	ERR("user: {fg: [1]}\n", "t.yaml:1:12: key 'user.fg': expected a "
	    "colour, not a sequence");
	ERR("user: {fg: }\n", "t.yaml:1:12: key 'user.fg': expected a "
	    "colour, not an empty value");
	ERR("user: {bold: yes}\n", "t.yaml:1:14: key 'user.bold': expected "
	    "true or false, not 'yes'");
	ERR("user: {bold: \"true\"}\n", "t.yaml:1:14: key 'user.bold': "
	    "expected true or false, not 'true'");
	ERR("user: {italic: {a: 1}}\n", "t.yaml:1:16: key 'user.italic': "
	    "expected true or false, not a mapping");
	ERR("user: {mono: blink}\n", "t.yaml:1:14: key 'user.mono': unknown "
	    "attribute 'blink' (expected bold, dim, underline, reverse, "
	    "italic or none)");
	ERR("user: {mono: [bold, [dim]]}\n", "t.yaml:1:21: key 'user.mono': "
	    "expected an attribute name, not a sequence");
	ERR("name: [x]\n", "t.yaml:1:7: key 'name': expected a string, not a "
	    "sequence");
	ERR("name: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxx\n", "t.yaml:1:7: key 'name': longer than 64 bytes");
	ERR("user: {}\nuser: {}\n", "t.yaml:2:1: key 'user': given twice "
	    "(first at line 1)");
	ERR("user:\n  fg: red\n  fg: blue\n", "t.yaml:3:3: key 'user.fg': "
	    "given twice (first at line 2)");
	ERR("user: {[a]: 1}\n", "t.yaml:1:8: key 'user': expected a key, not "
	    "a sequence");
	ERR("- user\n", "t.yaml:1:1: expected a mapping of keys to values, "
	    "not a sequence");
	ERR("user: {fg: red}\n---\nuser: {}\n", "t.yaml:2:1: only one "
	    "document is allowed");
	ERR("user: {fg: red\n", "t.yaml:2:1: key 'user': did not find "
	    "expected ',' or '}' (while parsing a flow mapping at line 1, "
	    "column 7)");
}

static void
test_warnings(void)
{
	struct cfg_theme	 t;
	struct warns		 w;
	char			*cause;

	cause = LOAD(&t, "usr: {fg: red}\nuser: {fg: 1}\n", &w);
	ok(cause == NULL && w.n == 1 && strcmp(w.first, "t.yaml:1:1: "
	    "unknown key 'usr' (ignored)") == 0 && t.slot[1].fg == 1,
	    "an unknown slot is a warning: %s", w.first);
	free(cause);
	cfg_theme_free(&t);
	cause = LOAD(&t, "user:\n  fgg: red\n  bold: false\n", &w);
	ok(cause == NULL && w.n == 1 && strcmp(w.first, "t.yaml:2:3: "
	    "unknown key 'user.fgg' (ignored)") == 0 && t.slot[1].attrs == 0,
	    "an unknown key in a slot is a warning: %s", w.first);
	free(cause);
	cfg_theme_free(&t);
	ERR("usr: {a: *nope}\n", "t.yaml:1:10: key 'usr': undefined alias "
	    "'*nope'");
	ERR("user: {fgg: *nope}\n", "t.yaml:1:13: key 'user.fgg': undefined "
	    "alias '*nope'");
}

/* Y1, Y2: aliases. */
static void
test_aliases(void)
{
	struct cfg_theme	 t;
	struct warns		 w;
	char			 y[1024], *cause, *want;
	size_t			 n;
	int			 i, j;

	n = (size_t)snprintf(y, sizeof y, "a: &a [\"lol\",\"lol\",\"lol\","
	    "\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (i = 1; i < 9; i++) {
		n += (size_t)snprintf(y + n, sizeof y - n, "%c: &%c [",
		    'a' + i, 'a' + i);
		for (j = 0; j < 9; j++)
			n += (size_t)snprintf(y + n, sizeof y - n, "*%c%s",
			    'a' + i - 1, j < 8 ? "," : "]\n");
	}
	cause = load(&t, y, n, NULL);
	want = "t.yaml:2:8: key 'b': alias '*a' names a sequence or mapping; "
	    "only scalars may be aliased";
	ok(cause != NULL && strcmp(cause, want) == 0,
	    "Y1 9x9 billion laughs: %s", want);
	free(cause);
	cfg_theme_free(&t);

	ERR("user: &u {fg: red}\nassistant: *u\n", "t.yaml:2:12: key "
	    "'assistant': alias '*u' names a sequence or mapping; only "
	    "scalars may be aliased");
	ERR("user: &x {fg: *x}\n", "t.yaml:1:15: key 'user.fg': cyclic alias "
	    "'*x' (it refers to a node that contains it)");
	ERR("user: {mono: &m [bold, *m]}\n", "t.yaml:1:24: key 'user.mono': "
	    "cyclic alias '*m' (it refers to a node that contains it)");

	n = (size_t)snprintf(y, sizeof y, "user: {fg: &c red}\nx: [");
	for (i = 0; i < 16; i++)
		n += (size_t)snprintf(y + n, sizeof y - n, "*c, ");
	n += (size_t)snprintf(y + n, sizeof y - n, "]\nbox: {fg: *c}\n");
	cause = load(&t, y, n, NULL);
	want = "t.yaml:3:11: key 'box.fg': more than 16 aliases";
	ok(cause != NULL && strcmp(cause, want) == 0, "%s", want);
	free(cause);
	cfg_theme_free(&t);

	cause = LOAD(&t, "user: {fg: &c 33, mono: &a bold}\n"
	    "assistant: {fg: *c, mono: [*a]}\n", &w);
	ok(cause == NULL && t.slot[2].fg == 33 &&
	    t.slot[2].mono == CFG_ATTR_BOLD,
	    "aliases to scalars are expanded");
	free(cause);
	cfg_theme_free(&t);
}

/* Y3, Y4, Y5: nesting, size, bytes, special files. */
static void
test_hostile(void)
{
	struct cfg_theme	 t;
	char			*y, *cause, *want;
	char			 dir[] = "/tmp/yt-themeXXXXXX", path[256];
	size_t			 i;

	y = malloc(CFG_MAX_SIZE + 2);
	memset(y, '[', 100000);
	cause = load(&t, y, 100000, NULL);
	want = "t.yaml:1:1: expected a mapping of keys to values, not a "
	    "sequence";
	ok(cause != NULL && strcmp(cause, want) == 0, "Y3 '[' x 100000: %s",
	    want);
	free(cause);
	cfg_theme_free(&t);
	memcpy(y, "x: ", 3);
	cause = load(&t, y, 100000, NULL);
	want = "t.yaml:1:35: key 'x': nested deeper than 32 levels";
	ok(cause != NULL && strcmp(cause, want) == 0, "Y3 %s", want);
	free(cause);
	cfg_theme_free(&t);
	memcpy(y, "u: ", 3);
	for (i = 0; i < 4999; i++)
		memcpy(y + 3 + 4 * i, "{a: ", 4);
	cause = load(&t, y, 19999, NULL);
	want = "t.yaml:1:128: key 'u': nested deeper than 32 levels";
	ok(cause != NULL && strcmp(cause, want) == 0,
	    "Y3 flow mapping 5000 deep: %s", want);
	free(cause);
	cfg_theme_free(&t);

	memset(y, '#', CFG_MAX_SIZE + 1);
	cause = load(&t, y, CFG_MAX_SIZE + 1, NULL);
	want = "t.yaml: too large (1048577 bytes; the limit is 1048576)";
	ok(cause != NULL && strcmp(cause, want) == 0, "Y4 %s", want);
	free(cause);
	cfg_theme_free(&t);
	free(y);

	ERR("user: {fg: red}\n\0", "t.yaml:2:1: NUL byte in the file");
	ERR("\xFF\xFEu\0", "t.yaml:1:1: UTF-16 byte-order mark: the theme "
	    "must be UTF-8");
	ERR("user: {fg: \xC0\xAF}\n", "t.yaml:1:12: invalid UTF-8 (byte "
	    "0xC0): the theme must be UTF-8");
	ERR("user: {fg: \"a\\0b\"}\n", "t.yaml:1:12: key 'user.fg': NUL "
	    "character in a value");

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	memset(&t, 0, sizeof t);
	cause = NULL;
	ok(cfg_theme_load_file(&t, dir, NULL, NULL, &cause) != 0 &&
	    cause != NULL && strstr(cause, ": is a directory") != NULL,
	    "Y4 a directory is refused");
	free(cause);
	snprintf(path, sizeof path, "%s/fifo.yaml", dir);
	cause = NULL;
	ok(mkfifo(path, 0600) == 0 &&
	    cfg_theme_load_file(&t, path, NULL, NULL, &cause) != 0 &&
	    cause != NULL && strstr(cause, ": not a regular file") != NULL,
	    "Y4 a FIFO is refused without waiting for a writer");
	free(cause);
	unlink(path);
	rmdir(dir);
	cfg_theme_free(&t);
}

static void
put(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* The user's folder first, then the installed one, then the source's. */
static void
test_lookup(void)
{
	struct cfg_theme	 t;
	struct cfg_theme_entry	*v;
	struct warns		 w;
	char			 dir[] = "/tmp/yt-themesXXXXXX", p[512];
	char			*path, *cause = NULL, *want, *s;
	size_t			 n, i;
	int			 mine = 0, dark = 0, light = 0, sorted = 1;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(p, sizeof p, "%s/yangtuo", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/yangtuo/themes", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/yangtuo/themes/dark.yaml", dir);
	put(p, "user: {fg: 1}\n");
	snprintf(p, sizeof p, "%s/yangtuo/themes/mine.yaml", dir);
	put(p, "name: Mine\nuser: {fg: 2}\nusr: {}\n");
	snprintf(p, sizeof p, "%s/yangtuo/themes/broken.yaml", dir);
	put(p, "user:\n  fg: 300\n");
	snprintf(p, sizeof p, "%s/yangtuo/themes/.hidden.yaml", dir);
	put(p, "user: {}\n");

	path = cfg_theme_path("dark", &cause);
	snprintf(p, sizeof p, "%s/yangtuo/themes/dark.yaml", dir);
	ok(path != NULL && strcmp(path, p) == 0,
	    "a user theme comes before an installed one of the same name");
	free(path);
	path = cfg_theme_path("light", &cause);
	ok(path != NULL && strstr(path, "/themes/light.yaml") != NULL &&
	    strncmp(path, dir, strlen(dir)) != 0,
	    "the others are found where they are installed (%s)",
	    path != NULL ? path : "-");
	free(path);
	path = cfg_theme_path("../yangtuo/themes/dark", &cause);
	ok(path == NULL && cause != NULL && strcmp(cause, "'../yangtuo/"
	    "themes/dark' is not a theme name") == 0,
	    "a name with / is refused");
	free(cause);
	cause = NULL;
	path = cfg_theme_path(".hidden", &cause);
	ok(path == NULL && cause != NULL, "so is one with a leading dot");
	free(cause);
	cause = NULL;
	path = cfg_theme_path("nope", &cause);
	ok(path == NULL && cause != NULL &&
	    strcmp(cause, "no theme named 'nope'") == 0, "%s",
	    cause != NULL ? cause : "-");
	free(cause);
	cause = NULL;

	memset(&t, 0, sizeof t);
	memset(&w, 0, sizeof w);
	ok(cfg_theme_load(&t, "mine", on_warn, &w, &cause) == 0 &&
	    strcmp(t.name, "Mine") == 0 && t.slot[1].fg == 2 && w.n == 1 &&
	    strstr(w.first, "/yangtuo/themes/mine.yaml:3:1: unknown key "
	    "'usr' (ignored)") != NULL, "a user theme loads by name; its "
	    "warnings name the file");
	ok(cfg_theme_load(&t, "dark", NULL, NULL, &cause) == 0 &&
	    strcmp(t.name, "dark") == 0 && t.slot[1].fg == 1,
	    "without name: the theme is called as it was loaded");
	ok(cfg_theme_load(&t, "broken", NULL, NULL, &cause) != 0 &&
	    t.slot[1].fg == 1, "a broken theme leaves the old one whole");
	if (asprintf(&want, "%s/yangtuo/themes/broken.yaml:2:7: key "
	    "'user.fg': 300 out of range: a colour is 0 to 255, a name or "
	    "default", dir) < 0)
		abort();
	ok(cause != NULL && strcmp(cause, want) == 0, "and names its file: "
	    "%s", cause != NULL ? cause : "-");
	free(want);
	free(cause);
	cause = NULL;
	cfg_theme_free(&t);

	v = cfg_theme_list(&n);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1].name, v[i].name) >= 0)
			sorted = 0;
		if (strcmp(v[i].name, "mine") == 0)
			mine = v[i].user && !v[i].shadows;
		if (strcmp(v[i].name, "dark") == 0)
			dark = v[i].user && v[i].shadows;
		if (strcmp(v[i].name, "light") == 0)
			light = !v[i].user;
		if (v[i].name[0] == '.')
			sorted = 0;
	}
	ok(sorted && mine && dark && light && n >= 7,
	    "the list: sorted, yours marked, one over an installed one too, "
	    "hidden files left out (%zu themes)", n);
	cfg_theme_list_free(v, n);

	setenv("XDG_CONFIG_HOME", "/nonexistent-yt", 1);
	memset(&t, 0, sizeof t);
	ok(cfg_theme_load(&t, "default", NULL, NULL, &cause) == 0 &&
	    strcmp(t.name, "default") == 0, "default is always there");
	cfg_theme_free(&t);

	for (i = 0; i < 4; i++) {
		static const char *const f[] = { "dark", "mine", "broken",
			".hidden" };

		if (asprintf(&s, "%s/yangtuo/themes/%s.yaml", dir, f[i]) < 0)
			abort();
		unlink(s);
		free(s);
	}
	snprintf(p, sizeof p, "%s/yangtuo/themes", dir);
	rmdir(p);
	snprintf(p, sizeof p, "%s/yangtuo", dir);
	rmdir(p);
	rmdir(dir);
}

/* Every slot of enum theme_slot has its own name in theme files, and a
 * slot past the end has none: the enum is the one list. */
static void
test_slot_names(void)
{
	const char	*a, *b;
	int		 i, j, named = 1, unique = 1;

	for (i = 0; i < TH_COUNT; i++) {
		if ((a = cfg_theme_slot_name(i)) == NULL || *a == '\0') {
			named = 0;
			continue;
		}
		for (j = 0; j < i; j++)
			if ((b = cfg_theme_slot_name(j)) != NULL &&
			    strcmp(a, b) == 0)
				unique = 0;
	}
	ok(named, "every slot of enum theme_slot has a name");
	ok(unique, "no two slots share a name");
	ok(cfg_theme_slot_name(TH_COUNT) == NULL &&
	    cfg_theme_slot_name(-1) == NULL, "no name beyond the slots");
	ok(strcmp(cfg_theme_slot_name(TH_MATCH_CUR), "match_current") == 0 &&
	    strcmp(cfg_theme_slot_name(TH_PLACEHOLDER), "placeholder") == 0,
	    "names follow the enum, not an order kept by hand");
}

int
main(void)
{
	test_slot_names();
	test_shipped();
	test_round_trip();
	test_errors();
	test_warnings();
	test_aliases();
	test_hostile();
	test_lookup();
	return tap_done();
}
