/*
 * query.h - the read-only commands (flags, flag, issue, events, status,
 * export).  They open the cache read-only, never touch the network, and
 * work while a sync or the daemon writes.  Each returns an exit status.
 */
#ifndef FLAGSYNC_QUERY_H
#define FLAGSYNC_QUERY_H

#include <signal.h>
#include <stdio.h>

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

#endif
