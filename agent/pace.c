/* pace.c - a request rate shared across processes through a locked file. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pace.h"

#define PACE_SLICE_NS	100000000LL	/* how often a wait asks cancelled */
#define PACE_RECORD_MAX	32		/* "NANOSECONDS\n" and room */

struct pace {
	int	 fd;
	int64_t	 gap_ns;
};

int64_t
pace_now_ns(void)
{
	struct timespec ts;

	/* the same clock in every process, and it counts suspend too */
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
pace_gap_ns(double max_rps)
{
	double gap_s = max_rps > 0 ? PACE_MARGIN / max_rps : PACE_MAX_GAP_S;

	/* also catches NaN, which compares false */
	if (!(gap_s < PACE_MAX_GAP_S))
		gap_s = PACE_MAX_GAP_S;
	return (int64_t)(gap_s * 1e9);
}

int
pace_open(struct pace **out, const char *path, double max_rps)
{
	struct pace *p;
	struct stat st;
	int e;

	*out = NULL;
	if (!(max_rps > 0) || path == NULL)
		return EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ENOMEM;
	p->gap_ns = pace_gap_ns(max_rps);
	/* The state directory is shared with the query group: no symlink
	 * is followed, and a FIFO planted there neither blocks the open
	 * nor is taken. */
	if ((p->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK, 0600)) == -1) {
		e = errno;
		goto pace_free;
	}
	if (fstat(p->fd, &st) != 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else {
		*out = p;
		return 0;
	}
	close(p->fd);
pace_free:
	free(p);
	return e;
}

void
pace_close(struct pace *p)
{
	if (p == NULL)
		return;
	close(p->fd);
	free(p);
}

/* The newest start in the file; 0 when empty or not a number. */
static int
pace_read(int fd, int64_t *last)
{
	char rec[PACE_RECORD_MAX];
	ssize_t n;
	char *end;

	*last = 0;
	if ((n = pread(fd, rec, sizeof(rec) - 1, 0)) == -1)
		return errno;
	rec[n] = '\0';
	errno = 0;
	*last = strtoll(rec, &end, 10);
	if (end == rec || (*end != '\n' && *end != '\0') || errno != 0 ||
	    *last < 0)
		*last = 0;
	return 0;
}

static int
pace_write(int fd, int64_t start)
{
	char rec[PACE_RECORD_MAX];
	int n;

	n = snprintf(rec, sizeof(rec), "%" PRId64 "\n", start);
	/* one record of fixed place: a reader under the lock sees it all */
	if (pwrite(fd, rec, (size_t)n, 0) != n)
		return errno ? errno : EIO;
	if (ftruncate(fd, n) != 0)
		return errno;
	return 0;
}

/*
 * Under the lock: when a gap has passed since the newest start, this
 * start is now (written, *wait 0); else *wait gets how long is left.
 * The time written is the moment the request goes, never a time ahead:
 * a process that wakes late does not crowd the one after it.
 */
static int
pace_try(struct pace *p, int64_t *wait)
{
	int64_t last, now;
	int rc;

	while (flock(p->fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return errno;
	now = pace_now_ns();
	*wait = 0;
	if ((rc = pace_read(p->fd, &last)) == 0) {
		/* ahead of now: another boot's, or garbage */
		if (last > now)
			last = 0;
		if (last > 0 && last + p->gap_ns > now)
			*wait = last + p->gap_ns - now;
		else
			rc = pace_write(p->fd, now);
	}
	flock(p->fd, LOCK_UN);
	return rc;
}

int
pace_take(struct pace *p, int (*cancelled)(void *), void *arg)
{
	struct timespec ts;
	int64_t wait = 0;
	int rc;

	for (;;) {
		if ((rc = pace_try(p, &wait)) != 0)
			return rc;
		if (wait == 0)
			return 0;
		if (cancelled != NULL && cancelled(arg))
			return ECANCELED;
		if (wait > PACE_SLICE_NS)
			wait = PACE_SLICE_NS;
		ts.tv_sec = (time_t)(wait / 1000000000);
		ts.tv_nsec = (long)(wait % 1000000000);
		nanosleep(&ts, NULL);
	}
}
