/*
 * No raw escapes on any path to a terminal or a file for people (issue
 * 17 item 3, RELIABILITY-NOTES T1, T2): escape payloads are put in every
 * field that reaches one -- GGUF metadata keys and strings (yangtuo info),
 * a model-load error quoting the file, a session's system prompt, texts,
 * role and kv: path, the config's prompt names and texts -- and the
 * output of the commands that show them (info, the line chat's /stats,
 * /system, a KV snapshot notice, /export's Markdown, batch JSON, the
 * banner and the readline prompt through a pty) must hold no raw ESC,
 * BEL, DEL, C1, bidi, tag or zero-width character.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/gguf.h"
#include "engine/gguf_write.h"
#include "fe/conv.h"
#include "fe/session.h"
#include "tests/tap.h"

/* Every class of character that must not get through. */
#define EVIL	"E\x1b[2J\x1b]0;t\x07\x1b]52;c;QUJD\x07\xc2\x9b" "6n\xc2\x9d" \
		"\xe2\x80\xae\xe2\x81\xa6\xe2\x80\x8b\xf3\xa0\x80\x81\x7fZ"
/* The same in YAML's double-quoted escapes. */
#define EVIL_Y	"E\\e[2J\\e]0;t\\a\\e]52;c;QUJD\\a\\x9b6n\\x9d\\u202E\\u2066" \
		"\\u200B\\U000E0001\\x7FZ"

static char	 tmp[] = "/tmp/yt-escape-XXXXXX";
static char	 path[2][800];
static const char *bin;

/* The first forbidden byte sequence in b[0..n), as an offset, or -1. */
static long
first_raw(const unsigned char *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (b[i] == 0x1b || b[i] == 0x07 || b[i] == 0x7f)
			return (long)i;
		if (i + 1 < n && b[i] == 0xc2 && b[i + 1] >= 0x80 &&
		    b[i + 1] <= 0x9f)
			return (long)i;
		if (i + 2 < n && b[i] == 0xe2 && b[i + 1] == 0x80 &&
		    ((b[i + 2] >= 0xaa && b[i + 2] <= 0xae) ||
		    b[i + 2] == 0x8b || b[i + 2] == 0x8e || b[i + 2] == 0x8f ||
		    b[i + 2] == 0xa8 || b[i + 2] == 0xa9))
			return (long)i;
		if (i + 2 < n && b[i] == 0xe2 && b[i + 1] == 0x81 &&
		    b[i + 2] >= 0xa6 && b[i + 2] <= 0xa9)
			return (long)i;
		if (i + 2 < n && b[i] == 0xf3 && b[i + 1] == 0xa0 &&
		    (b[i + 2] == 0x80 || b[i + 2] == 0x81))
			return (long)i;
	}
	return -1;
}

static void
spit(const char *p, const char *s)
{
	FILE	*f = fopen(p, "wb");

	fputs(s, f);
	fclose(f);
}

/* Check a file for raw escapes; must contains must_have (or NULL). */
static void
clean_file(const char *p, const char *what, const char *must_have)
{
	size_t	 n;
	char	*b = tap_slurp(p, &n);
	long	 at = b != NULL ? first_raw((unsigned char *)b, n) : -2;

	ok(b != NULL && at == -1 && (must_have == NULL ||
	    strstr(b, must_have) != NULL), "%s: no raw escape (%s)", what,
	    b == NULL ? "no output" : at >= 0 ? "raw byte found" :
	    must_have != NULL && strstr(b, must_have) == NULL ?
	    "expected text missing" : "clean");
	if (b != NULL && (at >= 0 || (must_have != NULL &&
	    strstr(b, must_have) == NULL))) {
		for (size_t i = 0; i < n; i++)	/* the log stays clean */
			if ((unsigned char)b[i] < 0x20 && b[i] != '\n')
				b[i] = '.';
			else if ((unsigned char)b[i] >= 0x7f)
				b[i] = '~';
		diag("%.300s", b + (at > 40 ? at - 40 : 0));
	}
	free(b);
}

/* Run bin with args, stdin from in (a string), stdout and stderr into
 * out; under script(1) for a pty when pty is set. */
static void
run(const char *in, const char *out, int pty, char *const args[])
{
	char	 inp[700], cmd[4096];
	pid_t	 pid;
	int	 fd, i;

	snprintf(inp, sizeof inp, "%s/stdin", tmp);
	spit(inp, in != NULL ? in : "");
	if ((pid = fork()) == 0) {
		fd = open(inp, O_RDONLY);
		dup2(fd, 0);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		if (!pty) {
			execv(bin, args);
			_exit(127);
		}
		snprintf(cmd, sizeof cmd, "'%s'", bin);
		for (i = 1; args[i] != NULL; i++) {
			strcat(cmd, " '");
			strcat(cmd, args[i]);
			strcat(cmd, "'");
		}
		execlp("script", "script", "-qec", cmd, "/dev/null",
		    (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

/* The test model with general.name (or, with arch set, the architecture)
 * and an extra key and value holding escapes. */
static int
hostile_model(const char *src, const char *dst, int arch)
{
	struct gguf		*g;
	struct gguf_w		*w;
	char			*cause = NULL;
	uint64_t		 i;
	int			 r;

	if ((g = gguf_open(src, &cause)) == NULL) {
		diag("%s", cause);
		free(cause);
		return -1;
	}
	w = gguf_w_new();
	gguf_w_set_alignment(w, (uint32_t)g->alignment);
	for (i = 0; i < g->n_kv; i++) {
		const struct gguf_kv	*kv = &g->kv[i];

		if (kv->key.len == 12 && memcmp(kv->key.p, "general.name",
		    12) == 0)
			continue;
		if (arch && kv->key.len == 20 && memcmp(kv->key.p,
		    "general.architecture", 20) == 0)
			continue;
		gguf_w_kv_copy(w, kv);
	}
	gguf_w_str(w, "general.name", "name " EVIL);
	gguf_w_str(w, "evil." EVIL, "value " EVIL);
	if (arch)
		gguf_w_str(w, "general.architecture", "ll" EVIL);
	for (i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor	*t = &g->tensors[i];

		gguf_w_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
	}
	r = gguf_w_write(w, dst, &cause);
	if (r != 0)
		diag("%s", cause);
	free(cause);
	gguf_w_free(w);
	gguf_close(g);
	return r;
}

int
main(void)
{
	struct conv	 c;
	char		 src[600], model[600], badarch[600], out[600], cfg[600];
	char		 md[600], json[600], data[600], sdir[700], cmdin[1024];
	char		 *cause = NULL;
	int		 have_script;

	bin = getenv("YT_BIN");
	snprintf(src, sizeof src, "%s/models/stories260K.gguf", tap_testdata());
	if (bin == NULL || access(src, R_OK) != 0)
		skip_all("no yangtuo binary or test model");
	if (mkdtemp(tmp) == NULL)
		skip_all("no temporary folder");
	setenv("HOME", tmp, 1);
	snprintf(data, sizeof data, "%s/data", tmp);
	setenv("XDG_DATA_HOME", data, 1);
	snprintf(out, sizeof out, "%s/state", tmp);
	setenv("XDG_STATE_HOME", out, 1);
	snprintf(out, sizeof out, "%s/cache", tmp);
	setenv("XDG_CACHE_HOME", out, 1);
	snprintf(out, sizeof out, "%s/config", tmp);
	setenv("XDG_CONFIG_HOME", out, 1);
	unsetenv("YANGTUO_CONFIG");

	snprintf(model, sizeof model, "%s/evil.gguf", tmp);
	snprintf(badarch, sizeof badarch, "%s/badarch.gguf", tmp);
	snprintf(out, sizeof out, "%s/out", tmp);
	snprintf(cfg, sizeof cfg, "%s/cfg.yaml", tmp);
	snprintf(md, sizeof md, "%s/x.md", tmp);
	snprintf(json, sizeof json, "%s/p.json", tmp);
	ok(hostile_model(src, model, 0) == 0 &&
	    hostile_model(src, badarch, 1) == 0, "hostile models written");

	/* Sessions: hostile texts, a hostile role, a hostile kv: path. */
	snprintf(sdir, sizeof sdir, "%s/yangtuo", data);
	mkdir(data, 0700);
	mkdir(sdir, 0700);
	snprintf(sdir, sizeof sdir, "%s/yangtuo/sessions", data);
	mkdir(sdir, 0700);
	snprintf(path[0], sizeof path[0], "%s/evil.yaml", sdir);
	conv_init(&c);
	conv_set_system(&c, "sys " EVIL, "system text " EVIL);
	conv_add(&c, CONV_USER, "user " EVIL, strlen("user " EVIL));
	conv_add(&c, CONV_ASSISTANT, "reply " EVIL, strlen("reply " EVIL));
	c.kv_path = strdup("/nonexistent/" EVIL ".kv");
	c.kv_sha256 = strdup("00");
	ok(session_save_file(&c, path[0], model, &cause) == 0,
	    "a hostile session written");
	conv_free(&c);
	snprintf(path[1], sizeof path[1], "%s/role.yaml", sdir);
	spit(path[1], "yangtuo_session: 1\nmessages:\n  - role: \"" EVIL_Y
	    "\"\n    text: x\n");
	spit(cfg, "prompts:\n  - name: \"p" EVIL_Y "\"\n    text: \"t" EVIL_Y
	    "\"\n");

	run(NULL, out, 0, (char *[]){ (char *)bin, "info", "-m", model,
	    NULL });
	clean_file(out, "info: metadata keys and strings, model name",
	    "evil.");
	run(NULL, out, 0, (char *[]){ (char *)bin, "info", "-m", badarch,
	    NULL });
	clean_file(out, "info: a load error quoting the architecture",
	    "architecture");
	run(NULL, out, 0, (char *[]){ (char *)bin, "--plain", "-m", badarch,
	    NULL });
	clean_file(out, "the chat: a load error quoting the architecture",
	    "architecture");
	snprintf(cmdin, sizeof cmdin, "/stats\n/system\n/load evil\n"
	    "/export %s\n/quit\n", md);
	run(cmdin, out, 0, (char *[]){ (char *)bin, "--plain", "-m", model,
	    "--config", cfg, "--session", "evil", "-v", "-n", "2", NULL });
	clean_file(out, "--plain: /stats, /system, /load's KV notice",
	    "KV snapshot not used");
	clean_file(md, "/export's Markdown", "reply ");
	run(NULL, out, 0, (char *[]){ (char *)bin, "--plain", "-m", model,
	    "--session", "role", NULL });
	clean_file(out, "a session's unknown role", "unknown role");

	snprintf(cmdin, sizeof cmdin, "%s/in.txt", tmp);
	spit(cmdin, "line " EVIL "\n");
	unlink(json);
	run(NULL, out, 0, (char *[]){ (char *)bin, "-m", model,
	    "--data-file", cmdin, "--predictions-file", json, "-n", "2",
	    NULL });
	clean_file(out, "batch mode's messages", NULL);
	clean_file(json, "batch JSON", "\\u001B[2J");

	have_script = system("script -qec true /dev/null >/dev/null 2>&1")
	    == 0;
	if (!have_script)
		skip("no script(1) for a pty");
	else {
		/* TERM=dumb: readline draws no sequences of its own. */
		setenv("TERM", "dumb", 1);
		setenv("INPUTRC", "/dev/null", 1);
		run("/stats\n/quit\n", out, 1, (char *[]){ (char *)bin,
		    "--plain", "-m", model, "--session", "evil", "-n", "2",
		    NULL });
		clean_file(out, "a pty: the banner and the readline prompt",
		    "sys ");
	}
	free(cause);
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", tmp, (char *)NULL);
		_exit(1);
	}
	wait(NULL);
	return tap_done();
}
