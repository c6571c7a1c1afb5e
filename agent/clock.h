/*
 * clock.h - wall-clock milliseconds since the epoch: the unit of every time
 * the agent stores (event times, status, dead letters, last errors).
 */
#ifndef FLAGSYNC_CLOCK_H
#define FLAGSYNC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
