/*
 * The input line's editing (ui/input.c) without a terminal: keys go
 * through readline's callback interface as ncurses would hand them over;
 * the line, the accepted text, the rows it wraps to and the history are
 * checked.
 */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/input.h"
#include "tests/tap.h"

static char	*accepted;
static int	 n_accepted;

/* As ui.c does: an accepted line goes to the history. */
static void
on_line(char *line)
{
	if (line != NULL)
		input_history_add(line);
	free(accepted);
	accepted = line;
	n_accepted++;
}

static char **
on_words(const char *line, int start)
{
	return NULL;
}

static void
on_note(const char *s)
{
}

static void
type(const char *s)
{
	for (; *s != '\0'; s++)
		input_key(0, (wint_t)(unsigned char)*s);
}

static int
is(const char *want, const char *what)
{
	int	r = strcmp(input_text(), want) == 0;

	if (!r)
		diag("line '%s', want '%s'", input_text(), want);
	return ok(r, "%s", what);
}

int
main(void)
{
	struct input_hooks	 h = { on_line, on_words, on_note };
	char			 dir[] = "/tmp/yt-input-XXXXXX";
	int			 rows;

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		setlocale(LC_ALL, "");
	if (mkdtemp(dir) == NULL)
		skip_all("no temporary folder");
	setenv("XDG_STATE_HOME", dir, 1);
	setenv("INPUTRC", "/dev/null", 1);
	setenv("TERM", "xterm", 1);	/* its Delete key sequence */
	ok(input_init(&h) == 0, "input_init without a terminal");
	ok(input_empty(), "the line starts empty");
	type("hi");
	is("hi", "typed characters");
	input_key(1, KEY_LEFT);
	type("X");
	is("hXi", "Left, then a character inserts before the cursor");
	input_key(1, KEY_BACKSPACE);
	is("hi", "Backspace deletes before the cursor");
	input_key(1, KEY_HOME);
	type("a");
	input_key(1, KEY_END);
	type("!");
	is("ahi!", "Home and End");
	input_key(1, KEY_HOME);
	input_key(0, 0x04);	/* Ctrl-D on a line that is not empty */
	is("hi!", "Ctrl-D deletes at the cursor");
	input_key(1, KEY_END);
	input_key(0, 0x0a);	/* Ctrl-J */
	type("b");
	is("hi!\nb", "Ctrl-J adds a line to the message");
	ok(input_rows(80) == 2, "two lines take two rows");
	input_key(1, KEY_ENTER);
	ok(n_accepted == 1 && accepted != NULL &&
	    strcmp(accepted, "hi!\nb") == 0,
	    "Enter hands the whole message over");
	ok(input_empty() && strcmp(input_text(), "") == 0,
	    "and empties the line");
	input_rows(80);		/* the layout, as drawing makes it */
	input_key(1, KEY_UP);
	is("hi!\nb", "Up at an empty line recalls the message sent");
	input_clear();
	input_key(0, 0x4E2D);
	input_key(0, 0x6587);
	is("中文", "wide characters");
	input_key(1, KEY_BACKSPACE);
	is("中", "Backspace removes a whole character");
	input_clear();
	ok(input_empty(), "input_clear empties the line");
	input_paste("x\ry", 3);
	is("x\ny", "a paste is inserted, CR as a newline, not accepted");
	ok(n_accepted == 1, "nothing was accepted by the paste");
	input_clear();
	type("a b c");
	input_key(1, INPUT_KEY_CTRL_LEFT);
	type("X");
	is("a b Xc", "Ctrl-Left moves back a word");
	input_set("hello");
	is("hello", "input_set replaces the line");
	input_clear();
	type("0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789");
	rows = input_rows(40);
	ok(rows >= 2 && rows <= 4, "80 columns of text wrap at 40 (%d rows)",
	    rows);
	input_clear();
	input_fini();
	free(accepted);
	tap_rmtree(dir);
	return tap_done();
}
