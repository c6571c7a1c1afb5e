/*
 * lock.h - one writer at a time: `sync` and `run` hold an flock(2) on
 * STATE_DIR/flagsync.lock.  The kernel drops the lock when the holder
 * exits, however it dies, so a crash never leaves a stale lock; the file
 * only carries the holder's pid for the message a second writer prints.
 */
#ifndef FLAGSYNC_LOCK_H
#define FLAGSYNC_LOCK_H

#include <stddef.h>

/*
 * Takes the lock without waiting.  Returns 0 and the held descriptor in
 * *fd, FS_ELOCKED ("... held by pid N") or an errno value; err gets one
 * line.
 */
int	lock_acquire(const char *state_dir, int *fd, char *err, size_t errlen);
void	lock_release(int fd);

#endif
