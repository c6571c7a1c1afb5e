/*
 * linksfile.h - the `file` link source: links.yaml (flagsync.ini(5)),
 * via libyaml.
 *
 *   links:
 *     - flag: new_checkout
 *       project: Default      # may be omitted with one project configured
 *       issues: [SHOP-1, SHOP-7]
 *
 * Every error names the file, line and column and what was expected:
 * unknown keys, a missing flag or issues, an unknown project, an issue
 * that is not a key, a project omitted while several are configured,
 * YAML syntax errors, nesting deeper than 32 levels (refused at the first
 * level too deep, before the rest is read), a path that is not a regular
 * file (a FIFO is refused, not waited on).  On error nothing is added to
 * out.  A flag or issue name longer than maxlen.h allows, or holding a
 * control character, is not an error: that entry (issue) is skipped and
 * logged as "PATH:LINE:COL: flag '...' is longer than 255 bytes; entry
 * skipped", the name shortened and escaped, recorded in skipped (for the
 * source's status), and the rest is used.
 */
#ifndef FLAGSYNC_LINKSFILE_H
#define FLAGSYNC_LINKSFILE_H

#include <stddef.h>

#include "keys.h"
#include "linkset.h"
#include "skipped.h"

/*
 * Reads path and adds its links to out.  projects lists the configured
 * project names (nprojects >= 1).  Issue keys are checked with keys
 * (keys_is_key).  Names skipped are added to skipped (NULL: only
 * logged).  Returns 0, an errno value when the file cannot be read,
 * or FS_ECONFIG for bad content; err gets one line "PATH:LINE:COL: ...".
 */
int	linksfile_load(const char *path, const char *const *projects,
	    size_t nprojects, const struct keys *keys, struct linkset *out,
	    struct skipped *skipped, char *err, size_t errlen);

#endif
