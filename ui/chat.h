/*
 * The full-screen chat's state on the UI thread: the engine connection,
 * the conversation, its scrollback, the reply under way, the open picker,
 * and the slash commands (the plain mode's, plus /edit and pickers for
 * /system and /load).  ui.c owns the terminal and feeds this module.
 */
#ifndef YT_UI_CHAT_H
#define YT_UI_CHAT_H

#include <stddef.h>

#include "fe/client.h"
#include "fe/conv.h"
#include "picker.h"
#include "scroll.h"
#include "status.h"

#define CHAT_NONE	((size_t)-1)

enum chat_pick {
	CHAT_PICK_HELP,
	CHAT_PICK_SYSTEM,
	CHAT_PICK_SESSION
};

struct fe;
struct journal;

struct chat {
	struct fe	*fe;
	struct client	 cl;
	struct conv	 cv;
	struct scroll	 sc;
	size_t		*items;		/* the scroll item of each message */
	size_t		 cap_items;
	int		 engine_ok;
	int		 busy;		/* a reply is under way */
	int		 phase;		/* STATUS_* */
	size_t		 reply;		/* message being written, or NONE */
	unsigned	 generated;
	unsigned	 pf_done;
	unsigned	 pf_total;
	unsigned	 pf_base;
	double		 pf_t0;
	double		 sent_t;	/* when the request went out */
	double		 eta;
	unsigned	 ctx_used;
	unsigned	 ctx_total;
	unsigned	 ctx_base;	/* used before this reply's tokens */
	double		 tps;		/* last reply; < 0: none */
	char		*model_label;
	char		*session;	/* name last saved or loaded */
	struct journal	*journal;	/* autosave of finished messages */
	size_t		 journaled;	/* messages in it */
	char		*saving;	/* /save waiting for a KV snapshot */
	int		 restoring;	/* /load waiting for one */
	char		*deferred;	/* a command waiting for idle */
	char		*restore;	/* text for the input, or NULL */
	char		*flash;		/* a passing status message */
	double		 flash_until;
	int		 flash_reply;	/* the flash is about the reply */
	int		 quit;
	int		 status;	/* exit status */
	int		 interrupts;	/* Ctrl-C at an empty, idle input */
	int		 force;		/* the command ran as "/save!" */
	char		*start_notes;
	char		*sys_label;
	char		*attach;	/* /file's text for the next message */	/* the status bar's name for it */	/* what starting said, for the screen */
	int		 dirty;		/* redraw the scrollback and status */
	int		 picking;	/* the picker is open */
	struct picker	 pk;
	/* Runs a line if it is a command (1), else 0: slash_run, set by
	 * ui.c, so that this module does not call slash.c, which calls it. */
	int		(*command)(struct chat *, const char *);
};

int	chat_init(struct chat *, struct fe *);
int	chat_start(struct chat *);
void	chat_finish(struct chat *, int clean);
void	chat_fini(struct chat *);
void	chat_line(struct chat *, const char *);
void	chat_keep(struct chat *, const char *);
void	chat_system_check(struct chat *);
int	chat_poll(struct chat *, int max_events);
void	chat_interrupt(struct chat *, int empty_input);
void	chat_temperature(struct chat *, float delta);
void	chat_note(struct chat *, int error, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	chat_flash(struct chat *, const char *);
void	chat_status(struct chat *, struct status_info *);
char	*chat_autosave(struct chat *);
/* For slash.c. */
void	chat_show_all(struct chat *);
void	chat_pop(struct chat *);
void	chat_submit(struct chat *);
void	chat_journal(struct chat *, int reset);
void	chat_save(struct chat *, const char *name);
void	chat_load(struct chat *, const char *name);

#endif
