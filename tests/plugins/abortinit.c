/*
 * abortinit.c - a plugin that calls abort() in init(), as one does whose
 * library asserts on a setting it does not like.
 */
#include <stdlib.h>

#include <flagsync/plugin.h>

static int
abortinit_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	(void)api;
	(void)h;
	(void)ctx;
	(void)err;
	(void)errlen;
	abort();
}

static int
abortinit_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	(void)ctx;
	(void)ev;
	(void)err;
	(void)errlen;
	return FLAGSYNC_OK;
}

static void
abortinit_shutdown(void *ctx)
{
	(void)ctx;
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "abortinit",
	.version = "1.0",
	.init = abortinit_init,
	.deliver = abortinit_deliver,
	.shutdown = abortinit_shutdown,
);
