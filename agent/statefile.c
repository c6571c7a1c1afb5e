/* statefile.c - atomic writes into the state directory. */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statefile.h"

/* Writes every byte of iov, resuming after short writes. */
static int
statefile_writev_all(int fd, const struct iovec *iov, int iovcnt)
{
	const char *p;
	size_t left;
	ssize_t n;
	int i;

	for (i = 0; i < iovcnt; i++) {
		p = iov[i].iov_base;
		left = iov[i].iov_len;
		while (left > 0) {
			n = write(fd, p, left);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				return errno;
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

int
statefile_write_atomic(const char *dir, const char *name,
    const struct iovec *iov, int iovcnt, mode_t mode)
{
	char path[4096], tmp[4096];
	int fd, n, rc;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ENAMETOOLONG;
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return ENAMETOOLONG;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return errno;
	if ((rc = statefile_writev_all(fd, iov, iovcnt)) != 0)
		goto tmp_unlink;
	/* mkstemp made it 0600; the umask has no say in the final mode. */
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		rc = errno;
		goto tmp_unlink;
	}
	if (close(fd) == -1) {
		rc = errno;
		fd = -1;
		goto tmp_unlink;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		rc = errno;
		goto tmp_unlink;
	}
	return 0;
tmp_unlink:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return rc;
}
