/*
 * issuestatus.h - the Jira status of every linked issue (flagsync(8)).
 *
 * Each cycle, with [jira] configured, issuestatus_poll() reads summary,
 * status name, status category and resolution date of every issue that
 * has at least one link (in the cache, or added by this cycle's
 * changeset) with "key in (...)" searches of ISSUESTATUS_KEYS_MAX keys,
 * asking only for those fields, and adds a record per changed issue to
 * the cycle's changeset (commit.h), so statuses commit with the cycle.
 *
 *   - Jira's 400 naming keys that do not exist or cannot be seen: those
 *     issues are missing, and the search is repeated without them.
 *   - An issue the search does not return while others of its search
 *     come back is missing too.  A search that returns none of its keys
 *     without naming them, and any failed search (network, 5xx, 401...),
 *     fail the whole read: nothing is added and every previous status
 *     stays (an outage never reads as "all issues missing").
 *   - A missing issue keeps its last summary and status, flagged missing.
 *   - category_since: Jira's statuscategorychangedate when it gives one,
 *     else when flagsync first saw the issue in its category, kept across
 *     cycles.  seen: when flagsync first read the issue.
 *   - A record whose issue is no longer linked is deleted once a read
 *     succeeds.  An unchanged status adds nothing: a quiet cycle writes no
 *     byte.
 *
 * The read API (issuestatus_get/foreach) serves queries and the findings
 * engine; it runs in any cache transaction and does no network I/O.
 *
 * Ownership: struct issue_status holds its strings (fixed buffers; longer
 * ones are cut at a UTF-8 character boundary).
 */
#ifndef FLAGSYNC_ISSUESTATUS_H
#define FLAGSYNC_ISSUESTATUS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cache.h"
#include "commit.h"
#include "config.h"
#include "maxlen.h"

#define ISSUESTATUS_KEYS_MAX	100	/* keys a search names: maxResults */
#define ISSUESTATUS_SUMMARY_MAX	1024	/* bytes kept (Jira: 255 characters) */
#define ISSUESTATUS_NAME_MAX	255	/* bytes of a status name kept */
#define ISSUESTATUS_CAT_MAX	31	/* a category key: new, done... */
#define ISSUESTATUS_SOURCE	"jira-status"	/* its `status` row */

struct issue_status {
	char	 key[FS_ISSUE_MAX + 1];
	char	 summary[ISSUESTATUS_SUMMARY_MAX + 1];
	char	 status[ISSUESTATUS_NAME_MAX + 1];	/* "In Review" */
	/* Jira's statusCategory key: "new", "indeterminate", "done" (or
	 * "undefined"); "" when never read (missing from the start) */
	char	 category[ISSUESTATUS_CAT_MAX + 1];
	int64_t	 resolved;		/* resolutiondate, ms; 0 none */
	int64_t	 category_since;	/* ms; 0 when category is "" */
	int64_t	 seen;			/* first read, ms */
	int64_t	 missing_since;		/* ms; 0 while Jira returns it */
	bool	 missing;		/* does not exist or cannot be seen */
};

/* The issue's record: 0, FS_ENOTFOUND (never read), FS_EDAMAGED. */
int	issuestatus_get(struct cache_txn *t, const char *key,
	    struct issue_status *out);

/* Every record in key order; a non-zero return from cb stops the walk
 * and is returned.  st is valid during the call only. */
typedef int (*issuestatus_cb)(void *arg, const struct issue_status *st);
int	issuestatus_foreach(struct cache_txn *t, issuestatus_cb cb,
	    void *arg);

/* Whether its status category is Done. */
bool	issuestatus_is_done(const struct issue_status *st);

/* The record's bytes (appended to out) and back: 0, ENOMEM, FS_EDAMAGED. */
int	issuestatus_encode(const struct issue_status *st, struct buf *out);
int	issuestatus_decode(const char *key, const void *rec, size_t len,
	    struct issue_status *out);

/*
 * The new record of an issue from the old one (NULL: none) and what Jira
 * said (jira NULL: missing), at time now.  jira->category_since is
 * Jira's statuscategorychangedate, or 0.
 */
void	issuestatus_merge(const struct issue_status *old,
	    const struct issue_status *jira, const char *key, int64_t now,
	    struct issue_status *out);

struct issuestatus_report {
	size_t	 issues;	/* linked issues read */
	size_t	 missing;	/* of which missing */
	size_t	 changed;	/* records added to the changeset */
	uint64_t requests;	/* Jira requests made */
};

/* Whether the read runs: [jira] is configured. */
bool	issuestatus_enabled(const struct config *cfg);

/*
 * The cycle's read (above), at time cs->time.  0, or an error with one
 * line in err, and then nothing is added to cs.  rep may be NULL.  Never
 * called inside a cache transaction.
 */
int	issuestatus_poll(const struct config *cfg, struct cache *c,
	    struct changeset *cs, volatile sig_atomic_t *cancel,
	    struct issuestatus_report *rep, char *err, size_t errlen);

#endif
