/*
 * statefile.h - files flagsync writes in its state directory, safely.
 *
 * The state directory is shared with the query group, so nothing in it is
 * trusted: a file is never opened by a fixed temporary name (a planted
 * symlink would make flagsync write through it), only made afresh with
 * mkstemp(3) (O_EXCL), written, flushed, given its mode and renamed over
 * the real name, which replaces whatever was there (a symlink included)
 * without following it.  Readers see the old file or the new one, never
 * half of one.
 */
#ifndef FLAGSYNC_STATEFILE_H
#define FLAGSYNC_STATEFILE_H

#include <sys/types.h>
#include <sys/uio.h>

/*
 * Writes the iovcnt buffers of iov as dir/name with mode.  Returns 0 or an
 * errno value; on failure dir/name is unchanged and no temporary file is
 * left behind.
 */
int	statefile_write_atomic(const char *dir, const char *name,
	    const struct iovec *iov, int iovcnt, mode_t mode);

#endif
