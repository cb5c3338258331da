/*
 * Messages for translation (gettext): _() translates now, N_() marks a
 * string that is translated where it is used.  For the front ends only:
 * the engine never translates (its errors are codes and untranslated
 * details).  Include after config.h, which says whether NLS is on.
 */
#ifndef YT_FE_I18N_H
#define YT_FE_I18N_H

#if ENABLE_NLS
#include <libintl.h>
#define _(s)	gettext(s)
#else
#define _(s)	(s)
#endif
#define N_(s)	(s)

#endif
