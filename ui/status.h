/*
 * The status bar: model, template, system prompt, sampling, a context
 * meter and the speed of the last reply; a progress bar with an ETA
 * while the prompt is evaluated.  Parts are dropped by priority when the
 * terminal is narrow.
 */
#ifndef YT_UI_STATUS_H
#define YT_UI_STATUS_H

enum status_phase {
	STATUS_IDLE,
	STATUS_PREFILL,
	STATUS_REPLY
};

struct status_info {
	const char	*model;
	const char	*tmpl;
	const char	*system;
	int		 system_unused;	/* the model has no place for it */
	float		 temperature;
	float		 top_p;
	unsigned	 ctx_used;
	unsigned	 ctx_total;
	double		 tps;		/* of the last reply; < 0: none */
	int		 phase;
	unsigned	 pf_done;
	unsigned	 pf_total;
	double		 eta;		/* seconds left; < 0: unknown */
	double		 elapsed;	/* since the request */
	unsigned	 generated;
	const char	*flash;		/* a passing message, or NULL */
	int		 demo;		/* the bundled demo model */
};

void	status_draw(int y, int w, const struct status_info *);
char	*status_meter(unsigned done, unsigned total, int cells);

#endif
