/*
 * The status bar line.  It is made of parts with priorities; the parts
 * that fit are drawn in their order, the least important dropped first.
 * Meters are ASCII so that terminals which draw ambiguous-width block
 * characters double-wide still line up.
 */
#include "config.h"

#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "fe/text.h"
#include "fe/xmalloc.h"
#include "draw.h"
#include "theme.h"
#include "view.h"
#include "fe/i18n.h"

#define STATUS_PARTS	10
#define STATUS_SEP	" | "

struct status_part {
	char	*text;
	int	 prio;		/* 0 is kept longest */
	int	 slot;		/* theme slot */
	int	 right;		/* drawn at the right end */
	int	 width;
	int	 shown;
};

/* "[####......]" for done of total in cells cells; caller frees. */
char *
status_meter(unsigned done, unsigned total, int cells)
{
	char	*s;
	int	 i, full;

	if (cells < 1)
		cells = 1;
	full = total > 0 ? (int)((double)done / total * cells + 0.5) : 0;
	if (full > cells)
		full = cells;
	s = xmalloc((size_t)cells + 3);
	s[0] = '[';
	for (i = 0; i < cells; i++)
		s[i + 1] = i < full ? '#' : '.';
	s[cells + 1] = ']';
	s[cells + 2] = '\0';
	return s;
}

static void
part(struct status_part *p, int *n, int prio, int slot, int right,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
part(struct status_part *p, int *n, int prio, int slot, int right,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*raw;

	if (*n >= STATUS_PARTS)
		return;
	va_start(ap, fmt);
	xvasprintf(&raw, fmt, ap);
	va_end(ap);
	/* Names from sessions and files: one sanitized line. */
	p[*n].text = text_line(raw);
	free(raw);
	p[*n].prio = prio;
	p[*n].slot = slot;
	p[*n].right = right;
	p[*n].width = view_width(p[*n].text, strlen(p[*n].text));
	p[*n].shown = 0;
	(*n)++;
}

static void
phase_part(struct status_part *p, int *n, const struct status_info *si)
{
	char	*m, eta[32] = "";

	if (si->phase == STATUS_PREFILL && si->pf_total == 0)
		part(p, n, 0, TH_STATUS_KEY, 0, _("reading the prompt, %.0fs"),
		    si->elapsed);
	else if (si->phase == STATUS_PREFILL) {
		m = status_meter(si->pf_done, si->pf_total, 10);
		if (si->eta >= 0)
			snprintf(eta, sizeof eta, _(" ETA %.0fs"), si->eta);
		part(p, n, 0, TH_STATUS_KEY, 0, _("prefill %s %u/%u%s"), m,
		    si->pf_done, si->pf_total, eta);
		free(m);
	} else if (si->phase == STATUS_REPLY)
		part(p, n, 0, TH_STATUS_KEY, 0, _("replying, %u tokens"),
		    si->generated);
}

/* Draw the status bar on row y, w columns wide. */
void
status_draw(int y, int w, const struct status_info *si)
{
	struct status_part	 p[STATUS_PARTS];
	char			*m;
	int			 n = 0, i, prio, used, x, sepw, any = 0;

	sepw = (int)strlen(STATUS_SEP);
	phase_part(p, &n, si);
	part(p, &n, 1, TH_STATUS, 0, _("temp %.2f top-p %.2f"),
	    si->temperature, si->top_p);
	if (si->ctx_total > 0) {
		m = status_meter(si->ctx_used, si->ctx_total, 6);
		part(p, &n, 3, TH_STATUS, 0, _("ctx %s %u/%u"), m,
		    si->ctx_used, si->ctx_total);
		free(m);
	}
	if (si->system_unused)
		part(p, &n, 2, TH_STATUS, 0, _("sys %s (unused)"),
		    si->system != NULL ? si->system : "-");
	else
		part(p, &n, 2, TH_STATUS, 0, _("sys %s"), si->system != NULL ?
		    si->system : "-");
	part(p, &n, 5, TH_STATUS, 0, "%s", si->model != NULL ? si->model :
	    "?");
	if (si->tps >= 0 && si->phase == STATUS_IDLE)
		part(p, &n, 4, TH_STATUS, 0, _("%.1f t/s"), si->tps);
	part(p, &n, 7, TH_STATUS, 0, _("tmpl %s"), si->tmpl != NULL ?
	    si->tmpl : "?");
	if (si->demo && si->flash == NULL)
		part(p, &n, 6, TH_STATUS_KEY, 0, "%s", _("F3/F4 temp"));
	if (si->flash != NULL)
		part(p, &n, 0, TH_STATUS_KEY, 1, "%s", si->flash);
	else if (si->demo)
		part(p, &n, 4, TH_STATUS_KEY, 1, "%s",
		    _("demo model: use -m FILE.gguf  F1 help"));
	else
		part(p, &n, 6, TH_STATUS_KEY, 1, "%s",
		    _("F1 help F2 system F3/F4 temp"));

	/* Take parts by priority while they fit. */
	used = 1;
	for (prio = 0; prio <= 7; prio++)
		for (i = 0; i < n; i++) {
			if (p[i].prio != prio)
				continue;
			if (used + p[i].width + (any ? sepw : 0) <= w) {
				used += p[i].width + (any ? sepw : 0);
				p[i].shown = 1;
				any = 1;
			}
		}
	draw_fill(y, 0, w, theme_attr(TH_STATUS));
	x = 1;
	any = 0;
	for (i = 0; i < n; i++) {
		if (!p[i].shown || p[i].right)
			continue;
		if (any)
			x += draw_str(y, x, w - x, STATUS_SEP, sepw,
			    theme_attr(TH_STATUS));
		x += draw_str(y, x, w - x, p[i].text, strlen(p[i].text),
		    theme_attr(p[i].slot));
		any = 1;
	}
	for (i = 0; i < n; i++)
		if (p[i].shown && p[i].right) {
			int	rx = w - p[i].width - 1;

			if (rx < x + (any ? sepw : 0))
				rx = x + (any ? sepw : 0);
			draw_str(y, rx, w - rx, p[i].text, strlen(p[i].text),
			    theme_attr(p[i].slot));
		}
	for (i = 0; i < n; i++)
		free(p[i].text);
}
