/* lock.c - the state directory's writer lock. */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "lock.h"

static long
lock_read_pid(int fd)
{
	char buf[32];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* A regular file of root's or ours, made private: fixes the mode an
 * older flagsync left (0660), refuses anything else. */
static int
lock_check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (fstat(fd, &st) == -1) {
		rc = errno;
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(rc));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file; flagsync makes "
		    "this file itself: remove it", path);
		return FS_ECONFIG;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, neither root nor "
		    "this user (uid %u): remove it", path, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		return FS_ECONFIG;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) == -1) {
		rc = errno;
		snprintf(err, errlen, "cannot chmod 600 %s: %s", path,
		    strerror(rc));
		return rc;
	}
	return 0;
}

int
lock_acquire(const char *state_dir, int *fd, char *err, size_t errlen)
{
	char path[4096], pid[32];
	int lfd, len, rc;

	snprintf(path, sizeof(path), "%s/flagsync.lock", state_dir);
	if (mkdir(state_dir, 0750) == -1 && errno != EEXIST) {
		rc = errno;
		snprintf(err, errlen, "cannot create %s: %s", state_dir,
		    strerror(rc));
		return rc;
	}
	/*
	 * O_NOFOLLOW: a symlink planted here would have the pid written
	 * through it.  0600: flock() needs no more than an open descriptor,
	 * so a reader of the file could hold the lock against the daemon.
	 */
	if ((lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY | O_NONBLOCK, 0600)) == -1) {
		rc = errno;
		if (rc == ELOOP)
			snprintf(err, errlen, "%s: is a symbolic link; flagsync "
			    "makes this file itself: remove it", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path,
			    strerror(rc));
		return rc;
	}
	if ((rc = lock_check_file(lfd, path, err, errlen)) != 0) {
		close(lfd);
		return rc;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		rc = errno;
		if (rc == EWOULDBLOCK) {
			snprintf(err, errlen, "another flagsync sync or run "
			    "(pid %ld) holds %s", lock_read_pid(lfd), path);
			rc = FS_ELOCKED;
		} else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(rc));
		close(lfd);
		return rc;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(lfd, 0) == -1 || pwrite(lfd, pid, len, 0) != len) {
		rc = errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(rc));
		close(lfd);
		return rc;
	}
	*fd = lfd;
	return 0;
}

void
lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
