/*
 * A Modelfile (or an ollama model) applied to the front end: its model,
 * template, system prompt, parameters, stops and opening messages become
 * struct fe's defaults, which the command line then overrides.
 */
#include "config.h"

#include "fe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modelfile.h"
#include "xmalloc.h"
#include "util.h"
#include "i18n.h"

/* ollama's names of the sampling parameters fe_set_param() knows. */
static const char *const same_name[] = {
	"temperature", "top_k", "top_p", "min_p", "repeat_penalty",
	"repeat_last_n", "seed", NULL
};

static int
bad(const struct modelfile *mf, const struct mf_param *p, const char *why,
    char **cause)
{
	if (p->line > 0)
		xasprintf(cause, "%s:%d: PARAMETER %s %s: %s", mf->path,
		    p->line, p->name, p->value, why);
	else
		xasprintf(cause, "%s: parameter %s %s: %s", mf->path, p->name,
		    p->value, why);
	return -1;
}

/* One PARAMETER; 0, or -1 with *cause. */
static int
apply_param(struct fe *fe, const struct modelfile *mf,
    const struct mf_param *p, FILE *notes, char **cause)
{
	char	*why = NULL;
	long	 v;
	size_t	 i;
	int	 r;

	for (i = 0; same_name[i] != NULL; i++)
		if (strcmp(p->name, same_name[i]) == 0)
			break;
	if (same_name[i] != NULL || strcmp(p->name, "num_predict") == 0) {
		r = fe_set_param(&fe->params, same_name[i] != NULL ?
		    p->name : "max_tokens", p->value, &why);
		fe->mf_seed |= r == 0 && strcmp(p->name, "seed") == 0;
		fe->mf_max |= r == 0 && strcmp(p->name, "num_predict") == 0;
	} else if (strcmp(p->name, "stop") == 0)
		r = fe_add_stop(&fe->params, p->value, &why);
	else if (strcmp(p->name, "num_ctx") == 0 ||
	    strcmp(p->name, "num_thread") == 0 ||
	    strcmp(p->name, "num_batch") == 0 ||
	    strcmp(p->name, "num_keep") == 0) {
		if (util_parse_long(p->value, strcmp(p->name, "num_keep") ==
		    0 ? -1 : 0, 1 << 24, &v) != 0)
			return bad(mf, p, _("not a count"), cause);
		/* num_keep: the tokens kept at the start when the context
		 * fills.  yangtuo drops whole old turns and always keeps the
		 * system prompt, which is what it protects. */
		if (strcmp(p->name, "num_ctx") == 0)
			fe->load.n_ctx = (uint32_t)v;
		else if (strcmp(p->name, "num_thread") == 0 && v > 0)
			fe->load.threads = (uint32_t)v;
		else if (strcmp(p->name, "num_batch") == 0 && v > 0)
			fe->load.n_batch = (uint32_t)v;
		return 0;
	} else {
		fprintf(notes, _("yangtuo: %s: parameter %s is ollama's; "
		    "yangtuo ignores it\n"), mf->path, p->name);
		return 0;
	}
	if (r != 0) {
		bad(mf, p, why, cause);
		free(why);
	}
	return r;
}

/*
 * Lay a Modelfile's settings over fe (the config's values already there):
 * parameters, stops, system prompt (a MESSAGE system when there is no
 * SYSTEM), the opening messages and the template.  Notes about what is
 * ignored go to notes.  0, or -1 with *cause (caller frees) naming
 * file:line.  fe keeps pointers into mf.
 */
int
fe_apply_modelfile(struct fe *fe, const struct modelfile *mf, FILE *notes,
    char **cause)
{
	size_t	i;

	for (i = 0; i < mf->n_params; i++)
		if (apply_param(fe, mf, &mf->params[i], notes, cause) != 0)
			return -1;
	fe->system_name = NULL;
	fe->system_text = NULL;
	for (i = 0; i < mf->n_msgs; i++)
		if (strcmp(mf->msgs[i].role, "system") == 0)
			fe->system_text = mf->msgs[i].text;
	if (mf->system != NULL)
		fe->system_text = mf->system;
	if (fe->system_text != NULL && *fe->system_text == '\0')
		fe->system_text = NULL;
	if (fe->system_text != NULL)
		fe->system_name = "Modelfile";
	fe->preload = mf->msgs;
	fe->n_preload = mf->n_msgs;
	if (mf->template_text != NULL) {
		fe->load.template_name = (char *)"go";
		fe->load.template_text = mf->template_text;
	}
	fe->load.path = mf->model;
	return 0;
}
