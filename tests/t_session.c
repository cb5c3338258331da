/*
 * Conversations that are never lost (RELIABILITY-NOTES P1, P4): session
 * files round-trip every field; truncated, bit-flipped, huge, future and
 * malformed files are refused and left as they were; SIGKILL at random
 * moments of a save leaves the old or the new file, never a mix; the
 * journal restores every message finished before a kill.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/sha256.h"
#include "common/utf8.h"
#include "fe/conv.h"
#include "fe/journal.h"
#include "fe/modelsum.h"
#include "fe/session.h"
#include "tests/tap.h"

static char	dir[64] = "/tmp/yt-session-XXXXXX";

static void
fill(struct conv *c, int n, const char *tag)
{
	struct conv_msg	*m;
	char		 text[256];
	int		 i;

	conv_set_system(c, "翻译", "You translate. 你是翻译。\n\"quoted\" \\ "
	    "and \x1b[2J");
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof text, "%s %d: 你好 😸 \"q\" \\ tab\t"
		    "nl\nesc\x1b]52;c;AAAA\x07 c1\xc2\x9b bom\xef\xbb\xbf "
		    "ls\xe2\x80\xa8 nel\xc2\x85 end", tag, i);
		m = conv_add(c, i % 2 ? CONV_ASSISTANT : CONV_USER, text,
		    strlen(text));
		m->time = 1795000000 + i;
		if (i % 2) {
			m->has_stats = 1;
			m->stats.stop = PROTO_STOP_LENGTH;
			m->stats.prompt = 100 + i;
			m->stats.cached = 50;
			m->stats.evaluated = 50 + i;
			m->stats.generated = 7;
			m->stats.prefill_sec = 0.25;
			m->stats.decode_sec = 1.5;
			m->params.temperature = 0.7f;
			m->params.top_k = 40;
			m->params.top_p = 0.9f;
			m->params.repeat_penalty = 1.1f;
			m->params.repeat_last_n = 64;
			m->params.seed = 12345;
			m->params.max_tokens = 400;
			m->cut = i == 3;
		}
	}
}

static int
same_conv(const struct conv *a, const struct conv *b)
{
	size_t	i;

	if (a->n != b->n || strcmp(a->system_text, b->system_text) != 0 ||
	    strcmp(a->system_name, b->system_name) != 0)
		return 0;
	for (i = 0; i < a->n; i++) {
		const struct conv_msg	*x = &a->msgs[i], *y = &b->msgs[i];

		if (x->role != y->role || strcmp(x->text, y->text) != 0 ||
		    x->time != y->time || x->cut != y->cut ||
		    x->has_stats != y->has_stats)
			return 0;
		if (x->has_stats && (x->stats.stop != y->stats.stop ||
		    x->stats.prompt != y->stats.prompt ||
		    x->stats.evaluated != y->stats.evaluated ||
		    x->params.temperature != y->params.temperature ||
		    x->params.seed != y->params.seed ||
		    x->params.max_tokens != y->params.max_tokens))
			return 0;
	}
	return 1;
}

static void
spit(const char *path, const char *b, size_t len)
{
	FILE	*f = fopen(path, "wb");

	fwrite(b, 1, len, f);
	fclose(f);
}

/* Load must fail with a message and leave the file byte for byte. */
static void
refused(const char *path, const char *what)
{
	struct conv	 c;
	char		*cause = NULL, *before = NULL, *after = NULL;
	size_t		 n1 = 0, n2 = 0;
	struct stat	 s1, s2;

	stat(path, &s1);
	if (s1.st_size < (64 << 20))
		before = tap_slurp(path, &n1);
	conv_init(&c);
	ok(session_load_file(&c, path, &cause) != 0 && cause != NULL &&
	    c.n == 0, "%s: refused (%s)", what, cause != NULL ? cause : "-");
	stat(path, &s2);
	if (before != NULL)
		after = tap_slurp(path, &n2);
	ok(s1.st_size == s2.st_size && s1.st_mtime == s2.st_mtime &&
	    n1 == n2 && (n1 == 0 || memcmp(before, after, n1) == 0),
	    "%s: the file is left as it was", what);
	free(before);
	free(after);
	free(cause);
	conv_free(&c);
}

/* How many messages of b differ from a's in role or text (valid UTF-8
 * required: a text that is not counts as changed). */
static size_t
changed_msgs(const struct conv *a, const struct conv *b)
{
	size_t	i, n = 0;

	for (i = 0; i < a->n && i < b->n; i++)
		if (a->msgs[i].role != b->msgs[i].role ||
		    a->msgs[i].len != b->msgs[i].len ||
		    memcmp(a->msgs[i].text, b->msgs[i].text, a->msgs[i].len)
		    != 0 || !utf8_valid(b->msgs[i].text, b->msgs[i].len))
			n++;
	return n;
}

static void
test_round_trip(void)
{
	struct conv	 a, b;
	char		 path[512], *cause = NULL, *buf, bad[512];
	size_t		 len, i;
	unsigned	 seed = 1;
	int		 fd;

	snprintf(path, sizeof path, "%s/s.yaml", dir);
	conv_init(&a);
	conv_init(&b);
	fill(&a, 6, "msg");
	a.kv_path = strdup("/tmp/x.kv");
	ok(session_save_file(&a, path, "/m/model.gguf", &cause) == 0,
	    "save a session");
	ok(session_load_file(&b, path, &cause) == 0 && same_conv(&a, &b) &&
	    b.kv_path != NULL && strcmp(b.kv_path, "/tmp/x.kv") == 0,
	    "it loads back identical (texts with quotes, escapes, CJK, emoji, "
	    "stats, params, flags)");
	conv_free(&b);

	buf = tap_slurp(path, &len);
	snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
	for (i = 1; i < 4; i++) {
		char	what[64];

		tap_spit(bad, buf, len * i / 4);
		snprintf(what, sizeof what, "truncated to %zu%%", i * 25);
		refused(bad, what);
	}
	for (i = 0; i < 8; i++) {
		char	*flip = malloc(len), what[64];
		size_t	 at;

		memcpy(flip, buf, len);
		seed = seed * 1103515245u + 12345u;
		at = (seed >> 8) % len;
		flip[at] ^= (char)(1 << (seed % 8));
		tap_spit(bad, flip, len);
		snprintf(what, sizeof what, "bit %u of byte %zu flipped",
		    seed % 8, at);
		/* A flip inside message text can still be a valid file; it
		 * must then load, never crash. */
		conv_init(&b);
		if (session_load_file(&b, bad, &cause) == 0)
			ok(b.n == a.n && changed_msgs(&a, &b) <= 1,
			    "%s: still a valid session, the same messages "
			    "but for at most the one flipped", what);
		else
			refused(bad, what);
		free(cause);
		cause = NULL;
		conv_free(&b);
		free(flip);
	}
	tap_spit(bad, "yangtuo_session: 2\nmessages: []\n", 31);
	refused(bad, "a future version");
	tap_spit(bad, "- just\n- a list\n", 16);
	refused(bad, "not a session");
	tap_spit(bad, "yangtuo_session: 1\nmessages:\n  - role: user\n", 45);
	refused(bad, "a message without text");
	tap_spit(bad, "yangtuo_session: 1\nmessages:\n  - role: root\n    "
	    "text: x\n", 56);
	refused(bad, "an unknown role");
	tap_spit(bad, "yangtuo_session: 1\nmessages: &a [*a]\n", 37);
	refused(bad, "a cyclic alias");
	tap_spit(bad, "yangtuo_session: 1\x00\nmessages: []\n", 33);
	refused(bad, "a NUL byte");
	fd = open(bad, O_WRONLY | O_TRUNC);
	ftruncate(fd, 2LL << 30);
	close(fd);
	refused(bad, "a 2 GB file");
	unlink(bad);
	free(buf);
	free(cause);
	conv_free(&a);
}

/* Load path in a child that must finish (refusing it) within a minute:
 * a hang detector, not a speed test. */
static void
refused_in_time(const char *path, const char *what)
{
	struct conv	 c;
	char		*cause = NULL;
	pid_t		 pid;
	int		 st = -1, i;

	if ((pid = fork()) == 0) {
		conv_init(&c);
		_exit(session_load_file(&c, path, &cause) != 0 &&
		    cause != NULL && c.n == 0 ? 0 : 1);
	}
	for (i = 0; i < 600; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	if (i == 600) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	ok(i < 600 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "%s: refused, and the load finished", what);
}

/* A file of head, then n copies of a, then n copies of b, then tail. */
static void
spit_nested(const char *path, const char *head, const char *a,
    const char *b, size_t n, const char *tail)
{
	FILE	*f = fopen(path, "wb");
	size_t	 i;

	fputs(head, f);
	for (i = 0; i < n; i++)
		fputs(a, f);
	for (i = 0; i < n; i++)
		fputs(b, f);
	fputs(tail, f);
	fclose(f);
}

/* Issue 17 item 2 and 6: nesting, aliases and numbers from a hostile
 * session. */
static void
test_hostile(void)
{
	struct conv	 c;
	char		 bad[512], *cause = NULL, *big;
	size_t		 i;
	int		 more = 0;
	FILE		*f;
	static const struct {
		const char	*yaml, *what;
	} nums[] = {
		{ "stats: {prompt: 1e12}", "a token count of 1e12" },
		{ "stats: {prompt: 4294967296}", "a token count of 2^32" },
		{ "stats: {generated: -1}", "a negative token count" },
		{ "stats: {decode_sec: .nan}", "a NaN duration" },
		{ "stats: {decode_sec: 1e300}", "a duration of 1e300" },
		{ "params: {top_k: 3000000000}", "top_k of 3e9" },
		{ "params: {top_k: 1e10}", "top_k of 1e10" },
		{ "params: {max_tokens: -7}", "max_tokens of -7" },
		{ "params: {temperature: nan}", "a NaN temperature" },
		{ "params: {temperature: 1e39}", "a temperature beyond float" },
		{ "params: {seed: -1}", "a negative seed" },
		{ "params: {seed: 1.9e19}", "a seed written as a float" },
		{ "params: {seed: 18446744073709551616}", "a seed of 2^64" },
		{ "time: -5", "a negative time" },
		{ "time: 1e300", "a time of 1e300" },
	};

	snprintf(bad, sizeof bad, "%s/hostile.yaml", dir);
	spit_nested(bad, "yangtuo_session: 1\nmessages: ", "[", "]", 40000,
	    "\n");
	refused_in_time(bad, "flow lists nested 40,000 deep");
	spit_nested(bad, "yangtuo_session: 1\nmessages: ", "[", "]", 1000000,
	    "\n");
	refused_in_time(bad, "flow lists nested 1,000,000 deep");
	spit_nested(bad, "yangtuo_session: 1\nx: ", "{a: ", "}", 100000,
	    "\nmessages: []\n");
	refused_in_time(bad, "flow mappings nested 100,000 deep");

	/* 1 MiB of text and 400 aliases of it: 400 MiB if expanded. */
	big = malloc((1 << 20) + 1);
	memset(big, 'm', 1 << 20);
	big[1 << 20] = '\0';
	f = fopen(bad, "wb");
	fprintf(f, "yangtuo_session: 1\nmessages:\n  - role: user\n"
	    "    text: &m \"%s\"\n", big);
	for (i = 0; i < 400; i++)
		fprintf(f, "  - role: user\n    text: *m\n");
	fclose(f);
	free(big);
	refused_in_time(bad, "400 aliases of a 1 MiB text");
	refused(bad, "an alias in a session");

	for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		f = fopen(bad, "wb");
		fprintf(f, "yangtuo_session: 1\nmessages:\n  - role: "
		    "assistant\n    text: x\n    %s\n", nums[i].yaml);
		fclose(f);
		refused(bad, nums[i].what);
	}
	f = fopen(bad, "wb");
	fprintf(f, "yangtuo_session: 1\nmessages:\n  - role: assistant\n"
	    "    text: x\n    stats: {prompt: 4294967295, decode_sec: 2.5}\n"
	    "    params: {seed: 18446744073709551615, top_k: 2147483647, "
	    "temperature: -1}\n");
	fclose(f);
	conv_init(&c);
	ok(session_load_file(&c, bad, &cause) == 0 && c.n == 1 &&
	    c.msgs[0].stats.prompt == 4294967295u &&
	    c.msgs[0].params.seed == UINT64_MAX &&
	    c.msgs[0].params.top_k == 2147483647 &&
	    c.msgs[0].stats.decode_sec == 2.5, "the largest values that fit "
	    "load exactly (%s)", cause != NULL ? cause : "ok");
	conv_free(&c);
	free(cause);
	cause = NULL;

	/* A listing reads only the start of a file. */
	f = fopen(bad, "wb");
	fprintf(f, "yangtuo_session: 1\nmessages:\n");
	for (i = 0; i < 20000; i++)
		fprintf(f, "  - role: %s\n    text: \"message %zu 你好\"\n",
		    i % 2 ? "assistant" : "user", i);
	fclose(f);
	conv_init(&c);
	ok(session_peek_file(&c, bad, &more, &cause) == 0 && more &&
	    c.n > 100 && c.n < 20000 && strcmp(c.msgs[0].text,
	    "message 0 你好") == 0, "a listing reads the first %zu of 20000 "
	    "messages of a large file", c.n);
	conv_free(&c);
	conv_init(&c);
	ok(session_load_file(&c, bad, &cause) == 0 && c.n == 20000,
	    "loading it reads every message");
	conv_free(&c);
	spit_nested(bad, "yangtuo_session: 1\nmessages: ", "[", "]", 1000000,
	    "\n");
	conv_init(&c);
	more = 0;
	ok(session_peek_file(&c, bad, &more, &cause) == 0 && c.n == 0,
	    "a listing of a 1,000,000-deep file shows no messages");
	conv_free(&c);
	free(cause);
	unlink(bad);
}

/* Issue 17 item 7: a save removes the temporary files killed saves of
 * the same file left, and only those whose process is gone. */
static void
test_stale_tmp(void)
{
	struct conv	 c;
	char		 path[512], f[5][600], *cause = NULL;
	pid_t		 dead;
	int		 i;

	if ((dead = fork()) == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	snprintf(path, sizeof path, "%s/stale.yaml", dir);
	snprintf(f[0], sizeof f[0], "%s.tmp%ld.0", path, (long)dead);
	snprintf(f[1], sizeof f[1], "%s.tmp%ld.3", path, (long)getppid());
	snprintf(f[2], sizeof f[2], "%s.tmp%ld.9", path, (long)getpid());
	snprintf(f[3], sizeof f[3], "%s.tmpx.0", path);
	snprintf(f[4], sizeof f[4], "%s/other.yaml.tmp%ld.0", dir,
	    (long)dead);
	for (i = 0; i < 5; i++)
		spit(f[i], "partial", 7);
	conv_init(&c);
	fill(&c, 2, "stale");
	ok(session_save_file(&c, path, NULL, &cause) == 0, "save beside "
	    "left-over temporary files");
	ok(access(f[0], F_OK) != 0, "the one of a process that is gone is "
	    "removed");
	ok(access(f[1], F_OK) == 0 && access(f[2], F_OK) == 0,
	    "those of running processes are kept");
	ok(access(f[3], F_OK) == 0 && access(f[4], F_OK) == 0,
	    "files of other names are kept");
	for (i = 0; i < 5; i++)
		unlink(f[i]);
	unlink(path);
	conv_free(&c);
	free(cause);
}

/* Issue 17 item 1: a cached model digest is read as exactly 64 hex
 * digits (the buffer was not terminated before strspn ran over it). */
static void
test_modelsum_cache(void)
{
	char	 model[512], cache[512], *d, *cp = NULL;
	int	 i;

	snprintf(cache, sizeof cache, "%s/cache", dir);
	mkdir(cache, 0700);
	setenv("XDG_CACHE_HOME", cache, 1);
	snprintf(model, sizeof model, "%s/m.gguf", dir);
	spit(model, "GGUF model bytes", 16);
	d = modelsum_now(model);
	ok(d != NULL && strlen(d) == 64, "a model's digest is computed");
	for (i = 0; i < 50 && d != NULL; i++) {
		cp = modelsum_cached(model);
		if (cp == NULL || strcmp(cp, d) != 0)
			break;
		free(cp);
		cp = NULL;
	}
	ok(i == 50, "and read back from the cache, 50 times");
	free(cp);
	free(d);
	unsetenv("XDG_CACHE_HOME");
}

/* Wait for one byte on fd. */
static void
await_byte(int fd)
{
	char	b;

	while (read(fd, &b, 1) == -1 && errno == EINTR)
		;
}

/* A yangtuo stand-in: start a journal, add a message, say so on up[1];
 * on a byte from down[0] add another, say so; on a second byte exit
 * cleanly if clean, else crash. */
static pid_t
instance(const char *tag, int clean, int up[2], int down[2])
{
	struct journal	*j;
	struct conv	 c;
	char		*cause = NULL, text[64];
	pid_t		 pid;

	if (pipe(up) != 0 || pipe(down) != 0)
		abort();
	if ((pid = fork()) != 0) {
		close(up[1]);
		close(down[0]);
		return pid;
	}
	close(up[0]);
	close(down[1]);
	conv_init(&c);
	if ((j = journal_start(&c, "m.gguf", &cause)) == NULL)
		_exit(1);
	snprintf(text, sizeof text, "%s 1", tag);
	if (journal_add(j, conv_add(&c, CONV_USER, text, strlen(text))) != 0)
		_exit(2);
	write(up[1], "r", 1);
	await_byte(down[0]);
	snprintf(text, sizeof text, "%s 2", tag);
	if (journal_add(j, conv_add(&c, CONV_ASSISTANT, text,
	    strlen(text))) != 0)
		_exit(3);
	write(up[1], "r", 1);
	await_byte(down[0]);
	if (clean)
		journal_close(j, 1);
	_exit(0);
}

static int
has_msg(const struct conv *c, const char *text)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->msgs[i].text, text) == 0)
			return 1;
	return 0;
}

/* Issue 17 item 9: two yangtuo at once each have their own journal; a
 * clean exit of one never moves the other's; crashes are all kept and
 * resumed one by one, newest first. */
static void
test_two_instances(void)
{
	struct conv	 c;
	char		 jdir[512], *cause = NULL;
	int		 ua[2], da[2], ub[2], db[2], others = -1, r;
	pid_t		 a, b;

	snprintf(jdir, sizeof jdir, "%s/state2", dir);
	setenv("XDG_STATE_HOME", jdir, 1);
	a = instance("A", 1, ua, da);
	await_byte(ua[0]);
	b = instance("B", 0, ub, db);
	await_byte(ub[0]);
	ok(journal_left_over() == 0, "two running instances: no journal "
	    "counts as left by a crash");
	write(da[1], "g", 1);
	await_byte(ua[0]);
	write(da[1], "g", 1);
	waitpid(a, NULL, 0);			/* A exits cleanly */
	write(db[1], "g", 1);
	await_byte(ub[0]);			/* B wrote after A left */
	write(db[1], "g", 1);
	waitpid(b, NULL, 0);			/* and crashes */
	ok(journal_left_over() == 1, "after A's clean exit and B's crash, "
	    "one journal is left over");
	conv_init(&c);
	r = journal_restore(&c, &others, &cause);
	ok(r == 0 && has_msg(&c, "B 1") && has_msg(&c, "B 2") &&
	    !has_msg(&c, "A 1") && others == 0, "--resume brings back B's "
	    "whole conversation, including what it wrote after A's exit");
	conv_free(&c);
	ok(journal_left_over() == 0, "and the leftover is then the last "
	    "conversation");

	/* Two crashes: both kept; each --resume brings one. */
	a = instance("C", 0, ua, da);
	b = instance("D", 0, ub, db);
	await_byte(ua[0]);
	await_byte(ub[0]);
	write(da[1], "gg", 2);
	write(db[1], "gg", 2);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	ok(journal_left_over() == 2, "two crashes leave two journals");
	conv_init(&c);
	r = journal_restore(&c, &others, &cause);
	ok(r == 0 && others == 1 && (has_msg(&c, "C 2") || has_msg(&c,
	    "D 2")), "--resume brings one back and says one more is left");
	conv_free(&c);
	conv_init(&c);
	r = journal_restore(&c, &others, &cause);
	ok(r == 0 && others == 0 && (has_msg(&c, "C 2") || has_msg(&c,
	    "D 2")) && journal_left_over() == 0, "the next --resume brings "
	    "the other");
	conv_free(&c);
	free(cause);
	close(ua[0]); close(da[1]); close(ub[0]); close(db[1]);
	unsetenv("XDG_STATE_HOME");
}

/* Issue 17 item 10: a journal write that fails (file size limit: a full
 * disk) is reported once, and autosave recovers when it can write. */
static void
test_journal_full(void)
{
	struct journal	*j;
	struct conv	 c, got;
	struct rlimit	 old, small;
	char		 jdir[512], *cause = NULL, *notice = NULL, big[8192];
	size_t		 done;
	int		 r1, r2, r3;

	snprintf(jdir, sizeof jdir, "%s/state3", dir);
	setenv("XDG_STATE_HOME", jdir, 1);
	conv_init(&c);
	conv_add(&c, CONV_USER, "small", 5);
	j = journal_start(&c, "m.gguf", &cause);
	ok(j != NULL, "a journal starts");
	done = c.n;
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	conv_add(&c, CONV_ASSISTANT, big, strlen(big));
	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	small.rlim_cur = 4096;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	r1 = journal_sync(j, &c, &done, &notice);
	ok(r1 == -1 && notice != NULL && strstr(notice, "autosave stopped")
	    != NULL, "a failed append is reported (%s)", notice != NULL ?
	    notice : "no notice");
	free(notice);
	conv_add(&c, CONV_USER, "after", 5);
	r2 = journal_sync(j, &c, &done, &notice);
	ok(r2 == 0 && notice == NULL, "and only once");
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	conv_add(&c, CONV_ASSISTANT, "room again", 10);
	r3 = journal_sync(j, &c, &done, &notice);
	ok(r3 == 1 && notice != NULL && done == c.n, "with room again "
	    "autosave says it works again (%s)", notice != NULL ? notice :
	    "no notice");
	free(notice);
	conv_init(&got);
	ok(j != NULL && journal_restore_file(&got, journal_path(j), &cause)
	    == 0 && got.n == 4 && strcmp(got.msgs[1].text, big) == 0,
	    "and the journal holds every message");
	conv_free(&got);
	journal_close(j, 1);
	conv_free(&c);
	free(cause);
	unsetenv("XDG_STATE_HOME");
}

/* Issue 17 item 8: a KV snapshot is used only from our snapshot folder
 * and only with the conversation it was saved with. */
static void
test_kv_binding(void)
{
	struct conv	 a, b;
	char		 cache[512], kvdir[600], kv[700], link[700], spath[512];
	char		 *why = NULL, *cause = NULL, *sum;
	static const char *outside[] = { "/etc/passwd", "relative.kv",
	    NULL, NULL };
	char		 dotdot[800];
	size_t		 i;
	int		 r;

	snprintf(cache, sizeof cache, "%s/kvcache", dir);
	snprintf(kvdir, sizeof kvdir, "%s/yangtuo/kv", cache);
	mkdir(cache, 0700);
	snprintf(kv, sizeof kv, "%s/yangtuo", cache);
	mkdir(kv, 0700);
	mkdir(kvdir, 0700);
	setenv("XDG_CACHE_HOME", cache, 1);
	snprintf(kv, sizeof kv, "%s/0123.kv", kvdir);
	spit(kv, "snapshot bytes", 14);

	conv_init(&a);
	fill(&a, 4, "kv");
	a.kv_path = strdup(kv);
	a.kv_sha256 = modelsum_kv(kv, &a);
	snprintf(spath, sizeof spath, "%s/kv.yaml", dir);
	ok(a.kv_sha256 != NULL && session_save_file(&a, spath, NULL, &cause)
	    == 0, "a session with a bound snapshot is saved");
	conv_init(&b);
	ok(session_load_file(&b, spath, &cause) == 0 &&
	    modelsum_kv_check(&b, &why) == 0, "loaded back, its snapshot "
	    "may be used (%s)", why != NULL ? why : "ok");
	free(why);
	why = NULL;

	/* The text edited, the kv: kept. */
	b.msgs[1].text[0] ^= 1;
	r = modelsum_kv_check(&b, &why);
	ok(r == -1 && why != NULL, "with a "
	    "message edited the snapshot is refused (%s)", why);
	free(why);
	why = NULL;
	b.msgs[1].text[0] ^= 1;
	spit(kv, "snapshot BYTES", 14);
	r = modelsum_kv_check(&b, &why);
	ok(r == -1, "so it is when the snapshot "
	    "file was replaced (%s)", why);
	free(why);
	why = NULL;
	spit(kv, "snapshot bytes", 14);
	free(b.kv_sha256);
	b.kv_sha256 = NULL;
	r = modelsum_kv_check(&b, &why);
	ok(r == -1, "and without a digest (%s)",
	    why);
	free(why);
	why = NULL;

	/* Paths out of the folder, even with the right digest. */
	snprintf(link, sizeof link, "%s/link.kv", kvdir);
	symlink("/etc/passwd", link);
	snprintf(dotdot, sizeof dotdot, "%s/../../../kv.yaml", kvdir);
	outside[2] = link;
	outside[3] = dotdot;
	for (i = 0; i < 4; i++) {
		free(b.kv_path);
		b.kv_path = strdup(outside[i]);
		free(b.kv_sha256);
		b.kv_sha256 = sum = modelsum_kv(outside[i], &b);
		r = modelsum_kv_check(&b, &why);
	ok(r == -1 && why != NULL,
		    "kv: %s is refused (%s)", outside[i], why);
		free(why);
		why = NULL;
	}
	unlink(link);
	unlink(kv);
	unlink(spath);
	conv_free(&a);
	conv_free(&b);
	free(cause);
	unsetenv("XDG_CACHE_HOME");
}

/* P1: kill -9 at random moments of saves: old or new, never partial. */
static void
test_kill_save(void)
{
	struct conv	 a, b, got;
	char		 path[512], *cause = NULL;
	int		 i, bad = 0, which_a = 0, which_b = 0;
	unsigned	 seed = 99;
	pid_t		 pid;

	snprintf(path, sizeof path, "%s/k.yaml", dir);
	conv_init(&a);
	conv_init(&b);
	fill(&a, 200, "old");
	fill(&b, 260, "new");
	session_save_file(&a, path, NULL, &cause);
	for (i = 0; i < 1000; i++) {
		if ((pid = fork()) == 0) {
			for (;;) {
				session_save_file(&b, path, NULL, &cause);
				session_save_file(&a, path, NULL, &cause);
			}
		}
		seed = seed * 1103515245u + 12345u;
		usleep((seed >> 8) % 3000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		conv_init(&got);
		if (session_load_file(&got, path, &cause) != 0) {
			bad++;
			free(cause);
			cause = NULL;
		} else if (same_conv(&got, &a))
			which_a++;
		else if (same_conv(&got, &b))
			which_b++;
		else
			bad++;
		conv_free(&got);
	}
	ok(bad == 0, "1000 kills during saves: the file was always the old or "
	    "the new version (%d old, %d new, %d bad)", which_a, which_b, bad);
	conv_free(&a);
	conv_free(&b);
}

/* A system prompt switched mid-conversation is the one restored; so is
 * switching to none. */
static void
test_journal_system(void)
{
	struct conv	 c, got;
	struct journal	*j;
	char		*cause = NULL, jdir[512], path[1024];

	snprintf(jdir, sizeof jdir, "%s/state-sys", dir);
	setenv("XDG_STATE_HOME", jdir, 1);
	/* Each running yangtuo has its own journal, named by its PID. */
	snprintf(path, sizeof path, "%s/yangtuo/journal/current-%ld", jdir,
	    (long)getpid());
	conv_init(&c);
	conv_init(&got);
	conv_set_system(&c, "first", "the startup prompt");
	if ((j = journal_start(&c, "m.gguf", &cause)) == NULL) {
		ok(0, "a journal: %s", cause);
		free(cause);
		return;
	}
	journal_add(j, conv_add(&c, CONV_USER, "hi", 2));
	conv_set_system(&c, "pirate", "talk like a pirate");
	ok(journal_system(j, &c) == 0, "a switch is recorded");
	journal_add(j, conv_add(&c, CONV_ASSISTANT, "arr", 3));
	ok(journal_restore_file(&got, path, &cause) == 0 &&
	    got.system_name != NULL && strcmp(got.system_name, "pirate") == 0
	    && strcmp(got.system_text, "talk like a pirate") == 0 && got.n == 2,
	    "--resume brings back the prompt switched to, and every message");
	conv_set_system(&c, NULL, NULL);
	journal_system(j, &c);
	ok(journal_restore_file(&got, path, &cause) == 0 &&
	    got.system_text == NULL && got.system_name == NULL,
	    "and a switch to none");
	journal_close(j, 0);
	conv_free(&c);
	conv_free(&got);
}

/* The journal: every message whose append returned is restored. */
static void
test_kill_journal(void)
{
	struct conv	 c, got;
	struct journal	*j;
	char		*cause = NULL, jdir[512], path[1024];
	int		 fds[2], i, lost = 0, min_ok = 1, worst = 0;
	unsigned	 seed = 5;
	pid_t		 pid;

	snprintf(jdir, sizeof jdir, "%s/state", dir);
	setenv("XDG_STATE_HOME", jdir, 1);
	for (i = 0; i < 200; i++) {
		int	last = -1, n;
		char	msgbuf[32];

		if (pipe(fds) != 0)
			abort();
		if ((pid = fork()) == 0) {
			int	k;

			close(fds[0]);
			conv_init(&c);
			conv_set_system(&c, "default", "system text");
			if ((j = journal_start(&c, "m.gguf", &cause)) == NULL)
				_exit(1);
			for (k = 0; ; k++) {
				struct conv_msg	*m;

				snprintf(msgbuf, sizeof msgbuf, "message %d",
				    k);
				m = conv_add(&c, k % 2 ? CONV_ASSISTANT :
				    CONV_USER, msgbuf, strlen(msgbuf));
				if (journal_add(j, m) != 0)
					_exit(2);
				/* Tell the parent it is durable. */
				if (write(fds[1], &k, sizeof k) != sizeof k)
					_exit(3);
			}
		}
		close(fds[1]);
		seed = seed * 1103515245u + 12345u;
		usleep(2000 + (seed >> 8) % 20000);
		kill(pid, SIGKILL);
		while (read(fds[0], &n, sizeof n) == sizeof n)
			last = n;
		close(fds[0]);
		waitpid(pid, NULL, 0);
		snprintf(path, sizeof path, "%s/yangtuo/journal/current-%ld",
		    jdir, (long)pid);
		conv_init(&got);
		if (journal_restore_file(&got, path, &cause) != 0) {
			/* No journal yet is fine if nothing was durable. */
			free(cause);
			cause = NULL;
			if (last >= 0)
				lost++;
			conv_free(&got);
			continue;
		} else if ((int)got.n < last + 1) {
			lost++;
			if (last + 1 - (int)got.n > worst)
				worst = last + 1 - (int)got.n;
		}
		if (got.system_text == NULL)
			min_ok = 0;
		conv_free(&got);
	}
	ok(lost == 0 && min_ok, "200 kills during autosave: every message "
	    "reported durable was restored (%d runs lost some, worst %d)",
	    lost, worst);
}

/* FIPS 180-2's test vectors for the digest of model files. */
static void
test_sha256(void)
{
	struct sha256	s;
	uint8_t		d[32];
	char		hex[65], *million;

	sha256_init(&s);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	ok(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
	    "61f20015ad") == 0, "sha256(\"abc\")");
	sha256_init(&s);
	sha256_update(&s, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnop"
	    "nopq", 56);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	ok(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd"
	    "419db06c1") == 0, "sha256 of the 56-byte vector");
	million = malloc(1000000);
	memset(million, 'a', 1000000);
	sha256_init(&s);
	sha256_update(&s, million, 999999);
	sha256_update(&s, million, 1);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	free(million);
	ok(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39"
	    "ccc7112cd0") == 0, "sha256 of a million 'a' in two pieces");
}

int
main(void)
{
	/* A memory file system when there is one: the kill loops fsync
	 * thousands of times, and atomicity does not depend on the disk. */
	if (access("/dev/shm", W_OK) == 0)
		snprintf(dir, sizeof dir, "/dev/shm/yt-session-XXXXXX");
	if (mkdtemp(dir) == NULL)
		skip_all("no temporary directory");
	test_sha256();
	test_round_trip();
	test_hostile();
	test_stale_tmp();
	test_modelsum_cache();
	test_kv_binding();
	test_kill_save();
	test_journal_system();
	test_kill_journal();
	test_two_instances();
	test_journal_full();
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(1);
	}
	wait(NULL);
	return tap_done();
}
