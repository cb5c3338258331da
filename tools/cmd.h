/*
 * Subcommands of yangtuo that work on a model directly (no front end,
 * no pipe): engine checks (run, eval, info), the tokenizer (tokenize),
 * quantize, bench and perplexity, one file each in tools/.  Each takes
 * argv from the command's name on, accepts --help and returns the exit
 * status.
 */
#ifndef YT_TOOLS_CMD_H
#define YT_TOOLS_CMD_H

int	cmd_run(int argc, char **argv);
int	cmd_eval(int argc, char **argv);
int	cmd_info(int argc, char **argv);
int	cmd_tokenize(int argc, char **argv);
int	cmd_quantize(int argc, char **argv);
int	cmd_bench(int argc, char **argv);
int	cmd_perplexity(int argc, char **argv);

#endif
