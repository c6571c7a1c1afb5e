/*
 * deliver.h - delivery of committed events to one output plugin instance
 * (flagsync-plugin(3); poll -> ... -> commit -> DELIVER).
 *
 * This is the delivery loop that runs inside the instance's own process
 * (outproc.h), started and watched by the supervisor (supervise.h).  It
 * loads the one module and initialises it, then reads the event log from
 * the instance's durable cursor (cache.h cursors), skips events its
 * `events` globs do not select, and calls the plugin's deliver():
 *   OK     -> the cursor moves past the event (persisted in batches, so a
 *             crash may deliver again: at least once);
 *   RETRY  -> the same event again after a backoff of 1 s doubling to
 *             5 min, with jitter;
 *   FAIL   -> a dead letter (seq, instance, message, time) and move on.
 * Before each deliver() call it writes the event's seq and the time into
 * the shared scoreboard, so that the supervisor can tell what a crash or
 * a hang was on.  State-replay items (`replay --state`) carry seq 0; a
 * FAIL among them is kept apart and never moves the cursor.  Retention
 * pruning never removes an event an instance has not taken
 * (deliver_prune).
 *
 * Ownership: struct instance owns its loaded plugin and host handle;
 * deliver_close() releases them.  It borrows the cache, the config and
 * the scoreboard, which must outlive it.
 */
#ifndef FLAGSYNC_DELIVER_H
#define FLAGSYNC_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache.h"
#include "config.h"

#define DELIVER_RETRY_BASE_MS	1000
#define DELIVER_RETRY_CAP_MS	(5 * 60 * 1000)
/* `replay --state` requests NAME's state replay under this prefix + NAME
 * in the cursors database. */
#define DELIVER_STATE_PREFIX	"replay-state:"
/* Dead letters of state-replay items live under this prefix + NAME. */
#define DELIVER_STATE_DEAD_PREFIX	"state-replay:"

struct instance;
struct outproc_board;

/*
 * Loads and initialises the instance pcfg.  A module that fails to load
 * or init is refused with a log line naming the file and what is wrong,
 * and recorded in its status: FS_ECONFIG.  Returns 0, FS_ECONFIG or
 * ENOMEM.  wake_fd is the supervisor's pipe (outproc.h).
 */
int	deliver_open(struct instance **out, struct cache *c,
	    const struct config *cfg, const struct config_plugin *pcfg,
	    struct outproc_board *b, int wake_fd);
/* Delivers until the supervisor closes the wake pipe. */
void	deliver_run(struct instance *in);
/* Saves the cursor, shuts the plugin down and frees in (NULL is fine). */
void	deliver_close(struct instance *in);

/* True when a type is selected by an instance's `events` glob list. */
bool	deliver_selects(const char *events, const char *type);

/* A dead letter's JSON text, malloc'd; NULL when out of memory. */
char	*deliver_dead_format(const char *instance, uint64_t seq,
	    const char *msg);
/*
 * Stores a dead letter for (instance, seq) with the message and moves
 * the instance's cursor to cursor in the same transaction (cursor 0:
 * leaves it).  Returns 0 or a cache error.
 */
int	deliver_dead_letter(struct cache *c, const char *instance,
	    uint64_t seq, uint64_t cursor, const char *msg);

/* What an instance's status record ("plugin:NAME") says. */
struct deliver_status {
	const char *state;	/* running retrying stuck crashed refused */
	const char *error;	/* NULL: none */
	bool	 keep_error;	/* error NULL: leave the recorded one */
	const char *module;
	const char *path;	/* NULL: leave as recorded */
	const char *abi;	/* NULL: leave as recorded */
	const char *version;	/* NULL: leave as recorded */
	uint64_t restarts;
	pid_t	 agent_pid;	/* the supervisor's pid */
};

/* Updates the record, keeping what st leaves NULL. */
int	deliver_status_update(struct cache *c, const char *instance,
	    const struct deliver_status *st);

/*
 * Prunes delivered events older than retention_s seconds, never past the
 * lowest cursor of the configured instances.  Returns 0 or a cache error;
 * *pruned gets the count.
 */
int	deliver_prune(struct cache *c, const struct config *cfg,
	    int64_t retention_s, uint64_t *pruned);

#endif
