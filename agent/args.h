/*
 * args.h - command arguments: "--name value", "--name=value", flags and
 * positionals, in any order.  Errors print one usage line to stderr.
 */
#ifndef FLAGSYNC_ARGS_H
#define FLAGSYNC_ARGS_H

#include <stddef.h>

struct arg_opt {
	const char *name;	/* "--project" */
	int	 takes_value;
	const char **value;	/* set when takes_value; borrowed from argv */
	int	*seen;		/* set to 1 when present; may be NULL */
};

/*
 * Parses argv[0..argc) of command cmd against opts (terminated by a
 * zeroed entry).  Positionals go to pos (at most maxpos).  Returns 0, or
 * 2 (the usage exit status) after printing what was wrong.
 */
int	args_parse(const char *cmd, int argc, char **argv,
	    const struct arg_opt *opts, char **pos, size_t maxpos,
	    size_t *npos);

#endif
