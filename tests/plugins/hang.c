/*
 * hang.c - a plugin whose deliver() never returns for the events it is
 * told to (a webhook whose server accepts and never answers).  It blocks
 * every signal it can, so only a real kill ends it.  It is also the slow
 * output of the SIGHUP tests.  Keys:
 *   hang_type = GLOB   hang on events of these types (default flag.killed;
 *                      "none": never)
 *   delay_ms = N       take N ms over every other event
 *   exclusive = PATH   hold flock(PATH) from init() to exit; a second
 *                      deliverer of the instance finds it taken and logs
 *                      "OVERLAP" (there must never be one)
 *   log = PATH         append "SEQ TYPE PID" for every deliver() call
 */
#include <sys/file.h>

#include <fcntl.h>
#include <fnmatch.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <flagsync/plugin.h>

struct hang {
	const char *type;
	FILE	*log;
	long	 delay_ms;
	int	 lock_fd;
};

static int
hang_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct hang *g;
	const char *v;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return 1;
	g->type = api->config_get(h, "hang_type");
	if (g->type == NULL)
		g->type = "flag.killed";
	if ((v = api->config_get(h, "log")) && (g->log = fopen(v, "a")) ==
	    NULL) {
		snprintf(err, errlen, "cannot open %s", v);
		free(g);
		return 1;
	}
	if ((v = api->config_get(h, "delay_ms")))
		g->delay_ms = atol(v);
	g->lock_fd = -1;
	if ((v = api->config_get(h, "exclusive")) &&
	    (g->lock_fd = open(v, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) != -1 &&
	    flock(g->lock_fd, LOCK_EX | LOCK_NB) == -1 && g->log) {
		fprintf(g->log, "OVERLAP %ld\n", (long)getpid());
		fflush(g->log);
	}
	*ctx = g;
	return 0;
}

static int
hang_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct hang *g = ctx;
	sigset_t all;

	(void)err;
	(void)errlen;
	if (g->log) {
		fprintf(g->log, "%llu %s %ld\n", (unsigned long long)ev->seq,
		    ev->type, (long)getpid());
		fflush(g->log);
	}
	if (fnmatch(g->type, ev->type, 0) != 0) {
		struct timespec ts = { g->delay_ms / 1000,
		    (g->delay_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		return FLAGSYNC_OK;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	for (;;)
		pause();
}

static void
hang_shutdown(void *ctx)
{
	struct hang *g = ctx;

	if (g->log)
		fclose(g->log);
	if (g->lock_fd != -1)
		close(g->lock_fd);
	free(g);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "hang",
	.version = "1.0",
	.init = hang_init,
	.deliver = hang_deliver,
	.shutdown = hang_shutdown,
);
