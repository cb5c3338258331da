/*
 * ollama's model store read without ollama: a manifest (JSON) under
 * manifests/HOST/NAMESPACE/MODEL/TAG lists layers by media type and
 * digest; each layer is blobs/sha256-HEX.  The small layers (template,
 * system, parameters, messages, licence) are checked against their
 * digests, the model and adapter blobs against their sizes.
 */
#include "config.h"

#include "modelfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "modelsum.h"
#include "util.h"
#include "xmalloc.h"

#define OLLAMA_HOST		"registry.ollama.ai"
#define OLLAMA_NAMESPACE	"library"
#define OLLAMA_SMALL_MAX	(16u << 20)	/* bytes of a text layer */
#define OLLAMA_MT		"application/vnd.ollama.image."

/* The store: $OLLAMA_MODELS, else ~/.ollama/models; caller frees. */
char *
ollama_root(void)
{
	const char	*e = getenv("OLLAMA_MODELS"), *home;
	char		*s;

	if (e != NULL && *e != '\0')
		return xstrdup(e);
	if ((home = getenv("HOME")) == NULL)
		home = "";
	xasprintf(&s, "%s/.ollama/models", home);
	return s;
}

/* Whether s is a safe path component of a name. */
static int
part_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || (n <= 2 && strncmp(s, "..", n) == 0))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* The manifest's path for NAME[:TAG] (NAME: [HOST/][NAMESPACE/]MODEL);
 * NULL for a malformed name.  Caller frees. */
static char *
manifest_path(const char *root, const char *name)
{
	const char	*p[4], *colon, *slash, *tag = "latest", *s = name;
	size_t		 len[4], n = 0, tlen = 6;
	char		*path;

	colon = strrchr(name, ':');
	slash = strrchr(name, '/');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		tag = colon + 1;
		tlen = strlen(tag);
	} else
		colon = name + strlen(name);
	for (;;) {
		if (n == 3)
			return NULL;
		p[n] = s;
		slash = memchr(s, '/', (size_t)(colon - s));
		len[n] = (size_t)((slash != NULL ? slash : colon) - s);
		if (!part_ok(p[n], len[n]))
			return NULL;
		n++;
		if (slash == NULL)
			break;
		s = slash + 1;
	}
	if (!part_ok(tag, tlen))
		return NULL;
	/* Fill in the default host and namespace. */
	if (n == 1) {
		p[2] = p[0];
		len[2] = len[0];
		p[1] = OLLAMA_NAMESPACE;
		len[1] = strlen(OLLAMA_NAMESPACE);
	} else if (n == 2) {
		p[2] = p[1];
		len[2] = len[1];
		p[1] = p[0];
		len[1] = len[0];
	}
	if (n < 3) {
		p[0] = OLLAMA_HOST;
		len[0] = strlen(OLLAMA_HOST);
	}
	xasprintf(&path, "%s/manifests/%.*s/%.*s/%.*s/%.*s", root,
	    (int)len[0], p[0], (int)len[1], p[1], (int)len[2], p[2],
	    (int)tlen, tag);
	return path;
}

struct layer {
	const char	*type;		/* after OLLAMA_MT */
	const char	*hex;		/* the digest's 64 hex digits */
	json_int_t	 size;
	char		*blob;
};

/* Check one layer's fields and its blob's size; 0 or -1 with *cause. */
static int
layer_get(json_t *j, const char *root, const char *mpath, size_t i,
    struct layer *l, char **cause)
{
	const char	*mt = json_string_value(json_object_get(j, "mediaType"));
	const char	*dg = json_string_value(json_object_get(j, "digest"));
	json_t		*sz = json_object_get(j, "size");
	struct stat	 st;

	l->blob = NULL;
	if (mt == NULL || dg == NULL || !json_is_integer(sz) ||
	    json_integer_value(sz) < 0)
		return util_cause(cause, "%s: layers[%zu]: needs a mediaType, "
		    "a digest and a size", mpath, i);
	if (strncmp(dg, "sha256:", 7) != 0 || strlen(dg) != 71 ||
	    strspn(dg + 7, "0123456789abcdef") != 64)
		return util_cause(cause, "%s: layers[%zu]: digest '%s' is not "
		    "sha256:<64 hex digits>", mpath, i, dg);
	l->type = strncmp(mt, OLLAMA_MT, strlen(OLLAMA_MT)) == 0 ?
	    mt + strlen(OLLAMA_MT) : mt;
	l->hex = dg + 7;
	l->size = json_integer_value(sz);
	xasprintf(&l->blob, "%s/blobs/sha256-%s", root, l->hex);
	if (stat(l->blob, &st) != 0)
		return util_cause(cause, "%s: layers[%zu] (%s): blob %s: %s",
		    mpath, i, l->type, l->blob, strerror(errno));
	if ((json_int_t)st.st_size != l->size)
		return util_cause(cause, "%s: layers[%zu] (%s): blob %s has "
		    "%lld bytes, the manifest says %lld", mpath, i, l->type,
		    l->blob, (long long)st.st_size, (long long)l->size);
	return 0;
}

/* A small layer's text, checked against its digest; caller frees. */
static char *
layer_text(const struct layer *l, const char *mpath, size_t i, char **cause)
{
	char	*buf, *sum;
	size_t	 len;

	if (modelfile_read(l->blob, OLLAMA_SMALL_MAX, &buf, &len) != 0) {
		util_cause(cause, "%s: layers[%zu] (%s): %s: %s", mpath, i,
		    l->type, l->blob, strerror(errno));
		return NULL;
	}
	sum = modelsum_file(l->blob);
	if (sum == NULL || strcmp(sum, l->hex) != 0) {
		util_cause(cause, "%s: layers[%zu] (%s): blob %s does not "
		    "match its digest", mpath, i, l->type, l->blob);
		free(sum);
		free(buf);
		return NULL;
	}
	free(sum);
	return buf;
}

/* The params layer: {"name": value or [values]} as PARAMETERs. */
static int
add_params(struct modelfile *mf, const char *text, const char *blob,
    char **cause)
{
	json_error_t	 err;
	json_t		*o, *v, *e;
	const char	*k;
	size_t		 i;
	char		*s;

	if ((o = json_loads(text, JSON_REJECT_DUPLICATES, &err)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		return util_cause(cause, "%s:%d: params: %s", blob, err.line,
		    o == NULL ? err.text : "not a JSON object");
	}
	json_object_foreach(o, k, v) {
		for (i = 0; i < (json_is_array(v) ? json_array_size(v) : 1);
		    i++) {
			e = json_is_array(v) ? json_array_get(v, i) : v;
			if (json_is_string(e))
				s = xstrdup(json_string_value(e));
			else if (json_is_number(e) || json_is_boolean(e))
				s = json_dumps(e, JSON_ENCODE_ANY);
			else {
				json_decref(o);
				return util_cause(cause, "%s: params: '%s' is "
				    "not a string, number or list", blob, k);
			}
			modelfile_add_param(mf, xstrdup(k), s, 0);
		}
	}
	json_decref(o);
	return 0;
}

/* The messages layer: [{"role", "content"}]. */
static int
add_msgs(struct modelfile *mf, const char *text, const char *blob,
    char **cause)
{
	json_error_t	 err;
	json_t		*a, *m;
	const char	*role, *content;
	size_t		 i;

	if ((a = json_loads(text, 0, &err)) == NULL || !json_is_array(a)) {
		json_decref(a);
		return util_cause(cause, "%s:%d: messages: %s", blob, err.line,
		    a == NULL ? err.text : "not a JSON array");
	}
	json_array_foreach(a, i, m) {
		role = json_string_value(json_object_get(m, "role"));
		content = json_string_value(json_object_get(m, "content"));
		if (role == NULL || content == NULL || (strcmp(role, "system")
		    != 0 && strcmp(role, "user") != 0 && strcmp(role,
		    "assistant") != 0)) {
			json_decref(a);
			return util_cause(cause, "%s: messages[%zu]: needs a "
			    "role (system, user, assistant) and a content",
			    blob, i);
		}
		modelfile_add_msg(mf, role, content);
	}
	json_decref(a);
	return 0;
}

/* Hashing gigabytes at every start would be slow: the model blob's size
 * is checked, and its digest when a background hash (modelsum.c, also
 * run for sessions) has cached one. */
static int
check_cached(const struct layer *l, const char *mpath, size_t i,
    char **cause)
{
	char	*sum = modelsum_cached(l->blob);
	int	 r = 0;

	if (sum != NULL && strcmp(sum, l->hex) != 0)
		r = util_cause(cause, "%s: layers[%zu] (%s): blob %s does not "
		    "match its digest", mpath, i, l->type, l->blob);
	free(sum);
	return r;
}

/* One layer into mf by its media type; unknown types are skipped. */
static int
use_layer(struct modelfile *mf, struct layer *l, const char *mpath,
    size_t i, char **cause)
{
	char	*text;
	int	 r = 0;

	if (strcmp(l->type, "model") == 0) {
		if (check_cached(l, mpath, i, cause) != 0)
			return -1;
		free(mf->model);
		mf->model = l->blob;
		l->blob = NULL;
		return 0;
	}
	if (strcmp(l->type, "adapter") == 0) {
		mf->adapters = xreallocarray(mf->adapters, mf->n_adapters + 1,
		    sizeof *mf->adapters);
		mf->adapters[mf->n_adapters++] = l->blob;
		l->blob = NULL;
		return 0;
	}
	if (strcmp(l->type, "template") != 0 && strcmp(l->type, "system") !=
	    0 && strcmp(l->type, "license") != 0 && strcmp(l->type,
	    "params") != 0 && strcmp(l->type, "messages") != 0)
		return 0;
	if ((text = layer_text(l, mpath, i, cause)) == NULL)
		return -1;
	if (strcmp(l->type, "template") == 0) {
		free(mf->template_text);
		mf->template_text = text;
		mf->template_line = 0;
		return 0;
	}
	if (strcmp(l->type, "system") == 0) {
		free(mf->system);
		mf->system = text;
		return 0;
	}
	if (strcmp(l->type, "license") == 0) {
		free(mf->license);
		mf->license = text;
		return 0;
	}
	if (strcmp(l->type, "params") == 0)
		r = add_params(mf, text, l->blob, cause);
	else
		r = add_msgs(mf, text, l->blob, cause);
	free(text);
	return r;
}

static int
load_manifest(struct modelfile *mf, const char *root, const char *mpath,
    const char *name, char **cause)
{
	json_error_t	 err;
	json_t		*m, *layers, *j;
	struct layer	 l;
	size_t		 i;
	int		 r = 0;

	if ((m = json_load_file(mpath, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		if (errno == ENOENT && err.line == -1)
			return util_cause(cause, "no ollama model '%s' in %s "
			    "(no %s)", name, root, mpath);
		return util_cause(cause, "%s:%d: %s", mpath, err.line,
		    err.text);
	}
	layers = json_object_get(m, "layers");
	if (!json_is_array(layers)) {
		json_decref(m);
		return util_cause(cause, "%s: no \"layers\" list", mpath);
	}
	json_array_foreach(layers, i, j) {
		if ((r = layer_get(j, root, mpath, i, &l, cause)) == 0)
			r = use_layer(mf, &l, mpath, i, cause);
		free(l.blob);
		if (r != 0)
			break;
	}
	json_decref(m);
	if (r == 0 && mf->model == NULL)
		r = util_cause(cause, "%s: no layer of type %smodel", mpath,
		    OLLAMA_MT);
	return r;
}

/* Read the model NAME[:TAG] from the store at root into mf (its model,
 * adapters, template, system, parameters, messages, licence). */
int
ollama_load(struct modelfile *mf, const char *root, const char *name,
    char **cause)
{
	char	*mpath;
	int	 r;

	*cause = NULL;
	if (strncmp(name, "ollama:", 7) == 0)
		name += 7;
	if ((mpath = manifest_path(root, name)) == NULL)
		return util_cause(cause, "'%s' is not an ollama model name "
		    "([HOST/][NAMESPACE/]MODEL[:TAG])", name);
	r = load_manifest(mf, root, mpath, name, cause);
	if (r == 0) {
		free(mf->path);
		mf->path = mpath;
		free(mf->from);
		xasprintf(&mf->from, "ollama:%s", name);
	} else
		free(mpath);
	return r;
}
