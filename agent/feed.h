/*
 * feed.h - the Split SDK API's change feed (GET /splitChanges), the way
 * Split's own Synchronizer keeps up with an account without the Admin
 * API's rate limit.
 *
 * A read asks splitChanges?s=1.1&since=CN with the server-side SDK key
 * of one environment (Authorization: Bearer) and follows till until
 * since == till, streaming each answer through feedparse.c, so a first
 * read (since = -1, every flag) is never held in memory.  It reports
 * which flags changed and whether they are archived; the definitions
 * themselves come from the Admin API (poll.c), so that views and events
 * are exactly those of a full listing.
 *
 * Failures: 401/403 -> FS_EAUTH naming the project and the SDK key's
 * sources; 5xx, timeouts and network errors get up to three retries
 * with backoff; an answer that is not the documented shape, a since
 * that is not the one asked, a till that goes back, or more than
 * FEED_MAX_ROUNDS answers in one read -> FS_EPROTO; a redirect is
 * never followed (the SDK key would go with it).
 *
 * Ownership: the client copies its options' strings; a struct
 * feed_change is borrowed for the callback only.
 */
#ifndef FLAGSYNC_FEED_H
#define FLAGSYNC_FEED_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "feedparse.h"

#define FEED_SPEC		"1.1"	/* the legacy shape: enough for names */
#define FEED_MAX_ROUNDS		1000	/* answers one read may follow */
#define FEED_MAX_RETRIES	3

struct feed_options {
	const char *sdk_url;	/* .../api, no trailing slash needed */
	const char *sdk_key;
	const char *project;	/* for messages */
	int	 timeout;
	const char *ca_file;
	int64_t	 backoff_base_ms;	/* 0 = 1000; tests use less */
	volatile sig_atomic_t *cancel;
};

struct feed_client;

int	feed_client_create(struct feed_client **out,
	    const struct feed_options *o);
void	feed_client_free(struct feed_client *fc);

/*
 * Reads every change after since (-1: everything), calling cb for each
 * flag reported, and sets *till to the change number reached.  A flag
 * may be reported more than once (it changed again between two answers,
 * or an answer was retried): the last report is its state.  On any
 * failure the caller must drop what cb saw; err says what happened.
 */
int	feed_read(struct feed_client *fc, int64_t since, feed_change_cb cb,
	    void *arg, int64_t *till, char *err, size_t errlen);

/* Requests made so far. */
uint64_t feed_request_count(const struct feed_client *fc);

#endif
