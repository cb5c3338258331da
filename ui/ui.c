/*
 * The full-screen chat: terminal life (newterm, raw keys, bracketed
 * paste, mouse wheel, resize, suspend, every exit path restoring the
 * terminal) and the loop, which polls stdin, the engine's event pipe and
 * a signal self-pipe and never waits on the engine.  Each pass draws
 * what changed into stdscr and sends it with one doupdate().
 */
#include "config.h"

#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <curses.h>

#include "fe/fe.h"
#include "common/log.h"
#include "common/util.h"
#include "fe/xmalloc.h"
#include "chat.h"
#include "draw.h"
#include "input.h"
#include "slash.h"
#include "status.h"
#include "theme.h"
#include "view.h"
#include "fe/i18n.h"

#define UI_PASTE_MAX	(256u << 10)
#define UI_PASTE_QUIET	1.0	/* seconds without a paste end: give up */
#define UI_KEY_LATER	0.5	/* seconds to look for keys curses kept */
#define UI_PASTE_ON	"\033[?2004h"
#define UI_PASTE_OFF	"\033[?2004l"

enum ui_mode {
	UI_INPUT,
	UI_SEARCH,		/* typing a search */
	UI_FOUND		/* n/N step through matches */
};

struct ui {
	struct chat	 c;
	SCREEN		*scr;
	int		 term;		/* curses owns the terminal */
	int		 mode;
	char		 query[256];
	size_t		 qlen;
	size_t		 s_top;		/* the view before a search */
	int		 s_follow;
	int		 paste;		/* inside a bracketed paste */
	char		*pbuf;
	size_t		 plen;
	int		 ptrunc;	/* some of it was dropped */
	double		 paste_t;
	int		 full;		/* redraw everything */
	unsigned	 theme;		/* theme_serial() drawn */
	int		 cy, cx;	/* the input's cursor */
	int		 lines, cols;	/* of the last frame */
	int		 pane_h;
	int		 signo;		/* a signal that ends yangtuo */
	double		 key_t;		/* when a key last came */
};

static struct ui	 ui;
static int		 ui_sig[2] = { -1, -1 };
static const int	 ui_signals[] = { SIGWINCH, SIGTSTP, SIGCONT, SIGINT,
			    SIGTERM, SIGHUP };

static void
on_signal(int sig)
{
	int		saved = errno;
	unsigned char	c = (unsigned char)sig;

	if (ui_sig[1] >= 0)
		(void)write(ui_sig[1], &c, 1);
	errno = saved;
}

static int
signals_start(void)
{
	struct sigaction	sa;
	size_t			i;

	if (pipe(ui_sig) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		fcntl(ui_sig[i], F_SETFL, O_NONBLOCK);
		fcntl(ui_sig[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof ui_signals / sizeof ui_signals[0]; i++)
		sigaction(ui_signals[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void
signals_stop(void)
{
	size_t	i;

	for (i = 0; i < sizeof ui_signals / sizeof ui_signals[0]; i++)
		signal(ui_signals[i], SIG_DFL);
	for (i = 0; i < 2; i++)
		if (ui_sig[i] >= 0)
			close(ui_sig[i]);
	ui_sig[0] = ui_sig[1] = -1;
}

static void
put_raw(const char *s)
{
	size_t	n = strlen(s);

	while (n > 0) {
		ssize_t	w = write(STDOUT_FILENO, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Give the terminal back as it was: mouse and paste modes off, endwin.
 * Runs on every exit path, fatal() included. */
static void
term_release(void)
{
	if (!ui.term)
		return;
	ui.term = 0;
	fe_guard_term(NULL);
	mousemask(0, NULL);
	endwin();
	put_raw(UI_PASTE_OFF);
}

/* For the SIGBUS guard: what gives the terminal back without curses
 * (leave the alternate screen, cursor on, attributes off, paste mode
 * off). */
static void
term_guard(void)
{
	static const char	*caps[] = { "rmcup", "cnorm", "sgr0" };
	char			 buf[256] = "", *s;
	size_t			 i;

	for (i = 0; i < sizeof caps / sizeof caps[0]; i++)
		if ((s = tigetstr((char *)caps[i])) != NULL &&
		    s != (char *)-1 && strlen(buf) + strlen(s) < 200)
			strcat(buf, s);
	strcat(buf, UI_PASTE_OFF);
	fe_guard_term(buf);
}

static void
term_modes(void)
{
	mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	put_raw(UI_PASTE_ON);
	ui.term = 1;
}

static int
term_start(int colour)
{
	if ((ui.scr = newterm(NULL, stdout, stdin)) == NULL)
		return -1;
	set_term(ui.scr);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	intrflush(stdscr, FALSE);
	set_escdelay(25);
	mouseinterval(0);
	define_key("\033[200~", INPUT_KEY_PASTE_BEGIN);
	define_key("\033[201~", INPUT_KEY_PASTE_END);
	define_key("\033[1;5D", INPUT_KEY_CTRL_LEFT);
	define_key("\033[1;5C", INPUT_KEY_CTRL_RIGHT);
	define_key("\033[1;5H", INPUT_KEY_CTRL_HOME);
	define_key("\033[1;5F", INPUT_KEY_CTRL_END);
	define_key("\033[1;2A", INPUT_KEY_SHIFT_UP);
	define_key("\033[1;2B", INPUT_KEY_SHIFT_DOWN);
	/* Home and End as tmux, screen and rxvt send them too. */
	define_key("\033[1~", KEY_HOME);
	define_key("\033[4~", KEY_END);
	define_key("\033[7~", KEY_HOME);
	define_key("\033[8~", KEY_END);
	define_key("\033[H", KEY_HOME);
	define_key("\033[F", KEY_END);
	define_key("\033OH", KEY_HOME);
	define_key("\033OF", KEY_END);
	theme_init(colour);
	term_modes();
	term_guard();
	xmalloc_set_cleanup(term_release);
	return 0;
}

static void
term_stop(void)
{
	term_release();
	xmalloc_set_cleanup(NULL);
	if (ui.scr != NULL) {
		delscreen(ui.scr);
		ui.scr = NULL;
	}
}

/* Take the terminal size from the tty (after SIGWINCH or a resume). */
static void
resize(void)
{
	struct winsize	ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0 && (ws.ws_row != LINES || ws.ws_col != COLS))
		resizeterm(ws.ws_row, ws.ws_col);
	ui.full = 1;
}

/* Ctrl-Z or SIGTSTP: give the terminal back, stop, take it again. */
static void
suspend(void)
{
	struct sigaction	sa, old;
	sigset_t		set;

	term_release();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTSTP, &sa, &old);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* ... continued. */
	sigaction(SIGTSTP, &old, NULL);
	term_modes();
	clearok(curscr, TRUE);
	resize();
}

/* ---------------------------------------------------------------------- */

static void
search_start(void)
{
	ui.mode = UI_SEARCH;
	ui.qlen = 0;
	ui.query[0] = '\0';
	ui.s_top = ui.c.sc.top;
	ui.s_follow = ui.c.sc.follow;
	ui.c.dirty = 1;
}

static void
search_restore(void)
{
	ui.c.sc.top = ui.s_top;
	ui.c.sc.follow = ui.s_follow;
	if (ui.s_follow)
		scroll_end(&ui.c.sc);
}

static void
search_end(void)
{
	ui.mode = UI_INPUT;
	ui.c.sc.have_match = 0;
	ui.c.dirty = 1;
}

static void
search_run(void)
{
	search_restore();
	if (ui.qlen > 0 && scroll_search(&ui.c.sc, ui.query, -1, 0) == 0)
		ui.c.sc.have_match = 0;
	ui.c.dirty = 1;
}

static void
search_key(int is_key, wint_t c)
{
	char		buf[MB_LEN_MAX];
	mbstate_t	mb;
	size_t		n;

	if ((!is_key && (c == 27 || c == 3 || c == 7))) {
		search_restore();
		search_end();
		return;
	}
	if ((is_key && c == KEY_ENTER) || (!is_key && (c == '\r' ||
	    c == '\n'))) {
		if (ui.qlen == 0 && ui.c.sc.query != NULL) {
			snprintf(ui.query, sizeof ui.query, "%s",
			    ui.c.sc.query);
			ui.qlen = strlen(ui.query);
		}
		search_run();
		if (ui.c.sc.have_match) {
			ui.mode = UI_FOUND;
			chat_flash(&ui.c, _("Up, Ctrl-F: older match  Down: "
			    "newer  Enter: stay  Esc: back"));
		} else {
			if (ui.qlen > 0)
				chat_flash(&ui.c, _("not found"));
			search_end();
		}
		return;
	}
	if ((is_key && c == KEY_BACKSPACE) || (!is_key && (c == 127 ||
	    c == 8))) {
		while (ui.qlen > 0 && ((unsigned char)ui.query[--ui.qlen] &
		    0xC0) == 0x80)
			;
		ui.query[ui.qlen] = '\0';
		search_run();
		return;
	}
	if (!is_key && c == 21) {	/* Ctrl-U */
		ui.qlen = 0;
		ui.query[0] = '\0';
		search_run();
		return;
	}
	if (is_key || c < 0x20)
		return;
	memset(&mb, 0, sizeof mb);
	if ((n = wcrtomb(buf, (wchar_t)c, &mb)) == (size_t)-1 ||
	    ui.qlen + n >= sizeof ui.query)
		return;
	memcpy(ui.query + ui.qlen, buf, n);
	ui.qlen += n;
	ui.query[ui.qlen] = '\0';
	search_run();
}

/* Keys while stepping through matches; 0 if the key is not ours (it
 * ends the stepping and goes where keys go: typed text is never taken
 * for a step). */
static int
found_key(int is_key, wint_t c)
{
	struct scroll	*s = &ui.c.sc;
	int		 r, older;

	if ((is_key && (c == KEY_UP || c == KEY_DOWN)) || (!is_key &&
	    c == 6)) {
		older = c != KEY_DOWN;
		r = scroll_search(s, s->query, older ? -1 : 1, 1);
		if (r == 2)
			chat_flash(&ui.c, older ? _("search wrapped to the "
			    "newest text") : _("search wrapped to the oldest "
			    "text"));
		ui.c.dirty = 1;
		return 1;
	}
	if (!is_key && (c == 27 || c == 3 || c == 7)) {
		/* Cancelled: back to where the search began. */
		search_restore();
		search_end();
		return 1;
	}
	if ((is_key && c == KEY_ENTER) || (!is_key && (c == '\r' ||
	    c == '\n'))) {
		search_end();
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

static void
paste_add(wint_t c)
{
	char		buf[MB_LEN_MAX];
	mbstate_t	mb;
	size_t		n;

	if (c == '\r')
		c = '\n';
	memset(&mb, 0, sizeof mb);
	if ((n = wcrtomb(buf, (wchar_t)c, &mb)) == (size_t)-1)
		return;
	if (ui.plen + n > UI_PASTE_MAX) {
		ui.ptrunc = 1;
		return;
	}
	ui.pbuf = xreallocarray(ui.pbuf, ui.plen + n + 1, 1);
	memcpy(ui.pbuf + ui.plen, buf, n);
	ui.plen += n;
}

static void
paste_end(void)
{
	if (ui.ptrunc)
		chat_flash(&ui.c, _("the paste was too long and was cut"));
	if (ui.plen > 0)
		input_paste(ui.pbuf, ui.plen);
	free(ui.pbuf);
	ui.pbuf = NULL;
	ui.plen = 0;
	ui.paste = 0;
	ui.ptrunc = 0;
}

static void
mouse(void)
{
	MEVENT	ev;

	if (getmouse(&ev) != OK)
		return;
	if (ev.bstate & BUTTON4_PRESSED)
		scroll_by(&ui.c.sc, -3);
#ifdef BUTTON5_PRESSED
	else if (ev.bstate & BUTTON5_PRESSED)
		scroll_by(&ui.c.sc, 3);
#endif
	ui.c.dirty = 1;
}

/* Keys that work whatever is typed: scrolling, F-keys.  1 if handled. */
static int
global_key(wint_t c)
{
	struct scroll	*s = &ui.c.sc;
	long		 page = ui.pane_h > 2 ? ui.pane_h - 1 : 1;

	switch (c) {
	case KEY_F(1):
		slash_open(&ui.c, CHAT_PICK_HELP);
		break;
	case KEY_F(2):
		slash_open(&ui.c, CHAT_PICK_SYSTEM);
		break;
	case KEY_F(3):
		chat_temperature(&ui.c, -0.1f);
		break;
	case KEY_F(4):
		chat_temperature(&ui.c, 0.1f);
		break;
	case KEY_PPAGE:
		scroll_by(s, -page);
		break;
	case KEY_NPAGE:
		scroll_by(s, page);
		break;
	case KEY_SR:
	case INPUT_KEY_SHIFT_UP:
		scroll_by(s, -1);
		break;
	case KEY_SF:
	case INPUT_KEY_SHIFT_DOWN:
		scroll_by(s, 1);
		break;
	case INPUT_KEY_CTRL_HOME:
		scroll_home(s);
		break;
	case INPUT_KEY_CTRL_END:
		scroll_end(s);
		break;
	case KEY_HOME:
	case KEY_END:
		if (!input_empty())
			return 0;
		if (c == KEY_HOME)
			scroll_home(s);
		else
			scroll_end(s);
		break;
	case KEY_MOUSE:
		mouse();
		break;
	case KEY_RESIZE:
		resize();
		break;
	default:
		return 0;
	}
	ui.c.dirty = 1;
	return 1;
}

static void
key(int is_key, wint_t c)
{
	int	empty;

	if (ui.paste) {
		if (is_key && c == INPUT_KEY_PASTE_END)
			paste_end();
		else if (is_key && c == KEY_ENTER)
			paste_add('\n');
		else if (!is_key)
			paste_add(c);
		ui.paste_t = util_now();
		return;
	}
	if (is_key && c == INPUT_KEY_PASTE_BEGIN) {
		ui.paste = 1;
		ui.plen = 0;
		ui.paste_t = util_now();
		return;
	}
	if (ui.c.picking) {
		slash_key(&ui.c, is_key, (unsigned)c);
		return;
	}
	if (ui.mode == UI_SEARCH) {
		search_key(is_key, c);
		return;
	}
	if (ui.mode == UI_FOUND) {
		if (found_key(is_key, c))
			return;
		if (!is_key || (c != KEY_PPAGE && c != KEY_NPAGE))
			search_end();
	}
	if (is_key) {
		if (!global_key(c))
			input_key(1, c);
		return;
	}
	if (c != 3)
		ui.c.interrupts = 0;
	switch (c) {
	case 3:		/* Ctrl-C */
		empty = input_empty();
		if (!ui.c.busy && !empty)
			input_clear();
		chat_interrupt(&ui.c, empty);
		break;
	case 6:		/* Ctrl-F */
		search_start();
		break;
	case 12:	/* Ctrl-L */
		clearok(curscr, TRUE);
		ui.full = 1;
		break;
	case 26:	/* Ctrl-Z */
		suspend();
		break;
	default:
		input_key(0, c);
		break;
	}
}

static void
read_keys(void)
{
	wint_t	c;
	int	r;

	while ((r = wget_wch(stdscr, &c)) != ERR) {
		ui.key_t = util_now();
		key(r == KEY_CODE_YES, c);
		if (ui.c.quit)
			break;
	}
}

/* The input's line hook. */
static void
on_line(char *line)
{
	size_t	n;

	if (line == NULL) {
		ui.c.quit = 1;
		return;
	}
	n = strlen(line);
	if (n > 0 && line[n - 1] == '\\' && (n < 2 || line[n - 2] != '\\')) {
		/* A trailing backslash continues the message. */
		line[n - 1] = '\n';
		input_set(line);
		free(line);
		return;
	}
	input_history_add(line);
	chat_line(&ui.c, line);
	free(line);
}

static char **
on_words(const char *line, int start)
{
	return slash_words(&ui.c, line, start);
}

static void
on_note(const char *msg)
{
	chat_note(&ui.c, 0, "%s", msg);
}

static void
on_theme_warning(void *arg, const char *msg)
{
	chat_note(arg, 0, "%s", msg);
}

/* ---------------------------------------------------------------------- */

static void
draw_search(int y, int w)
{
	const char	*label = _("Search: ");
	int		 x;

	draw_fill(y, 0, w, theme_attr(TH_STATUS));
	x = draw_str(y, 0, w, label, strlen(label),
	    theme_attr(TH_STATUS_KEY));
	/* Keep the end of a long query (and the cursor) in view. */
	{
		const char	*q = ui.query;
		size_t		 n = ui.qlen;

		while (n > 0 && view_width(q, n) > w - x - 1) {
			struct view_gr	g;
			size_t		p = view_next(q, n, 0, &g);

			q += p;
			n -= p;
		}
		x += draw_str(y, x, w - x, q, n, theme_attr(TH_STATUS));
	}
	ui.cy = y;
	ui.cx = x < w ? x : w - 1;
	if (ui.qlen > 0 && !ui.c.sc.have_match && x + 2 < w)
		draw_str(y, x + 1, w - x - 1, _("(no match)"),
		    strlen(_("(no match)")), theme_attr(TH_STATUS));
}

/* Draw what changed and send it with one doupdate. */
static void
frame(void)
{
	struct status_info	si;
	int			H = LINES, W = COLS, in_h, max_in, st_y;
	int			geometry;

	if (H < 1 || W < 1)
		return;
	if (ui.theme != theme_serial()) {
		/* Another theme: every cell takes its new look. */
		ui.theme = theme_serial();
		clearok(curscr, TRUE);
		ui.full = 1;
	}
	in_h = input_rows(W);
	max_in = H >= 3 ? H - 2 : 1;
	if (in_h > max_in)
		in_h = max_in;
	st_y = H - in_h - 1;
	ui.pane_h = st_y > 0 ? st_y : 0;
	geometry = H != ui.lines || W != ui.cols;
	if (W != ui.cols && ui.cols != 0 && ui.c.picking &&
	    ui.c.pk.kind == CHAT_PICK_HELP) {
		/* The help's rows are wrapped to the width: again. */
		size_t	top = ui.c.pk.top;

		slash_open(&ui.c, CHAT_PICK_HELP);
		ui.c.pk.top = top < ui.c.pk.n ? top : 0;
	}
	if (geometry || ui.full) {
		ui.full = 1;
		ui.lines = H;
		ui.cols = W;
	}
	if (ui.c.sc.width != W || ui.c.sc.height != ui.pane_h) {
		scroll_resize(&ui.c.sc, W, ui.pane_h);
		ui.full = 1;
	}
	if (ui.full || ui.c.dirty) {
		draw_pane(&ui.c.sc, 0, ui.pane_h, W, ui.mode != UI_INPUT);
		if (ui.c.picking)
			picker_draw(&ui.c.pk, 0, ui.pane_h, W);
	}
	if (st_y >= 0) {
		if (ui.mode == UI_SEARCH)
			draw_search(st_y, W);
		else {
			chat_status(&ui.c, &si);
			status_draw(st_y, W, &si);
		}
	}
	if (ui.full || input_dirty() || ui.mode == UI_SEARCH) {
		int	cy, cx;

		input_draw(H - in_h, in_h, W, &cy, &cx);
		if (ui.mode != UI_SEARCH) {
			ui.cy = cy;
			ui.cx = cx;
		}
	}
	if (ui.c.picking)
		curs_set(0);
	else {
		curs_set(1);
		wmove(stdscr, ui.cy, ui.cx);
	}
	ui.full = 0;
	ui.c.dirty = 0;
	wnoutrefresh(stdscr);
	doupdate();
}

static void
take_signals(void)
{
	unsigned char	sig;

	while (read(ui_sig[0], &sig, 1) == 1) {
		switch (sig) {
		case SIGWINCH:
		case SIGCONT:
			if (sig == SIGCONT)
				clearok(curscr, TRUE);
			resize();
			break;
		case SIGTSTP:
			suspend();
			break;
		case SIGINT:
			chat_interrupt(&ui.c, input_empty());
			break;
		case SIGTERM:
		case SIGHUP:
			ui.signo = sig;
			ui.c.quit = 1;
			ui.c.status = 128 + sig;
			break;
		}
	}
}

static int
poll_timeout(int more)
{
	double	t = -1, now = util_now();

	if (more)
		return 0;
	if (ui.c.busy)
		t = 0.25;
	if (ui.c.flash != NULL && ui.c.flash_until > now &&
	    (t < 0 || ui.c.flash_until - now < t))
		t = ui.c.flash_until - now + 0.01;
	if (ui.paste)
		t = UI_PASTE_QUIET;
	else if (now - ui.key_t < UI_KEY_LATER && (t < 0 || t > 0.05))
		t = 0.05;
	return t < 0 ? -1 : (int)(t * 1000) + 1;
}

/* Put text given back (an unsent message, lines that came during a
 * reply) into the input, before what is being typed there. */
static void
restore_input(void)
{
	char	*t;

	if (input_empty()) {
		input_set(ui.c.restore);
		return;
	}
	xasprintf(&t, "%s\n%s", ui.c.restore, input_text());
	input_set(t);
	free(t);
}

static void
loop(void)
{
	struct pollfd	pfd[3];
	int		more = 0, n;

	while (!ui.c.quit) {
		if (ui.c.restore != NULL) {
			restore_input();
			free(ui.c.restore);
			ui.c.restore = NULL;
		}
		frame();
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = ui_sig[0];
		pfd[1].events = POLLIN;
		pfd[2].fd = ui.c.engine_ok ? ui.c.cl.ev_r : -1;
		pfd[2].events = POLLIN;
		n = poll(pfd, 3, poll_timeout(more));
		if (n < 0 && errno != EINTR)
			break;
		if (n < 0)
			continue;
		if (pfd[1].revents & POLLIN)
			take_signals();
		/* A lone Esc waits in curses' own buffer for the rest of a
		 * sequence that never comes, with nothing left for poll to
		 * see: look again shortly after every key. */
		if ((pfd[0].revents & POLLIN) || util_now() - ui.key_t <
		    UI_KEY_LATER)
			read_keys();
		if (!(pfd[0].revents & POLLIN) &&
		    (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			/* The terminal is gone: as for SIGHUP. */
			ui.signo = SIGHUP;
			ui.c.quit = 1;
			ui.c.status = 128 + SIGHUP;
		}
		if (ui.paste && util_now() - ui.paste_t > UI_PASTE_QUIET)
			paste_end();
		if (ui.c.engine_ok && (more || (pfd[2].revents &
		    (POLLIN | POLLHUP)) || ui.c.busy))
			more = chat_poll(&ui.c, 2000) > 0;
		else
			more = 0;
	}
}

/* Whether the locale's character set is UTF-8, trying C.UTF-8 if not. */
static int
utf8_locale(void)
{
	const char	*cs = nl_langinfo(CODESET);

	if (cs != NULL && strcmp(cs, "UTF-8") == 0)
		return 1;
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		return 0;
	cs = nl_langinfo(CODESET);
	return cs != NULL && strcmp(cs, "UTF-8") == 0;
}

/* Run the full-screen chat until the user quits; the exit status, or
 * UI_NO_SCREEN where a full screen cannot work (TERM=dumb, no UTF-8, no
 * curses terminal), for the caller to run the line chat instead. */
int
ui_main(struct fe *fe)
{
	const char	*term = getenv("TERM"), *nc = getenv("NO_COLOR");
	char		*saved, *cause = NULL;
	int		 status;

	if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0 ||
	    !utf8_locale())
		return UI_NO_SCREEN;
	memset(&ui, 0, sizeof ui);
	chat_init(&ui.c, fe);
	ui.c.command = slash_run;
	if (signals_start() != 0) {
		fprintf(stderr, "yangtuo: %s\n", strerror(errno));
		return 1;
	}
	if (isatty(STDERR_FILENO))
		fprintf(stderr, _("yangtuo: loading %s ...\n"), fe->load.path);
	/* Keystrokes before tokens: the engine's threads run a little
	 * below the UI's priority, so typing stays immediate on 2 cores. */
	fe->load.nice = 3;
	if (fe_connect(fe, &ui.c.cl) != 0 || chat_start(&ui.c) != 0) {
		signals_stop();
		chat_fini(&ui.c);
		return 1;
	}
	if (term_start(nc == NULL || *nc == '\0') != 0) {
		signals_stop();
		chat_fini(&ui.c);
		return UI_NO_SCREEN;
	}
	atexit(term_release);
	{
		struct input_hooks	h = { on_line, on_words, on_note };

		input_init(&h);
	}
	if (theme_use(fe->cfg->theme, on_theme_warning, &ui.c, &cause) != 0) {
		chat_note(&ui.c, 1, _("theme not used: %s"), cause);
		free(cause);
	}
	log_debug("ui start %dx%d", COLS, LINES);
	loop();
	saved = ui.signo != 0 ? chat_autosave(&ui.c) : NULL;
	chat_finish(&ui.c, 1);
	input_fini();
	term_stop();
	theme_fini();
	signals_stop();
	if (saved != NULL)
		fprintf(stderr, _("yangtuo: saved the conversation as '%s'\n"),
		    saved);
	free(saved);
	free(ui.pbuf);
	status = ui.c.status;
	chat_fini(&ui.c);
	return status;
}
