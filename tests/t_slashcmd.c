/*
 * The one table of slash commands (fe/slashcmd.c): names, aliases and
 * ids, splitting a command line, the help rows of both chats, and the
 * /set, /stats and stop texts the two chats share (C locale).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe/cfg.h"
#include "fe/client.h"
#include "fe/conv.h"
#include "fe/session.h"
#include "fe/slashcmd.h"
#include "fe/xmalloc.h"
#include "tests/tap.h"

static void
test_table(void)
{
	const struct slashcmd	*c, *d;
	int			 i, ids = 1, unique = 1;

	for (i = 0; i < SLASH_COUNT; i++)
		if (slashcmd_table[i].name == NULL ||
		    slashcmd_table[i].id != (enum slashcmd_id)i)
			ids = 0;
	ok(ids && slashcmd_table[SLASH_COUNT].name == NULL,
	    "the table lists every id once, in order, then ends");
	for (c = slashcmd_table; c->name != NULL; c++)
		for (d = c + 1; d->name != NULL; d++)
			if (strcmp(c->name, d->name) == 0 ||
			    strcmp(c->alias, d->alias) == 0)
				unique = 0;
	ok(unique, "no two commands share a name or an alias");
	ok((c = slashcmd_find("help")) != NULL && c->id == SLASH_HELP &&
	    slashcmd_find("帮助") == c && slashcmd_find("?") == c,
	    "/help, /帮助 and /? are one command");
	ok((c = slashcmd_find("exit")) != NULL && c->id == SLASH_QUIT &&
	    slashcmd_find("退出") == c, "/exit and /退出 are /quit");
	ok(slashcmd_find("nope") == NULL && slashcmd_find("") == NULL,
	    "an unknown word is no command");
	ok(slashcmd_find("load")->when == SLASH_IDLE_ARG &&
	    slashcmd_find("clear")->when == SLASH_IDLE &&
	    slashcmd_find("stats")->when == SLASH_ANYTIME,
	    "when each may run during a reply");
}

static void
test_parse(void)
{
	const struct slashcmd	*c = NULL;
	char			 l1[] = "/set temperature 0.5  \t";
	char			 l2[] = "/bogus x", l3[] = "//hi", l4[] = "/";
	char			 l5[] = "hello", l6[] = "/载入 我的";
	char			*arg = NULL;

	ok(slashcmd_parse(l1, &c, &arg) == 1 && c != NULL &&
	    c->id == SLASH_SET && strcmp(arg, "temperature 0.5") == 0,
	    "a command and its argument, trailing blanks trimmed");
	ok(slashcmd_parse(l2, &c, &arg) == 1 && c == NULL &&
	    strcmp(l2 + 1, "bogus") == 0, "an unknown command: NULL, named");
	ok(slashcmd_parse(l3, &c, &arg) == 0 && slashcmd_parse(l4, &c,
	    &arg) == 0 && slashcmd_parse(l5, &c, &arg) == 0,
	    "//, a lone / and text are no commands");
	ok(slashcmd_parse(l6, &c, &arg) == 1 && c != NULL &&
	    c->id == SLASH_LOAD && strcmp(arg, "我的") == 0,
	    "a Chinese name with a Chinese argument");
}

/* "/save! NAME" and "/export! FILE" force; '!' elsewhere is no name. */
static void
test_bang(void)
{
	const struct slashcmd	*c = NULL;
	char			 l1[] = "/save! my story", l2[] = "/导出! a.md";
	char			 l3[] = "/clear!", l4[] = "/save my";
	char			*arg = NULL;

	ok(slashcmd_parse(l1, &c, &arg) == 2 && c != NULL &&
	    c->id == SLASH_SAVE && strcmp(arg, "my story") == 0,
	    "/save! NAME: forced, the name whole");
	ok(slashcmd_parse(l2, &c, &arg) == 2 && c != NULL &&
	    c->id == SLASH_EXPORT && strcmp(arg, "a.md") == 0,
	    "the Chinese name takes '!' too");
	ok(slashcmd_parse(l3, &c, &arg) == 1 && c == NULL &&
	    strcmp(l3 + 1, "clear!") == 0, "'!' on another command: unknown");
	ok(slashcmd_parse(l4, &c, &arg) == 1 && c != NULL,
	    "without '!': 1");
}

/* /save and /export never replace a file unless told to. */
static void
test_no_overwrite(void)
{
	struct conv	 cv;
	char		 dir[] = "/tmp/t_slashcmd.XXXXXX", *reply = NULL;
	char		*why = NULL, *cause = NULL, *path, *old;
	FILE		*f;
	char		 buf[64];
	size_t		 n;

	if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
		ok(0, "a scratch folder");
		return;
	}
	setenv("XDG_DATA_HOME", dir, 1);
	conv_init(&cv);
	conv_add(&cv, CONV_USER, "hello", 5);
	ok(session_save(&cv, "story", NULL, &cause) == 0, "a saved session");
	conv_clear(&cv);
	ok(slashcmd_save_ok("story", NULL, 0, &why) == -1 && why != NULL &&
	    strstr(why, "/save! story") != NULL,
	    "another conversation's name: refused, saying how to force");
	free(why);
	why = NULL;
	ok(slashcmd_save_ok("story", "story", 0, &why) == 0 &&
	    slashcmd_save_ok("story", NULL, 1, &why) == 0 &&
	    slashcmd_save_ok("fresh", NULL, 0, &why) == 0,
	    "its own name, forced, or a new name: allowed");
	tap_spit("notes.md", "mine", 4);
	ok(slashcmd_export(&cv, "notes.md", NULL, 0, &reply) == -1 &&
	    strstr(reply, "/export! notes.md") != NULL,
	    "/export FILE over an existing file: refused");
	free(reply);
	f = fopen("notes.md", "r");
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	ok(strcmp(buf, "mine") == 0, "and the file is untouched");
	ok(slashcmd_export(&cv, "notes.md", NULL, 1, &reply) == 0,
	    "/export! FILE replaces it");
	free(reply);
	ok(slashcmd_export(&cv, NULL, NULL, 0, &reply) == 0 &&
	    (old = strstr(reply, "yangtuo-")) != NULL, "/export: a new name");
	old = xstrdup(old);
	free(reply);
	ok(slashcmd_export(&cv, NULL, NULL, 0, &reply) == 0 &&
	    (path = strstr(reply, "yangtuo-")) != NULL && strcmp(path, old) != 0
	    && access(path, F_OK) == 0 && access(old, F_OK) == 0,
	    "two exports at once: two files");
	free(reply);
	free(old);
	conv_free(&cv);
	tap_rmtree(dir);
}

/* /system NAME|TEXT and /set system TEXT. */
static void
test_system(void)
{
	struct cfg_prompt	 pr[1] = { { (char *)"pirate",
				    (char *)"Talk like a pirate." } };
	struct cfg		 cfg;
	struct conv		 cv;
	char			*reply = NULL, *l;

	memset(&cfg, 0, sizeof cfg);
	cfg.prompts = pr;
	cfg.n_prompts = 1;
	conv_init(&cv);
	ok(slashcmd_system(&cfg, &cv, "pirate", 0, &reply) == 0 &&
	    strcmp(cv.system_text, "Talk like a pirate.") == 0,
	    "a configured name switches");
	free(reply);
	ok(slashcmd_system(&cfg, &cv, "pirat", 0, &reply) == -1 &&
	    strstr(reply, "did you mean 'pirate'") != NULL &&
	    strcmp(cv.system_name, "pirate") == 0,
	    "a typo of a name: refused, the nearest named, nothing changed");
	free(reply);
	ok(slashcmd_system(&cfg, &cv, "Answer in one short sentence, always.",
	    0, &reply) == 0 && strcmp(cv.system_name, "custom") == 0 &&
	    strcmp(cv.system_text, "Answer in one short sentence, always.") ==
	    0, "a text with a blank: a prompt of one's own");
	free(reply);
	l = slashcmd_system_label(&cv);
	ok(strcmp(l, "custom: Answer in one short...") == 0,
	    "shown as custom with its first words: %s", l);
	free(l);
	ok(slashcmd_system(&cfg, &cv, "pirate", 1, &reply) == 0 &&
	    strcmp(cv.system_name, "custom") == 0 &&
	    strcmp(cv.system_text, "pirate") == 0,
	    "/set system TEXT: always the text, one word too");
	free(reply);
	conv_free(&cv);
}

/* Whether a conversation is saved as name. */
static int
saved(const char *name)
{
	char	*path = session_path(name);
	int	 r = path != NULL && access(path, F_OK) == 0;

	free(path);
	return r;
}

/* /file, /copy, /rename, /delete. */
static void
test_features(void)
{
	struct conv	 cv;
	char		 dir[] = "/tmp/t_slashcmd2.XXXXXX", *block, *reply, *t;
	char		*renamed, big[SLASHCMD_FILE_MAX + 2];

	if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
		ok(0, "a scratch folder");
		return;
	}
	setenv("XDG_DATA_HOME", dir, 1);
	tap_spit("notes.txt", "第一行\nline two\n", 19);
	ok(slashcmd_file("notes.txt", &block, &reply) == 0 &&
	    strcmp(block, "File notes.txt:\n```\n第一行\nline two\n```\n\n") ==
	    0, "/file: the text with its name, in a fence");
	free(block);
	free(reply);
	tap_spit("bin", "a\0b", 3);
	ok(slashcmd_file("bin", &block, &reply) == -1 && block == NULL &&
	    strstr(reply, "not UTF-8 text") != NULL, "a NUL byte: refused");
	free(reply);
	tap_spit("latin1", "caf\xe9", 4);
	ok(slashcmd_file("latin1", &block, &reply) == -1 &&
	    strstr(reply, "not UTF-8") != NULL, "not UTF-8: refused");
	free(reply);
	memset(big, 'a', sizeof big);
	tap_spit("big", big, sizeof big);
	ok(slashcmd_file("big", &block, &reply) == -1 &&
	    strstr(reply, "larger than 64 KiB") != NULL, "too large: refused");
	free(reply);
	ok(slashcmd_file("none", &block, &reply) == -1 &&
	    strstr(reply, "none") != NULL, "a missing file: named");
	free(reply);

	conv_init(&cv);
	ok(slashcmd_copy_text(&cv, "", &t, &reply) == -1,
	    "/copy with no reply: said");
	free(reply);
	conv_add(&cv, CONV_USER, "q", 1);
	conv_add(&cv, CONV_ASSISTANT, " Try:\n```sh\nls -l\n```\nand\n```\n"
	    "a\nb\n```\n", 37);
	ok(slashcmd_copy_text(&cv, "", &t, &reply) == 0 &&
	    strncmp(t, "Try:", 4) == 0, "/copy: the last reply");
	free(t);
	ok(slashcmd_copy_text(&cv, "2", &t, &reply) == 0 &&
	    strcmp(t, "a\nb\n") == 0, "/copy 2: its second code block");
	free(t);
	ok(slashcmd_copy_text(&cv, "3", &t, &reply) == -1 &&
	    strstr(reply, "has 2 code blocks") != NULL, "/copy 3: there are 2");
	free(reply);
	t = slashcmd_osc52("hi!", 3);
	ok(strcmp(t, "\033]52;c;aGkh\a") == 0, "OSC 52 carries base64");
	free(t);
	t = slashcmd_osc52("hi", 2);
	ok(strcmp(t, "\033]52;c;aGk=\a") == 0, "padded");
	free(t);

	session_save(&cv, "one", NULL, &reply);
	session_save(&cv, "two", NULL, &reply);
	ok(slashcmd_rename("two", "one", &renamed, &reply) == -1 &&
	    strstr(reply, "another conversation") != NULL,
	    "/rename over another conversation: refused");
	free(reply);
	ok(slashcmd_rename("uno", "one", &renamed, &reply) == 0 &&
	    strcmp(renamed, "uno") == 0 && saved("uno") && !saved("one"),
	    "/rename NEW renames this conversation");
	free(renamed);
	free(reply);
	ok(slashcmd_rename("two / deux", NULL, &renamed, &reply) == 0 &&
	    saved("deux") && !saved("two"), "/rename OLD / NEW");
	free(renamed);
	free(reply);
	ok(slashcmd_delete("deux", 0, &reply) == 1 &&
	    strstr(reply, "/delete! deux") != NULL && saved("deux"),
	    "/delete asks first, and deletes nothing");
	free(reply);
	ok(slashcmd_delete("deux", 1, &reply) == 0 && !saved("deux"),
	    "/delete! deletes");
	free(reply);
	conv_free(&cv);
	tap_rmtree(dir);
}

static void
test_help(void)
{
	char	*line = slashcmd_help(1), *full = slashcmd_help(0);

	ok(strstr(line, "/帮助") != NULL && strstr(line, "/退出") != NULL &&
	    strstr(line, "/save NAME ") != NULL, "the line chat's rows");
	ok(strstr(line, "/edit") == NULL && strstr(full, "/edit") != NULL,
	    "/edit only in the full-screen chat's");
	ok(strstr(full, "//TEXT") != NULL && strstr(full, "/load [NAME]") !=
	    NULL, "the full-screen chat's own rows");
	ok(strstr(full, "\n                              repeat_penalty") !=
	    NULL, "a help of several lines is indented under the first");
	free(line);
	free(full);
}

static void
test_texts(void)
{
	struct proto_params	 p;
	struct client		 cl;
	struct conv		 cv;
	struct conv_msg		*m;
	char			*s, a1[] = "temperature 0.5", a2[] = "";
	char			 a3[] = "bogus 1";

	memset(&p, 0, sizeof p);
	ok(slashcmd_set(&p, a1, &s) == 0 && p.temperature == 0.5f &&
	    strcmp(s, "temperature = 0.5") == 0, "/set sets and says so");
	free(s);
	ok(slashcmd_set(&p, a2, &s) == 1 && strncmp(s, "usage: /set", 11) ==
	    0 && strstr(s, "temperature 0.50") != NULL,
	    "/set alone: the usage and the parameters");
	free(s);
	ok(slashcmd_set(&p, a3, &s) == -1 && strstr(s, "bogus") != NULL,
	    "/set of an unknown parameter: why");
	free(s);
	{
		char	b1[] = "stop \\nUser: ", b2[] = "stop", b3[] = "stop a\\q";

		int	r = slashcmd_set(&p, b1, &s);

		ok(r == 0 && p.n_stop == 1 &&
		    strcmp(p.stop[0], "\nUser: ") == 0 && strstr(s,
		    "stop \"\\nUser: \"") != NULL, "/set stop: the rest of the "
		    "line, \\n decoded, shown escaped: %s", s);
		free(s);
		ok(slashcmd_set(&p, b3, &s) == -1 && p.n_stop == 1 &&
		    strstr(s, "escape") != NULL, "/set stop with an unknown "
		    "escape: why");
		free(s);
		ok(slashcmd_set(&p, b2, &s) == 0 && p.n_stop == 0,
		    "/set stop alone clears them");
		free(s);
	}
	ok(strcmp(slashcmd_stop_text(PROTO_STOP_CANCEL), "cancelled") == 0 &&
	    strcmp(slashcmd_stop_text(PROTO_STOP_STRING), "a stop string") ==
	    0, "stop reasons in words");
	memset(&cl, 0, sizeof cl);
	cl.model.name = (char *)"tiny";
	cl.model.template_name = (char *)"llama3";
	cl.model.simd = (char *)"avx2";
	cl.model.n_ctx = 512;
	cl.model.threads = 2;
	conv_init(&cv);
	conv_add(&cv, CONV_USER, "hi", 2);
	m = conv_add(&cv, CONV_ASSISTANT, "hello", 5);
	m->has_stats = 1;
	m->stats.stop = PROTO_STOP_EOG;
	m->stats.prompt = 10;
	m->stats.cached = 3;
	s = slashcmd_stats(&cl, &cv, &p);
	ok(strstr(s, "model: tiny (llama3 template, context 512, 2 threads, "
	    "avx2)\n") == s && strstr(s, "last reply: stopped (end of "
	    "turn); [prompt 10 tokens") != NULL && strstr(s, "cached tokens: "
	    "3 of 10 in the prompt\n") != NULL, "/stats: one text for both "
	    "chats");
	free(s);
	m->stats.stop = PROTO_STOP_CONTEXT;
	s = slashcmd_stats(&cl, &cv, &p);
	ok(strstr(s, "last reply: stopped (the context is full);") != NULL,
	    "/stats says why a reply stopped in a sentence that reads");
	ok(strstr(s, "prompt cache") == NULL,
	    "/stats: no word of the prompt cache when it gave nothing");
	free(s);
	m->stats.from_disk = 412;
	s = slashcmd_stats(&cl, &cv, &p);
	ok(strstr(s, "[prompt cache: 412 tokens from disk]\n") != NULL,
	    "/stats says how much the prompt cache gave");
	free(s);
	conv_free(&cv);
}

int
main(void)
{
	test_table();
	test_parse();
	test_bang();
	test_system();
	test_help();
	test_texts();
	test_no_overwrite();
	test_features();
	return tap_done();
}
