/*
 * deliver.h - delivery of committed events to output plugin instances
 * (SPEC §7; poll -> ... -> commit -> DELIVER).
 *
 * Each configured [plugin NAME] instance is loaded (loader.h), initialised,
 * and given its own worker thread.  The worker reads the event log from the
 * instance's durable cursor (cache.h cursors), skips events its `events`
 * globs do not select, and calls the plugin's deliver():
 *   OK     -> the cursor moves past the event (persisted in batches, so a
 *             crash may deliver again: at least once);
 *   RETRY  -> the same event again after a backoff of 1 s doubling to
 *             5 min, with jitter, without blocking other instances;
 *   FAIL   -> a dead letter (seq, instance, message, time) and move on.
 * A deliver() call running past the instance's `timeout` is reported in
 * the instance's status record ("stuck"); other instances and the poller
 * carry on.  Retention pruning never removes an event an instance has not
 * taken (deliver_prune).
 *
 * Ownership: struct deliver owns the loaded plugins, their threads and
 * host handles; deliver_stop() releases them.  It borrows the cache and
 * the config, which must outlive it.
 */
#ifndef FLAGSYNC_DELIVER_H
#define FLAGSYNC_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "config.h"

#define DELIVER_RETRY_BASE_MS	1000
#define DELIVER_RETRY_CAP_MS	(5 * 60 * 1000)

struct deliver;

/*
 * Loads and initialises every configured instance and starts its worker.
 * An instance that fails to load or init is refused with a log line
 * naming the file and what is wrong, and recorded in its status; the
 * others start.  Returns 0 (even when some instance was refused; see
 * deliver_refused()), ENOMEM, or the errno of a failed pthread_*_init().
 */
int	deliver_start(struct deliver **out, struct cache *c,
	    const struct config *cfg);
/* Instances that could not be started. */
size_t	deliver_refused(const struct deliver *d);
/* New events were committed: wake the workers now. */
void	deliver_notify(struct deliver *d);
/* SIGHUP: each instance's reopen() runs before its next delivery. */
void	deliver_reopen(struct deliver *d);
/*
 * Waits until every running instance has taken every event up to the
 * newest seq, or timeout_ms passes.  Returns 0 when all is delivered,
 * FS_ETIMEOUT otherwise (log lines name the instances that fell short).
 */
int	deliver_wait_idle(struct deliver *d, int64_t timeout_ms);
/*
 * Stops the workers: each finishes (or abandons, after grace_ms) its
 * current call, persists its cursor and shuts its plugin down.  A worker
 * stuck inside deliver() past grace_ms is left behind (its cursor is
 * already durable) and the process may exit.  Frees d, unless a worker
 * was left behind.  Returns how many were: while any runs, the config
 * deliver_start() was given must not be freed.
 */
size_t	deliver_stop(struct deliver *d, int64_t grace_ms);

/* True when a type is selected by an instance's `events` glob list. */
bool	deliver_selects(const char *events, const char *type);

/*
 * Prunes delivered events older than retention_s seconds, never past the
 * lowest cursor of the configured instances.  Returns 0 or a cache error;
 * *pruned gets the count.
 */
int	deliver_prune(struct cache *c, const struct config *cfg,
	    int64_t retention_s, uint64_t *pruned);

#endif
