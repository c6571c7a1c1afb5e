/*
 * abi10.c - a plugin as ABI 1.0 built it: its own copy of the 1.0
 * <flagsync/plugin.h> layouts (the descriptor ends at shutdown, the host
 * API at agent_config), so that a newer host must still load and drive
 * it without reading past its descriptor.
 *   log = PATH    "SEQ TYPE time=TIME_MS" for every event
 *   grants = PATH at init, which agent secrets it can read: "jira_url
 *                 set|null jira_token set|null split_url set|null
 *                 split_key set|null" (never the values)
 *   check_config refuses any key it does not know (the host's own keys,
 *   start and credentials included, must not be listed to it).
 * Past its descriptor lie poisoned pointers (a10_export).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

struct flagsync_host;

struct flagsync_event10 {
	size_t		 struct_size;
	uint64_t	 seq;
	int64_t		 time_ms;
	const char	*type;
	const char	*project;
	const char	*flag;
	const char	*issue;
	const char	*json;
	size_t		 json_len;
	int		 replay;
};

struct flagsync_host_api10 {
	uint32_t	 abi_major;
	uint32_t	 abi_minor;
	size_t		 struct_size;
	const char	*(*config_get)(struct flagsync_host *, const char *);
	const char	*(*config_key)(struct flagsync_host *, size_t,
			    const char **);
	const char	*(*instance_name)(struct flagsync_host *);
	void		 (*log)(struct flagsync_host *, int, const char *, ...);
	int		 (*flag_view)(struct flagsync_host *, const char *,
			    const char *, char **);
	int		 (*issue_flags)(struct flagsync_host *, const char *,
			    char **);
	int		 (*kv_get)(struct flagsync_host *, const char *, void **,
			    size_t *);
	int		 (*kv_put)(struct flagsync_host *, const char *,
			    const void *, size_t);
	int		 (*kv_del)(struct flagsync_host *, const char *);
	void		 (*release)(struct flagsync_host *, void *);
	const char	*(*agent_config)(struct flagsync_host *, const char *,
			    const char *);
};

struct flagsync_plugin10 {
	uint32_t	 abi_major;
	uint32_t	 abi_minor;
	size_t		 struct_size;
	const char	*name;
	const char	*version;
	int		 (*check_config)(const struct flagsync_host_api10 *,
			    struct flagsync_host *, char *, size_t);
	int		 (*init)(const struct flagsync_host_api10 *,
			    struct flagsync_host *, void **, char *, size_t);
	int		 (*deliver)(void *, const struct flagsync_event10 *,
			    char *, size_t);
	void		 (*reopen)(void *);
	void		 (*shutdown)(void *);
};

static int
a10_check_config(const struct flagsync_host_api10 *api,
    struct flagsync_host *h, char *err, size_t errlen)
{
	const char *key;
	size_t i;

	for (i = 0; (key = api->config_key(h, i, NULL)) != NULL; i++)
		if (strcmp(key, "log") != 0 && strcmp(key, "grants") != 0) {
			snprintf(err, errlen, "unknown key \"%s\"", key);
			return 1;
		}
	return 0;
}

static const char *
a10_set(const char *v)
{
	return v ? "set" : "null";
}

static int
a10_grants(const struct flagsync_host_api10 *api, struct flagsync_host *h,
    const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fprintf(f, "jira_url %s jira_token %s split_url %s split_key %s\n",
	    a10_set(api->agent_config(h, "jira", "url")),
	    a10_set(api->agent_config(h, "jira", "api_token")),
	    a10_set(api->agent_config(h, "split", "api_url")),
	    a10_set(api->agent_config(h, "split", "admin_key")));
	fclose(f);
	return 0;
}

static int
a10_init(const struct flagsync_host_api10 *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	const char *path;
	FILE *f = NULL;

	if (a10_check_config(api, h, err, errlen) != 0)
		return 1;
	if ((path = api->config_get(h, "grants")) != NULL &&
	    a10_grants(api, h, path) != 0) {
		snprintf(err, errlen, "cannot write %s", path);
		return 1;
	}
	if ((path = api->config_get(h, "log")) != NULL &&
	    (f = fopen(path, "a")) == NULL) {
		snprintf(err, errlen, "cannot open %s", path);
		return 1;
	}
	*ctx = f;
	return 0;
}

static int
a10_deliver(void *ctx, const struct flagsync_event10 *ev, char *err,
    size_t errlen)
{
	FILE *f = ctx;

	(void)err;
	(void)errlen;
	if (f) {
		fprintf(f, "%llu %s time=%lld\n", (unsigned long long)ev->seq,
		    ev->type, (long long)ev->time_ms);
		fflush(f);
	}
	return 0;
}

static void
a10_shutdown(void *ctx)
{
	if (ctx)
		fclose(ctx);
}

/*
 * What lies after a 1.0 descriptor is not the host's to read: here it is
 * poison where ABI 1.1 put flush(), load() and unload(), so that a host
 * which ignores struct_size calls abort().
 */
static void
a10_poison(void)
{
	fputs("abi10: the host read past the 1.0 descriptor\n", stderr);
	abort();
}

struct a10_export {
	struct flagsync_plugin10 desc;
	void	 (*after[3])(void);
};

__attribute__((visibility("default")))
const struct a10_export flagsync_plugin = {
	.desc = {
		.abi_major = 1,
		.abi_minor = 0,
		.struct_size = sizeof(struct flagsync_plugin10),
		.name = "abi10",
		.version = "1.0.3",
		.check_config = a10_check_config,
		.init = a10_init,
		.deliver = a10_deliver,
		.shutdown = a10_shutdown,
	},
	.after = { a10_poison, a10_poison, a10_poison },
};
