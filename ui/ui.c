/*
 * The full-screen front end.  Until the ncurses interface lands, the
 * line chat serves terminals too.
 */
#include "config.h"

#include "ui.h"

#include "src/fe.h"

/* Run the chat on the terminal; the exit status. */
int
ui_main(struct fe *fe)
{
	return fe_plain(fe);
}
