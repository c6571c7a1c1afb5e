/*
 * poll.h - one poll cycle: fetch every source, normalise, compare with the
 * cache, and commit what changed (poll -> normalise -> diff -> commit).
 *
 * For each [project]: resolve the workspace and environment, list the
 * flags (ids, tags, descriptions), then stream the primary environment's
 * definitions page by page.  Each flag's new view record is compared byte
 * for byte with the cached one outside any write transaction; only
 * differing records, flags that vanished, and the link sets of the sources
 * that succeeded go into the changeset.  A project whose poll fails
 * contributes nothing (its flags and its split-tag / split-description
 * links stay as they were) and its status records the error.  The file
 * source likewise keeps its previous links when links.yaml is bad.
 *
 * Single bad items (a flag, tag or issue key Split gives that cannot be
 * stored) are skipped and named in the project's status; a listing that
 * would delete more than half of a project's flags is held back until
 * the next poll confirms it (see ARCHITECTURE, "held deletions").
 *
 * The cycle then commits once (commit.h).  The time of each source's last
 * poll is kept outside LMDB, in STATE_DIR/polls.json, so that a poll that
 * changed nothing writes nothing to the cache.
 */
#ifndef FLAGSYNC_POLL_H
#define FLAGSYNC_POLL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "commit.h"
#include "config.h"

struct poll_report {
	size_t	 sources;		/* sources polled */
	size_t	 failed;		/* of which failed */
	uint64_t requests;		/* Admin API requests made */
	uint64_t sdk_requests;		/* change feed requests made */
	size_t	 flags_seen;		/* flags listed, all projects */
	size_t	 changed;		/* records that differed */
	struct commit_result commit;
};

/*
 * Runs one cycle.  Returns 0 when every source was polled and the commit
 * succeeded; FS_EPARTIAL-like failure is reported as the first source's
 * error code (the commit of the others still happened); a commit failure
 * returns the cache's error.  Progress and errors are logged.
 */
int	poll_cycle(const struct config *cfg, struct cache *c,
	    volatile sig_atomic_t *cancel, struct poll_report *rep);

/* STATE_DIR/polls.json: per source {"time", "ok", "error", "last_ok",
 * "duration"} of the last poll ("last_ok": when it last succeeded, null if
 * never; "duration": seconds its poll took).  Returns a new json text
 * (caller frees) or NULL if absent. */
char	*poll_read_stamps(const char *state_dir);

#endif
