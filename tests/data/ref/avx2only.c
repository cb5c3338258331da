/*
 * LD_PRELOAD shim: make llama.cpp's backend loader take its AVX2
 * ("haswell") CPU build whatever the CPU, as on an AVX2-only machine.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* Stand in for ggml's loader of every backend: load only the haswell CPU
 * build, from dir or else from the folder of the ggml library. */
void
ggml_backend_load_all_from_path(const char *dir)
{
	void	*(*load)(const char *);
	char	 lib[4096], *slash;
	Dl_info	 info;
	void	*h;

	/* The addon loads ggml privately: find it by its (pinned) name. */
	h = dlopen("libggml.v0.4.0.so", RTLD_LAZY | RTLD_NOLOAD);
	if (h == NULL || (load = (void *(*)(const char *))dlsym(h,
	    "ggml_backend_load")) == NULL) {
		fprintf(stderr, "avx2only: ggml_backend_load not found\n");
		return;
	}
	if (dir == NULL) {	/* next to the ggml library itself */
		if (dladdr((void *)load, &info) == 0 || info.dli_fname == NULL)
			return;
		snprintf(lib, sizeof lib, "%s", info.dli_fname);
		if ((slash = strrchr(lib, '/')) != NULL)
			*slash = '\0';
		snprintf(lib + strlen(lib), sizeof lib - strlen(lib),
		    "/libggml-cpu-haswell.so");
	} else
		snprintf(lib, sizeof lib, "%s/libggml-cpu-haswell.so", dir);
	if (load(lib) == NULL)
		fprintf(stderr, "avx2only: cannot load %s\n", lib);
}
