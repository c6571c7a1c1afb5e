/*
 * leak.c - a plugin that leaks memory on every deliver() until the
 * allocator fails, then dies as such plugins do (SIGSEGV writing through
 * the NULL it did not check).  With the instance's private memory bounded
 * (leak_limit_mb, applied with setrlimit in init), it dies after a few
 * events instead of taking the machine.  Keys:
 *   leak_mb = N         MiB leaked (and touched) per event (default 64)
 *   leak_limit_mb = N   RLIMIT_DATA for the instance's process (default 512)
 *   log = PATH          append "SEQ TYPE" for every deliver() call
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>

#include <flagsync/plugin.h>

struct leak {
	size_t	 per_event;
	FILE	*log;
	char	*last;		/* the newest leak, kept reachable */
};

static int
leak_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct rlimit rl;
	struct leak *l;
	const char *v;
	size_t limit = 512;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return 1;
	l->per_event = 64;
	if ((v = api->config_get(h, "leak_mb")))
		l->per_event = (size_t)atoi(v);
	l->per_event <<= 20;
	if ((v = api->config_get(h, "leak_limit_mb")))
		limit = (size_t)atoi(v);
	rl.rlim_cur = rl.rlim_max = (rlim_t)limit << 20;
	if (setrlimit(RLIMIT_DATA, &rl) != 0) {
		snprintf(err, errlen, "cannot limit the data segment");
		free(l);
		return 1;
	}
	if ((v = api->config_get(h, "log")) && (l->log = fopen(v, "a")) ==
	    NULL) {
		snprintf(err, errlen, "cannot open %s", v);
		free(l);
		return 1;
	}
	*ctx = l;
	return 0;
}

static int
leak_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct leak *l = ctx;
	volatile char *p;
	size_t i;

	(void)err;
	(void)errlen;
	if (l->log) {
		fprintf(l->log, "%llu %s\n", (unsigned long long)ev->seq,
		    ev->type);
		fflush(l->log);
	}
	/* the bug: never freed, never checked; every page touched, so it is
	 * real memory (and the compiler cannot drop the allocation) */
	p = malloc(l->per_event);
	for (i = 0; i < l->per_event; i += 4096)
		p[i] = 1;
	l->last = (char *)p;
	return FLAGSYNC_OK;
}

static void
leak_shutdown(void *ctx)
{
	struct leak *l = ctx;

	if (l->log)
		fclose(l->log);
	free(l);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "leak",
	.version = "1.0",
	.init = leak_init,
	.deliver = leak_deliver,
	.shutdown = leak_shutdown,
);
