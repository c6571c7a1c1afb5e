/*
 * recover.h - keeping what only this host has across a rebuild of the
 * cache: the local links (`flagsync link`) and the event history.
 * Everything else in the cache comes back from Split and the other link
 * sources with one sync.
 *
 * Local links travel as JSON Lines, one {"project","flag","issue"} a
 * line.  recover_links_export() writes the links that hold the local
 * source bit; recover_links_import() adds such lines back as local link
 * edits, in one commit, each making its link.added event as `flagsync
 * link` does.
 *
 * recover_rebuild() is the whole procedure: under the writer lock it
 * moves data.mdb, lock.mdb and polls.json into a new directory
 * STATE_DIR/damaged-TIME (never deleting anything), salvages the local
 * links and the events the old cache still yields into that directory
 * (in a child process, since a damaged page may fault), syncs a new cache
 * from every source, and imports the salvaged local links.
 *
 * Messages go to stderr (file:line for import), one line each.
 */
#ifndef FLAGSYNC_RECOVER_H
#define FLAGSYNC_RECOVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cache.h"
#include "config.h"

/* Writes the local links to out; *n gets how many.  0 or an error. */
int	recover_links_export(struct cache *c, FILE *out, size_t *n);

struct recover_import {
	size_t	 added;		/* new local links */
	size_t	 present;	/* already local */
	size_t	 skipped;	/* lines that could not be taken (said why) */
	uint64_t first_seq, last_seq;	/* their events; 0 when none */
};

/*
 * Reads the lines of in (named path in messages) and adds their links as
 * local ones.  A line that is not such an object, names a project that is
 * not configured, a flag the cache does not have or an issue that does
 * not match issue_key_pattern is skipped and reported.  0 when the commit
 * went through (even with lines skipped), or an error.
 */
int	recover_links_import(struct cache *c, const struct config *cfg,
	    const char *path, FILE *in, struct recover_import *r);

struct recover_report {
	char	 aside[4096];	/* where the old cache went */
	int	 salvaged;	/* the old cache could be read */
	size_t	 local_links;	/* local links salvaged from it */
	size_t	 events;	/* events salvaged from it */
	int	 sync_rc;	/* what the new sync returned */
	struct recover_import import;
};

/* The procedure above.  0, FS_ELOCKED, FS_ENOTFOUND (no cache to move)
 * or another error; r says how far it got. */
int	recover_rebuild(const struct config *cfg, volatile sig_atomic_t *cancel,
	    struct recover_report *r);

#endif
