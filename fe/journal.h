/*
 * The autosave journal: every finished message is appended to
 * $XDG_STATE_HOME/yangtuo/journal/current-PID (one per running yangtuo,
 * flocked through current-PID.lock) and fsynced, so a crash or a kill -9
 * loses nothing finished.  A clean exit moves its own journal to "last";
 * --resume rebuilds the newest conversation a crash left, else the last.
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
/* Append c's messages from *done on (or rewrite a broken journal);
 * *notice (caller frees) when autosave stops (-1) or works again (1). */
int		 journal_sync(struct journal *, const struct conv *,
		    size_t *done, char **notice);
/* The journal's file. */
const char	*journal_path(const struct journal *);
/* Close it; clean = 1 keeps it as the "last" conversation. */
void		 journal_close(struct journal *, int clean);
/* How many journals crashes left (those of running yangtuo are not). */
int		 journal_left_over(void);
/* Rebuild the newest conversation a crash left (it then becomes the
 * last), else the last clean one, into c; *others: how many more crashes
 * left.  0, 1 if there is none, -1 with *cause.  Damaged tails are
 * skipped: every record up to the first bad one is restored. */
int		 journal_restore(struct conv *, int *others, char **cause);
/* Restore from a given journal file (tests), or from memory (fuzzing). */
int		 journal_restore_file(struct conv *, const char *path,
		    char **cause);
int		 journal_restore_mem(struct conv *, const void *, size_t,
		    char **cause);

#endif
