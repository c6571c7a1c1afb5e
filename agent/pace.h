/*
 * pace.h - one request rate shared by every process that talks to the
 * same API: the agent's poll and each output plugin process that writes
 * to Split ([split] max_rps counts them all).
 *
 * The processes share a small file (by default STATE_DIR/split-pace)
 * holding the start time of the newest request any of them made, on
 * CLOCK_BOOTTIME (one clock for every process of the machine).  A
 * request takes the file's flock(): when 1/max_rps (plus the 2 % margin
 * http.c uses) has passed since that start, it writes its own start,
 * now, and goes; otherwise it drops the lock, sleeps what is left and
 * tries again.  No process sleeps holding the lock, and only a request
 * that really starts is written, so one that wakes late never crowds
 * the next.  A start in the file that lies ahead of now cannot come
 * from this boot (the file outlived a reboot, or holds garbage): it is
 * ignored, so a stale file never blocks.
 *
 * pace.c links nothing of flagsync's (the split output plugin compiles
 * it in): errors are errno values.
 *
 * Ownership: struct pace owns its file descriptor; pace_close() closes
 * it.  The path is copied.
 */
#ifndef FLAGSYNC_PACE_H
#define FLAGSYNC_PACE_H

#include <stdint.h>

#define PACE_FILE_NAME	"split-pace"	/* in state_dir */
#define PACE_MARGIN	1.02		/* as http.c: arrivals jitter */
#define PACE_MAX_GAP_S	60		/* longest gap any max_rps asks */

struct pace;

/*
 * Opens (creating, mode 0600) the pacing file at path for max_rps
 * requests a second (> 0).  0, EINVAL (max_rps not positive), ENOMEM,
 * or the errno of open(2).
 */
int	pace_open(struct pace **out, const char *path, double max_rps);
void	pace_close(struct pace *p);

/*
 * Waits until this process may start one request, and records its start
 * in the shared file.  cancelled(arg) (may be NULL) is asked at least
 * every 100 ms while waiting: non-zero ends the wait with ECANCELED.
 * 0, ECANCELED, or the errno of a failed flock/read/write (the caller
 * then paces on its own).
 */
int	pace_take(struct pace *p, int (*cancelled)(void *), void *arg);

/* The gap between two starts for max_rps, in ns: PACE_MARGIN / max_rps
 * seconds, at most PACE_MAX_GAP_S (NaN and tiny rates included). */
int64_t	pace_gap_ns(double max_rps);

/* CLOCK_BOOTTIME in ns. */
int64_t	pace_now_ns(void);

#endif
