/*
 * supervise.h - the supervisor of the output plugin instances (isolation
 * and SIGHUP, flagsync(8)), in the manner of Postfix's master: each
 * [plugin NAME] instance runs in its own process (outproc.h), and this
 * side only starts, wakes, watches and stops them.
 *
 *   - A process that dies is logged with its instance, module, the seq
 *     it was delivering and the signal, and restarted with backoff (the
 *     delivery retry schedule).  The crashes on one event are counted in
 *     the cache ("crash-seq:NAME", "crash-count:NAME" in the cursors
 *     database), so a crash loop ends across agent restarts too: at the
 *     third, the event is dead-lettered ("crashed 3 times") and the
 *     cursor moves past it.
 *   - A deliver() running past the instance's `timeout` is reported
 *     stuck; after a grace the process is killed (SIGKILL: nothing is
 *     left behind) and that counts as a crash on the event.
 *   - A reload keeps the processes of unchanged sections untouched,
 *     stops changed and removed ones (waiting until they exited) before a
 *     successor starts: never two deliverers for one instance.
 * A watcher thread reaps and restarts; it only forks and execs, so the
 * process image of an instance never shares state with this one.
 *
 * Ownership: struct supervisor borrows the cache and the config, which
 * must outlive it (or, for the config, the next supervise_reload());
 * supervise_stop() ends every process, then frees it.
 */
#ifndef FLAGSYNC_SUPERVISE_H
#define FLAGSYNC_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "config.h"

#define SUPERVISE_CRASH_MAX	3	/* crashes on one event: dead letter */
#define SUPERVISE_GRACE_MS	5000	/* stuck -> kill; stop -> kill */
#define SUPERVISE_CRASH_SEQ	"crash-seq:"
#define SUPERVISE_CRASH_COUNT	"crash-count:"

struct supervisor;

/*
 * Starts one process per instance of cfg (log_level for theirs).
 * Returns 0, ENOMEM or the errno of a failed pthread/memfd call.
 */
int	supervise_start(struct supervisor **out, struct cache *c,
	    const struct config *cfg, int log_level);
/* New events were committed: wake every instance. */
void	supervise_notify(struct supervisor *s);
/* SIGHUP: each instance's reopen() runs before its next delivery. */
void	supervise_reopen(struct supervisor *s);
/*
 * Waits until every instance not refused has taken every event committed
 * before the call (state replays included), or timeout_ms passes.
 * Returns 0 or FS_ETIMEOUT (log lines name the instances that fell
 * short).
 */
int	supervise_wait_idle(struct supervisor *s, int64_t timeout_ms);
/* Instances whose module could not be loaded or initialised. */
size_t	supervise_refused(struct supervisor *s);
/* Crashes and kills since the start. */
uint64_t supervise_crashes(struct supervisor *s);
/*
 * Takes ncfg: unchanged instances keep their process, changed and
 * removed ones are stopped (waited for, killed after the grace) before
 * successors start.  The previous config may be freed on return.
 */
void	supervise_reload(struct supervisor *s, const struct config *ncfg);
/* Stops every process (killed after grace_ms) and frees s. */
void	supervise_stop(struct supervisor *s, int64_t grace_ms);

/*
 * A digest of what an instance's process reads from the configuration,
 * secrets aside (it is passed on the command line).
 */
uint64_t supervise_digest(const struct config *cfg,
	    const struct config_plugin *pcfg);

#endif
