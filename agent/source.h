/*
 * source.h - link sources (flagsync.ini(5)) behind one interface.
 *
 * Each cycle a source yields the complete set of links it holds within its
 * scope, or fails.  The commit replaces only the links of the sources that
 * succeeded, so a source that fails (network, auth, bad data) keeps its
 * previous links: an outage never reads as "all links removed".
 *
 * Standalone sources (file, jira-field) gather on their own through
 * struct source and are listed in sources[].  The Split-derived sources,
 * split-tag and split-description, are read from a project's flag listing
 * by poll.c, scoped to that project, and succeed or fail with its poll.
 * local is not polled: `flagsync link/unlink` edit it directly (commit.h
 * edits).
 *
 * jira-field runs a JQL search for the issues whose [links] jira_field is
 * not empty and reads flag names from that field (`flag` or
 * `project/flag`).  A name matching no existing flag is not an error: it
 * is listed in the source's status as "unmatched" ("SHOP-3: nope"),
 * sorted, at most SOURCE_UNMATCHED_MAX of them ("unmatched_more" counts
 * the rest).  So is a name too long for a flag or project (maxlen.h),
 * with the reason.  Names are listed escaped (utf8_vis()) and cut at
 * SOURCE_SHOWN_MAX bytes; invalid UTF-8 from Jira becomes U+FFFD.
 * With [links] jira_create, a name matching no flag that create_where()
 * places is handed over in env->create instead (create.h); one it cannot
 * place (no such project, several projects for a bare name, Split's
 * naming rule) stays unmatched with the reason, and is a "skipped" row.
 *
 * jira_field may be a field's id (customfield_10050, labels) or its
 * display name ("Feature flags"): a name is resolved to the id of the one
 * custom field of that name through GET /rest/api/3/field, once for the
 * process; none or several fail the source with the candidates named.
 */
#ifndef FLAGSYNC_SOURCE_H
#define FLAGSYNC_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "cache.h"
#include "commit.h"
#include "config.h"
#include "create.h"
#include "keys.h"
#include "linkset.h"

#define SOURCE_UNMATCHED_MAX	100	/* names a status record lists */
#define SOURCE_SHOWN_MAX	80	/* bytes of a name it quotes */

/*
 * Which flags exist is what the cache holds, as this cycle's changeset
 * (the projects are polled first) amends it: a flag created in Split this
 * cycle exists, one deleted this cycle does not.  Sources only read both.
 */
struct source_env {
	const struct config *cfg;
	const struct keys *keys;	/* issue_key_pattern */
	struct cache *c;		/* read transactions only */
	const struct changeset *cs;	/* may be NULL */
	volatile sig_atomic_t *cancel;
	/* [links] jira_create (create.h): where jira-field hands over the
	 * names it could create instead of listing them; NULL: off. */
	struct create_list *create;
};

struct source {
	enum link_source id;
	const char *status_name;	/* its `status` row, e.g. "file" */
	const char *scope;		/* NULL: links of every project */
	bool	(*enabled)(const struct config *cfg);
	/*
	 * Adds the source's links to out (project, flag, issue).  Returns 0,
	 * or an error with one line in err; on error out is left as it was.
	 * details is an empty JSON object, owned by the caller, that the
	 * source may add keys to; when it succeeds they join its status
	 * record beside "ok", "error", "since" and "links" (names it must
	 * not use).  May do network I/O; never called inside a cache
	 * transaction.
	 */
	int	(*gather)(const struct source_env *env, struct linkset *out,
		    json_object *details, char *err, size_t errlen);
};

/* The standalone sources, NULL-terminated. */
extern const struct source *const sources[];

#endif
