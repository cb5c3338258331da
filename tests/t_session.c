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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/sha256.h"
#include "common/utf8.h"
#include "fe/conv.h"
#include "fe/journal.h"
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

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*b;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
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
		before = slurp(path, &n1);
	conv_init(&c);
	ok(session_load_file(&c, path, &cause) != 0 && cause != NULL &&
	    c.n == 0, "%s: refused (%s)", what, cause != NULL ? cause : "-");
	stat(path, &s2);
	if (before != NULL)
		after = slurp(path, &n2);
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

	buf = slurp(path, &len);
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
	snprintf(path, sizeof path, "%s/yangtuo/journal/current", jdir);
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
	snprintf(path, sizeof path, "%s/yangtuo/journal/current", jdir);
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
	test_kill_save();
	test_journal_system();
	test_kill_journal();
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(1);
	}
	wait(NULL);
	return tap_done();
}
