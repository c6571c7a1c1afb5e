/*
 * query.h - the read-only commands (flags, flag, issue, events, status,
 * export).  They open the cache read-only, never touch the network, and
 * work while a sync or the daemon writes.  Each returns an exit status.
 */
#ifndef FLAGSYNC_QUERY_H
#define FLAGSYNC_QUERY_H

#include <signal.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cache.h"
#include "config.h"

struct query {
	const struct config *cfg;
	struct cache *c;	/* opened read-only by the caller */
	int	 json;		/* --json */
	FILE	*out;
	volatile sig_atomic_t *stop;	/* ends events --follow */
};

int	query_flags(struct query *q, int argc, char **argv);
int	query_flag(struct query *q, int argc, char **argv);
int	query_issue(struct query *q, int argc, char **argv);
int	query_events(struct query *q, int argc, char **argv);
int	query_status(struct query *q, int argc, char **argv);
int	query_export(struct query *q, int argc, char **argv);
int	query_plugins(struct query *q, int argc, char **argv);

/*
 * The documents the CLI prints and the plugin host API answers with, from
 * an open read transaction: a flag view with "issues" (SPEC §4), and
 * {"issue", "count", "active", "flags"} for an issue.  *out is a new
 * object the caller puts.  0, FS_ENOTFOUND (no such flag), or an error.
 */
int	query_flag_json(struct cache_txn *t, const char *project,
	    const char *flag, json_object **out);
int	query_issue_json(struct cache_txn *t, const char *issue,
	    json_object **out);

#endif
