/*
 * Where yangtuo's read-only data is (the demo model, the themes): the
 * folder $YANGTUO_DATADIR names, the installed $(pkgdatadir), and for a
 * build run in its source folder, the folder of the binary.  No build
 * path is compiled in.
 */
#ifndef YT_FE_DATADIR_H
#define YT_FE_DATADIR_H

/* The data folders in lookup order, NULL-terminated; caller frees with
 * datadir_free(). */
char	**datadir_list(void);
/* The folder of the running binary, or NULL; caller frees. */
char	 *datadir_exe(void);
void	  datadir_free(char **);
/* The first file that exists as DIR/name, or else DIR/alt (the source
 * tree's layout; alt may be NULL), over the data folders in order; NULL
 * if none.  Caller frees. */
char	 *datadir_find(const char *name, const char *alt);

#endif
