/*
 * The slash commands of both chats, in one table: English and Chinese
 * names, when the full-screen chat may run them, their help.  Each front
 * end runs a command by its id (its handler array is indexed by enum
 * slashcmd_id); the texts the two print alike are made here.
 */
#ifndef YT_FE_SLASHCMD_H
#define YT_FE_SLASHCMD_H

#include <stddef.h>
#include <stdint.h>

struct client;
struct conv;
struct proto_done;
struct proto_params;

enum slashcmd_id {
	SLASH_HELP,
	SLASH_SYSTEM,
	SLASH_SET,
	SLASH_CLEAR,
	SLASH_NEW,
	SLASH_SAVE,
	SLASH_LOAD,
	SLASH_EXPORT,
	SLASH_REGEN,
	SLASH_EDIT,
	SLASH_STATS,
	SLASH_THEME,
	SLASH_MODEL,
	SLASH_FILE,
	SLASH_COPY,
	SLASH_RENAME,
	SLASH_DELETE,
	SLASH_QUIT,
	SLASH_COUNT
};

/* When the full-screen chat may run a command while a reply is being
 * written (the line chat waits for every reply anyway). */
enum slashcmd_when {
	SLASH_ANYTIME,
	SLASH_IDLE,		/* stop the reply first */
	SLASH_IDLE_ARG		/* the same, when given an argument */
};

struct slashcmd {
	enum slashcmd_id	 id;
	const char		*name;		/* English, without '/' */
	const char		*name2;		/* another name, or NULL */
	const char		*alias;		/* the Chinese name */
	enum slashcmd_when	 when;
	int			 full_screen;	/* not in the line chat */
	const char		*usage;		/* N_("/save [NAME]") */
	const char		*help;		/* N_(); '\n' continues */
	const char		*line_usage;	/* the line chat's, or NULL */
	const char		*line_help;
	int			 bang;		/* "/save! NAME" forces it */
};

/* The table, in help order, ended by a NULL name. */
extern const struct slashcmd slashcmd_table[];

/* The command called word (English, either name, or Chinese; no '/'),
 * or NULL. */
const struct slashcmd	*slashcmd_find(const char *word);
/*
 * Split a command line in place: 0 if line is no command (not one '/'
 * first, or "//" sending a message), else 1 with *cmd the command (NULL
 * if unknown; line + 1 is then its name) and *arg its argument, blanks
 * trimmed; 2 the same for a command that takes '!' ("/save! NAME":
 * replace what is there).  line is changed.
 */
int			 slashcmd_parse(char *line,
			    const struct slashcmd **cmd, char **arg);
/* The help rows of the commands, both names of each, for the line chat
 * or the full-screen one; translated, caller frees. */
char			*slashcmd_help(int line_chat);
/* A note when the model has no place for the conversation's system
 * prompt (no chat template), else NULL; static, translated. */
const char		*slashcmd_system_unused(const struct client *,
			    const struct conv *);
struct cfg;
struct fe;
/*
 * /system ARG or /set system TEXT: switch cv to the configured prompt
 * named arg, else (custom set, or arg has a blank) to arg as a prompt of
 * one's own, named "custom".  0 with *reply what it is now, or -1 with
 * *reply why not (a one-word name that is no prompt, the nearest named);
 * caller frees.
 */
int			 slashcmd_system(const struct cfg *, struct conv *,
			    const char *arg, int custom, char **reply);
/* How the status bar names cv's system prompt ("custom: first words");
 * caller frees. */
char			*slashcmd_system_label(const struct conv *);
/*
 * /file PATH: the text file as a block for the next message, "File NAME:"
 * and the text in a fence; at most SLASHCMD_FILE_MAX bytes, UTF-8, no NUL.
 * 0 with *block (caller frees) and *reply, or -1 with *reply why not.
 */
#define SLASHCMD_FILE_MAX	(64u << 10)
int			 slashcmd_file(const char *path, char **block,
			    char **reply);
/*
 * /copy [N]: what to copy from the last reply of cv: all of it, or its
 * Nth fenced code block.  0 with *text (caller frees), or -1 with *reply.
 */
int			 slashcmd_copy_text(const struct conv *, const char *arg,
			    char **text, char **reply);
/* The OSC 52 sequence that puts text on the terminal's clipboard;
 * caller frees. */
char			*slashcmd_osc52(const char *text, size_t len);
/* /rename [OLD /] NEW: rename the saved conversation OLD (else current)
 * to NEW, never over another.  0 with *renamed (the new name, caller
 * frees) or -1; *reply either way. */
int			 slashcmd_rename(const char *arg, const char *current,
			    char **renamed, char **reply);
/* /delete NAME (forced: /delete! NAME): delete the saved conversation;
 * without force only say how.  0 deleted, 1 asked, -1 error; *reply. */
int			 slashcmd_delete(const char *name, int force,
			    char **reply);
/* /model alone: the models to switch to, the one in use marked;
 * caller frees. */
char			*slashcmd_models(const struct fe *);
/* A note when a loaded conversation was saved with another model than
 * model_path, else NULL; caller frees. */
char			*slashcmd_model_note(const struct conv *,
			    const char *model_path);
/* Why a reply stopped, in words (static, translated). */
const char		*slashcmd_stop_text(uint32_t stop);
/* "[prompt N tokens ... t/s]\n" of a finished reply; caller frees. */
char			*slashcmd_done_text(const struct proto_done *);
/* The /stats text: model, system prompt, parameters, the last reply;
 * ends with a newline, caller frees. */
char			*slashcmd_stats(const struct client *,
			    const struct conv *, const struct proto_params *);
/* /set PARAM VALUE: 0 with *reply "PARAM = VALUE" (the parameter set),
 * 1 with *reply the usage and the parameters (no PARAM VALUE given), or
 * -1 with *reply what is wrong; caller frees *reply.  arg is changed. */
int			 slashcmd_set(struct proto_params *, char *arg,
			    char **reply);
/* /export [FILE]: write cv as Markdown (FILE, else a new
 * yangtuo-DATE-TIME[-N].md); an existing FILE only with force.  0 or -1,
 * with *reply what happened; caller frees. */
int			 slashcmd_export(const struct conv *, const char *arg,
			    const char *model_path, int force, char **reply);
/* Whether /save may write the session name: 0, or -1 with *why (caller
 * frees) when another conversation is saved under it; current is the
 * conversation's own name (saved or loaded as), or NULL. */
int			 slashcmd_save_ok(const char *name,
			    const char *current, int force, char **why);

#endif
