/* abi2.c - a plugin built for an ABI major this flagsync does not speak. */
#include <flagsync/plugin.h>

static int
a_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	(void)api; (void)h; (void)ctx; (void)err; (void)errlen;
	return 0;
}

static int
a_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	(void)ctx; (void)ev; (void)err; (void)errlen;
	return FLAGSYNC_OK;
}

static void
a_shutdown(void *ctx)
{
	(void)ctx;
}

FLAGSYNC_PLUGIN_EXPORT const struct flagsync_plugin flagsync_plugin = {
	.abi_major = FLAGSYNC_PLUGIN_ABI_MAJOR + 1,
	.abi_minor = 0,
	.struct_size = sizeof(struct flagsync_plugin),
	.name = "abi2",
	.version = "1",
	.init = a_init,
	.deliver = a_deliver,
	.shutdown = a_shutdown,
};
