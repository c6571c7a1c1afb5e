/*
 * source.h - link sources (SPEC §3) behind one interface.
 *
 * Each cycle a source yields the complete set of links it holds within its
 * scope, or fails.  The commit replaces only the links of the sources that
 * succeeded, so a source that fails (network, auth, bad data) keeps its
 * previous links: an outage never reads as "all links removed".
 *
 * Standalone sources (file; jira-field comes with the Jira client) gather
 * on their own through struct source and are listed in
 * sources[].  The Split-derived sources, split-tag and
 * split-description, are read from a project's flag listing by poll.c,
 * scoped to that project, and succeed or fail with its poll.  local is not
 * polled: `flagsync link/unlink` edit it directly (commit.h edits).
 */
#ifndef FLAGSYNC_SOURCE_H
#define FLAGSYNC_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "keys.h"
#include "linkset.h"

struct source_env {
	const struct config *cfg;
	const struct keys *keys;	/* issue_key_pattern */
	volatile sig_atomic_t *cancel;
};

struct source {
	enum link_source id;
	const char *status_name;	/* its `status` row, e.g. "file" */
	const char *scope;		/* NULL: links of every project */
	bool	(*enabled)(const struct config *cfg);
	/*
	 * Adds the source's links to out (project, flag, issue).  Returns 0,
	 * or an error with one line in err; on error out is left as it was.
	 * May do network I/O; never called inside a cache transaction.
	 */
	int	(*gather)(const struct source_env *env, struct linkset *out,
		    char *err, size_t errlen);
};

/* The standalone sources, NULL-terminated. */
extern const struct source *const sources[];

#endif
