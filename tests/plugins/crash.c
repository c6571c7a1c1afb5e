/*
 * crash.c - a plugin that dies inside deliver(): it writes through a
 * NULL pointer (a real SIGSEGV, not raise(), which a handler could
 * swallow) for the events it is told to, as a buggy webhook would on a
 * field it did not expect.  Keys:
 *   crash_type = GLOB   crash on events of these types (default flag.killed)
 *   crash_flag = NAME   ... only when the event is about this flag
 *   crash_replay = yes  ... only on `replay --state` items
 *   log = PATH          append "SEQ TYPE" for every deliver() call
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flagsync/plugin.h>

struct crash {
	const char *type;
	const char *flag;
	int	 replay;
	FILE	*log;
	int	*null;		/* the pointer the bug forgets to check */
};

static int
crash_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct crash *c;
	const char *v;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 1;
	c->type = api->config_get(h, "crash_type");
	if (c->type == NULL)
		c->type = "flag.killed";
	c->flag = api->config_get(h, "crash_flag");
	c->replay = (v = api->config_get(h, "crash_replay")) &&
	    strcmp(v, "yes") == 0;
	if ((v = api->config_get(h, "log")) && (c->log = fopen(v, "a")) ==
	    NULL) {
		snprintf(err, errlen, "cannot open %s", v);
		free(c);
		return 1;
	}
	*ctx = c;
	return 0;
}

static int
crash_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct crash *c = ctx;

	(void)err;
	(void)errlen;
	if (c->log) {
		fprintf(c->log, "%llu %s\n", (unsigned long long)ev->seq,
		    ev->type);
		fflush(c->log);
	}
	if (fnmatch(c->type, ev->type, 0) == 0 && (!c->replay ||
	    ev->replay) && (c->flag == NULL ||
	    (ev->flag && strcmp(c->flag, ev->flag) == 0)))
		*(volatile int *)c->null = 1;
	return FLAGSYNC_OK;
}

static void
crash_shutdown(void *ctx)
{
	struct crash *c = ctx;

	if (c->log)
		fclose(c->log);
	free(c);
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "crash",
	.version = "1.0",
	.init = crash_init,
	.deliver = crash_deliver,
	.shutdown = crash_shutdown,
);
