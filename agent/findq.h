/*
 * findq.h - `flagsync findings` and the findings report of `export`
 * (flagsync(8)): the open and last-closed findings the cache holds,
 * oldest first.  Read-only, like every query.
 */
#ifndef FLAGSYNC_FINDQ_H
#define FLAGSYNC_FINDQ_H

#include <stdbool.h>

#include <json-c/json.h>

#include "buf.h"
#include "cache.h"
#include "query.h"

struct findq_args {
	const char *type;	/* glob on the finding type; NULL: all */
	bool	 open;		/* list open ones */
	bool	 closed;	/* list closed ones */
};

/*
 * `findings --json`: an array of {"finding", "project", "flag", "issue"
 * (or null), "state" ("open" | "closed"), "since", "opened", "closed"
 * (or null), "days"}, oldest first.  Appended to out; 0 or an errno /
 * FS_E* code.
 */
int	findq_doc(struct cache_txn *t, const struct findq_args *a, int64_t now,
	    struct buf *out);

/* The same document in a read transaction of its own on c (safe from
 * any thread: GET /v1/findings). */
int	findq_doc_cache(struct cache *c, const struct findq_args *a,
	    struct buf *out);

/* The open findings by type, every type present (0 when none), as a
 * new object in *out: `status --json` and /metrics. */
int	findq_open_counts(struct cache_txn *t, json_object **out);

/* The command: [--type GLOB] [--open|--closed]; an exit status. */
int	query_findings(struct query *q, int argc, char **argv);

/* `export --findings`: the report as JSON (the findings document) or CSV
 * rows; an exit status. */
int	findq_export(struct query *q, bool csv);

#endif
