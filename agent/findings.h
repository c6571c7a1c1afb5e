/*
 * findings.h - flag-hygiene findings (flagsync(8)), evaluated from the cache
 * alone after every cycle, inside the cycle's commit transaction.
 *
 * A finding is (type, project, flag, issue or none).  findings_eval()
 * works out which hold now, compares them with the open ones stored in
 * the cache's findings database, and records each change as a
 * finding.opened / finding.closed event through the caller's emit
 * function, in the same transaction.  Records (keys of string parts):
 *   "o" TYPE PROJECT FLAG ISSUE|"-" -> struct finding_rec   open
 *   "c" TYPE PROJECT FLAG ISSUE|"-" -> struct finding_rec   last closed
 *   "s" PROJECT FLAG -> the timed state a flag is in (fully rolled out,
 *       killed) and since when: the time of the event that put it there
 *   "m" -> what the last evaluation saw (last seq, next due time, the
 *       settings), so that a cycle in which nothing changed and nothing
 *       fell due costs a lookup, not a walk of every flag
 * An open finding is never opened twice: a restart reads it back.
 *
 * Ownership: findings_eval() copies what it keeps; the caller owns conf
 * and everything handed in.
 */
#ifndef FLAGSYNC_FINDINGS_H
#define FLAGSYNC_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "event.h"

enum finding_type {
	FINDING_DONE_BUT_PARTIAL,
	FINDING_FULLY_ROLLED_OUT,
	FINDING_KILLED_LONG,
	FINDING_UNLINKED,
	FINDING_ISSUE_MISSING,
	FINDING_FLAG_GONE,
	FINDING_COUNT
};

#define FINDING_DONE_GRACE	(14 * 86400)	/* seconds */
#define FINDING_STALE_AFTER	(30 * 86400)

/* What [findings] says; the config owns ignore. */
struct findings_conf {
	int64_t	 done_grace;	/* seconds */
	int64_t	 stale_after;	/* seconds */
	const char *ignore;	/* glob list of types, or NULL */
};

/* "done-but-partial" ...; NULL past the end. */
const char *finding_type_name(enum finding_type t);
/* Whether glob matches at least one type (a typo in ignore must not
 * silently match nothing). */
bool	finding_glob_known(const char *glob);
/* Whether the list of globs (comma or space separated) names type. */
bool	finding_ignored(const char *ignore, const char *type);

/* Stored value of an open or closed finding. */
struct finding_rec {
	int64_t	 since;		/* ms: when it began to hold */
	int64_t	 opened;	/* ms: when it was opened */
	int64_t	 closed;	/* ms: when it was closed; 0 while open */
};

/*
 * Called for each finding event, with ev filled in but for seq and time;
 * it must number, format and store it (commit.c's emit).
 */
typedef int (*findings_emit_fn)(void *arg, struct event *ev);

/*
 * Evaluates the findings in t at time now (ms) and records what changed.
 * changed says the cycle changed what no event records (an issue's Jira
 * status): evaluate even when no event came and nothing fell due.  0 or
 * an errno / FS_E* code; on error the caller aborts the transaction.
 */
int	findings_eval(struct cache_txn *t, const struct findings_conf *conf,
	    int64_t now, bool changed, findings_emit_fn emit, void *arg);

/* One stored finding, for queries. */
struct finding {
	enum finding_type type;
	const char *project;
	const char *flag;
	const char *issue;	/* NULL when none */
	struct finding_rec rec;
	bool	 open;
};
typedef int (*findings_cb)(void *arg, const struct finding *f);
/* The open (open true) or last-closed findings in key order. */
int	findings_foreach(struct cache_txn *t, bool open, findings_cb cb,
	    void *arg);
/* The open findings of one flag (any issue or none), by type. */
int	findings_foreach_flag(struct cache_txn *t, const char *project,
	    const char *flag, findings_cb cb, void *arg);

#endif
