/*
 * The autosave journal: every finished message is appended to
 * $XDG_STATE_HOME/yangtuo/journal/current and fsynced, so a crash or a
 * kill -9 loses nothing finished.  A clean exit moves it to "last";
 * --resume rebuilds the conversation from whichever is newest.
 */
#ifndef YT_FE_JOURNAL_H
#define YT_FE_JOURNAL_H

#include <stddef.h>

struct conv;
struct conv_msg;
struct journal;

/* Open a fresh journal for a conversation (its system prompt and the
 * messages it already has are written first).  NULL if the state folder
 * cannot be used; the front end then runs without autosave and says so
 * in *cause (caller frees). */
struct journal	*journal_start(const struct conv *, const char *model,
		    char **cause);
/* Append one finished message; 0, or -1 (the journal is then closed and
 * further appends do nothing). */
int		 journal_add(struct journal *, const struct conv_msg *);
/* The system prompt was switched: record it; 0 or -1 as journal_add. */
int		 journal_system(struct journal *, const struct conv *);
/* The conversation was cleared or replaced: start the file again. */
int		 journal_reset(struct journal *, const struct conv *);
/* Close it; clean = 1 keeps it as the "last" conversation. */
void		 journal_close(struct journal *, int clean);
/* Whether a journal was left by a crash (a "current" file exists). */
int		 journal_left_over(void);
/* Rebuild the newest conversation (crash leftover, else the last clean
 * one) into c; 0, 1 if there is none, -1 with *cause.  Damaged tails are
 * skipped: every record up to the first bad one is restored. */
int		 journal_restore(struct conv *, char **cause);
/* Restore from a given journal file (tests). */
int		 journal_restore_file(struct conv *, const char *path,
		    char **cause);

#endif
