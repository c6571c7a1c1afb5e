/*
 * query.h - the read-only commands (flags, flag, issue, events, status,
 * export).  They open the cache read-only, never touch the network, and
 * work while a sync or the daemon writes.  Each returns an exit status.
 */
#ifndef FLAGSYNC_QUERY_H
#define FLAGSYNC_QUERY_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "buf.h"
#include "cache.h"
#include "config.h"

struct query {
	const struct config *cfg;
	struct cache *c;	/* opened read-only by the caller */
	int	 json;		/* --json */
	FILE	*out;
	volatile sig_atomic_t *stop;	/* ends events --follow */
};

/*
 * The commands.  q->c may be NULL for query_status() alone: before the
 * first sync it reports every configured source as never polled.
 */
int	query_flags(struct query *q, int argc, char **argv);
int	query_flag(struct query *q, int argc, char **argv);
int	query_issue(struct query *q, int argc, char **argv);
int	query_events(struct query *q, int argc, char **argv);
int	query_status(struct query *q, int argc, char **argv);
int	query_export(struct query *q, int argc, char **argv);
int	query_plugins(struct query *q, int argc, char **argv);

/*
 * The --json documents (flagsync(8)), each appended to out exactly as the
 * CLI prints it: the CLI and the HTTP API (httpd.h) build them through
 * these functions and no other code, so both serve the same bytes.  Each
 * opens its own read transaction on c (safe from any thread) and returns
 * 0, an errno value (EFBIG when out's cap is reached) or an FS_E* code.
 */
struct query_flags_args {
	const char *project;	/* NULL: every project */
	int	 killed, active, linked, unlinked;
};

/* `flags --json`: an array of flag views. */
int	query_doc_flags(struct cache *c, const struct query_flags_args *a,
	    struct buf *out);

/* `flag NAME [--project P] --json`: the view with its recent "events".
 * FS_ENOTFOUND (no such flag) or EINVAL (several projects hold it and
 * project is NULL) come with one line in err. */
int	query_doc_flag(const struct config *cfg, struct cache *c,
	    const char *name, const char *project, struct buf *out, char *err,
	    size_t errlen);

/* `issue KEY --json`; *count is the number of flags linked (0 still
 * writes the document; the CLI then exits 1). */
int	query_doc_issue(struct cache *c, const char *key, struct buf *out,
	    size_t *count);

/* `events --json`'s options, as the words given (NULL: not given). */
struct query_events_args {
	const char *since;	/* SEQ or TIME */
	const char *limit;
	const char *flag, *issue, *type, *project;
};

/* JSON Lines, one event per line.  EINVAL with err for a bad since or
 * limit.  *last (may be NULL) gets the newest seq, for --follow. */
int	query_doc_events(struct cache *c, const struct query_events_args *a,
	    struct buf *out, uint64_t *last, char *err, size_t errlen);

/*
 * `status --json`: per source its status record with "last_poll",
 * "last_ok", "duration" and, for configured sources, "healthy" (a
 * configured source never polled gets a row with "never_polled": true);
 * "healthy" overall and the "problems" that make it false; counts of
 * flags, links, issues; events first, last and "by_type"; the `plugins`
 * rows.  c may be NULL (no cache yet).  query_status_json() gives the
 * object (the caller puts it), query_doc_status() its text.
 */
int	query_status_json(const struct config *cfg, struct cache *c,
	    json_object **out);
int	query_doc_status(const struct config *cfg, struct cache *c,
	    struct buf *out);

/*
 * The documents the CLI prints and the plugin host API answers with, from
 * an open read transaction: a flag view with "issues" (flagsync(8)), and
 * {"issue", "count", "active", "flags"} for an issue.  *out is a new
 * object the caller puts.  0, FS_ENOTFOUND (no such flag), or an error.
 */
int	query_flag_json(struct cache_txn *t, const char *project,
	    const char *flag, json_object **out);
int	query_issue_json(struct cache_txn *t, const char *issue,
	    json_object **out);

/* One CSV field of `export --format csv` (escaped like a table cell,
 * quoted when it holds ',' or '"'), then ',' or, when last, a newline. */
void	query_csv_field(FILE *out, const char *s, int last);

#endif
