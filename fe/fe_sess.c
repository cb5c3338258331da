/*
 * Saving and loading conversations from a front end: the session file
 * (session.c) plus the engine's KV snapshot in $XDG_CACHE_HOME/yangtuo/kv,
 * so a loaded conversation continues without re-reading its prompt.  A
 * snapshot that is missing, stale or damaged is only a notice: the text
 * is then evaluated again.
 */
#include "config.h"

#include "fe.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "conv.h"
#include "modelsum.h"
#include "session.h"
#include "xdg.h"
#include "xmalloc.h"
#include "i18n.h"

/* Wait for the engine's EV_STATE answer: its code; *text (caller frees)
 * gets the path or the reason. */
static int
await_state(struct client *cl, char **text, uint32_t *n)
{
	struct client_ev	ev;
	int			r;
	uint32_t		code;

	for (;;) {
		if ((r = client_next(cl, &ev, 60000)) < 0) {
			*text = xstrdup(_("the engine stopped"));
			return PROTO_EINTERNAL;
		}
		if (r == 0)
			continue;
		if (ev.type == PROTO_EV_STATE || ev.type == PROTO_EV_ERROR) {
			code = ev.code;
			*text = ev.text;
			ev.text = NULL;
			if (n != NULL)
				*n = ev.done;
			client_ev_free(&ev);
			return (int)code;
		}
		client_ev_free(&ev);
	}
}

/* Save the conversation as name, with a KV snapshot when the engine has
 * one; 0, or -1 with *cause (caller frees). */
int
fe_session_save(struct client *cl, struct conv *cv, const char *name,
    char **cause)
{
	char	*dir, *text = NULL;

	free(cv->kv_path);
	cv->kv_path = NULL;
	free(cv->kv_sha256);
	cv->kv_sha256 = NULL;
	if (cl != NULL && cl->loaded && !cl->busy &&
	    (dir = xdg_dir(XDG_CACHE, "kv", 1)) != NULL) {
		if (client_save_state(cl, dir) == 0 &&
		    await_state(cl, &text, NULL) == PROTO_EOK)
			cv->kv_path = text;
		else
			free(text);
		free(dir);
	}
	fe_kv_bind(cv);
	return session_save(cv, name, cl != NULL ? cl->model.path : NULL,
	    cause);
}

/* Load the conversation saved as name into cv and restore its snapshot;
 * *notice (caller frees) says why the snapshot could not be used. */
int
fe_session_load(struct client *cl, struct conv *cv, const char *name,
    char **notice, char **cause)
{
	char		*text = NULL;
	uint32_t	 n = 0;

	*notice = NULL;
	if (session_load(cv, name, cause) != 0)
		return -1;
	if (cl == NULL || !cl->loaded)
		return 0;
	if (cv->kv_path == NULL) {
		xasprintf(notice, _("no KV snapshot: the conversation will be "
		    "read again"));
		return 0;
	}
	if (modelsum_kv_check(cv, &text) != 0 ||
	    client_load_state(cl, cv->kv_path) != 0 ||
	    await_state(cl, &text, &n) != PROTO_EOK)
		xasprintf(notice, _("KV snapshot not used (%s): the "
		    "conversation will be read again"), text != NULL ? text :
		    "?");
	free(text);
	return 0;
}

/* Bind cv's new snapshot (cv->kv_path) to it by digest; a snapshot that
 * cannot be read is dropped. */
void
fe_kv_bind(struct conv *cv)
{
	free(cv->kv_sha256);
	cv->kv_sha256 = NULL;
	if (cv->kv_path == NULL)
		return;
	if ((cv->kv_sha256 = modelsum_kv(cv->kv_path, cv)) == NULL) {
		free(cv->kv_path);
		cv->kv_path = NULL;
	}
}

static int
sess_cmp(const void *a, const void *b)
{
	const struct fe_sess	*x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The saved sessions, newest first; *n of them (caller frees, with
 * fe_session_list_free). */
struct fe_sess *
fe_session_list(size_t *n)
{
	struct fe_sess	*v = NULL;
	struct dirent		*de;
	struct stat		 st;
	size_t			 cap = 0, len;
	char			*dir, *path;
	DIR			*d;

	*n = 0;
	if ((dir = xdg_dir(XDG_DATA, "sessions", 0)) == NULL)
		return NULL;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (*n == cap) {
				cap = cap == 0 ? 32 : cap * 2;
				v = xreallocarray(v, cap, sizeof *v);
			}
			v[*n].name = xstrndup(de->d_name, len - 5);
			v[*n].mtime = st.st_mtime;
			(*n)++;
		}
		free(path);
	}
	closedir(d);
	free(dir);
	qsort(v, *n, sizeof *v, sess_cmp);
	return v;
}

void
fe_session_list_free(struct fe_sess *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}
