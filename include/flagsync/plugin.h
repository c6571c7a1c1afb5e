/*
 * flagsync/plugin.h - the flagsync output plugin SDK.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `flagsync_plugin`, a const struct flagsync_plugin made with
 * FLAGSYNC_PLUGIN_DEFINE().  flagsync dlopen()s it (RTLD_NOW | RTLD_LOCAL),
 * checks the ABI version and struct size, calls init() once per
 * configured instance, then deliver() once per change event, in seq
 * order, from that instance's own thread.  Plugins link against nothing
 * of flagsync's: every host service comes through struct
 * flagsync_host_api, given to init().
 *
 * ABI rules.  abi_major must equal the host's; abi_minor must not exceed
 * it.  Within a major version structs only grow at the end and each
 * carries its struct_size, so an older plugin keeps working with a newer
 * host and the host never reads past what a plugin provides.  Nothing
 * from libc, LMDB, json-c or libcurl crosses this boundary: strings are
 * NUL-terminated UTF-8, times are int64_t milliseconds since the epoch.
 *
 * Threads.  All callbacks of one instance are made by one thread at a
 * time (not always the same thread): never concurrently for one ctx.
 * Different instances run concurrently.  The host API may be called from
 * inside any callback of the instance that owns the host handle.
 *
 * Ownership.
 *  - The api table and the host handle are valid from init() until
 *    shutdown() returns; plugins may keep both.
 *  - Strings from config_get() and instance_name() are owned by the host
 *    and valid until shutdown() returns.
 *  - A struct flagsync_event and everything it points to are borrowed for
 *    the deliver() call only; copy what you keep.
 *  - Buffers returned by flag_view(), issue_flags() and kv_get() are
 *    allocated by the host; release them with api->release().
 *  - err buffers are owned by the host; write one NUL-terminated line.
 *  - ctx is the plugin's own; the host hands it back and never frees it:
 *    shutdown() does.
 */
#ifndef FLAGSYNC_PLUGIN_H
#define FLAGSYNC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLAGSYNC_PLUGIN_ABI_MAJOR	1
#define FLAGSYNC_PLUGIN_ABI_MINOR	0
#define FLAGSYNC_PLUGIN_SYMBOL		"flagsync_plugin"

/* deliver() results. */
#define FLAGSYNC_OK	0	/* done: the instance's cursor moves on */
#define FLAGSYNC_RETRY	1	/* try this event again later (backoff) */
#define FLAGSYNC_FAIL	2	/* never deliverable: dead letter, move on */

/* Log levels, as syslog(3) priorities. */
#define FLAGSYNC_LOG_ERR	3
#define FLAGSYNC_LOG_WARNING	4
#define FLAGSYNC_LOG_INFO	6
#define FLAGSYNC_LOG_DEBUG	7

/* Host API return codes besides 0: positive errno values, and this one. */
#define FLAGSYNC_ENOTFOUND	(-1)	/* no such flag, issue or key */

/* The host's handle for one plugin instance. */
struct flagsync_host;

/* One change event (SPEC §5), borrowed for the deliver() call. */
struct flagsync_event {
	size_t		 struct_size;	/* sizeof as the host built it */
	uint64_t	 seq;		/* gap-free, increasing */
	int64_t		 time_ms;	/* when it was committed */
	const char	*type;		/* "flag.killed", "link.added", ... */
	const char	*project;
	const char	*flag;
	const char	*issue;		/* link events only, else NULL */
	const char	*json;		/* the whole event document */
	size_t		 json_len;	/* strlen(json) */
	int		 replay;	/* non-zero: sent by `flagsync replay` */
};

struct flagsync_host_api {
	uint32_t	 abi_major;
	uint32_t	 abi_minor;
	size_t		 struct_size;

	/* The value of key in this instance's [plugin NAME] section, or
	 * NULL when it is not set.  "module", "events" and "timeout" answer
	 * with the values in effect, defaults included. */
	const char	*(*config_get)(struct flagsync_host *h, const char *key);
	/* The i-th key of the section (from 0), NULL past the end; *value
	 * gets its value.  For check_config() to reject unknown keys. */
	const char	*(*config_key)(struct flagsync_host *h, size_t i,
			    const char **value);
	/* The instance name (the NAME of [plugin NAME]). */
	const char	*(*instance_name)(struct flagsync_host *h);
	/* Logs one line, prefixed with the instance name.  Lines at
	 * FLAGSYNC_LOG_ERR or WARNING also become the instance's "last
	 * error" in `flagsync plugins`. */
	void		 (*log)(struct flagsync_host *h, int level,
			    const char *fmt, ...)
#if defined(__GNUC__)
			    __attribute__((format(printf, 3, 4)))
#endif
			    ;

	/* Read-only cache queries, answered as JSON text in *json (release
	 * with release()).  flag_view: the SPEC §4 flag view, with
	 * "issues".  issue_flags: {"issue", "count", "active", "flags": [flag
	 * views]} as `flagsync issue --json` prints it.  Return 0,
	 * FLAGSYNC_ENOTFOUND, or an errno value. */
	int		 (*flag_view)(struct flagsync_host *h,
			    const char *project, const char *flag, char **json);
	int		 (*issue_flags)(struct flagsync_host *h,
			    const char *issue, char **json);

	/* A small persistent key/value store private to this instance
	 * (keys up to 256 bytes, values up to 1 MiB).  kv_get: 0 and a
	 * buffer to release(), or FLAGSYNC_ENOTFOUND.  kv_put replaces;
	 * kv_del of an absent key is 0.  Writes are durable when they
	 * return. */
	int		 (*kv_get)(struct flagsync_host *h, const char *key,
			    void **value, size_t *len);
	int		 (*kv_put)(struct flagsync_host *h, const char *key,
			    const void *value, size_t len);
	int		 (*kv_del)(struct flagsync_host *h, const char *key);

	/* Frees a buffer the host returned. */
	void		 (*release)(struct flagsync_host *h, void *p);

	/* A key of the agent's own [jira] section, for outputs that write
	 * to Jira: "url", "email", "api_token" (resolved from its file,
	 * $FLAGSYNC_JIRA_API_TOKEN or the jira-api-token credential, as the
	 * agent does), "timeout", "ca_file".  NULL when unset.  Never log
	 * api_token.  section must be "jira"; other sections give NULL. */
	const char	*(*agent_config)(struct flagsync_host *h,
			    const char *section, const char *key);
};

struct flagsync_plugin {
	uint32_t	 abi_major;	/* FLAGSYNC_PLUGIN_ABI_MAJOR */
	uint32_t	 abi_minor;	/* FLAGSYNC_PLUGIN_ABI_MINOR */
	size_t		 struct_size;	/* sizeof(struct flagsync_plugin) */
	const char	*name;		/* module name, e.g. "file" */
	const char	*version;	/* the plugin's own version */

	/* Optional (may be NULL).  Validates the instance's keys without
	 * side effects; `flagsync check-config` calls it.  0 or non-zero
	 * with a line in err. */
	int		 (*check_config)(const struct flagsync_host_api *api,
			    struct flagsync_host *h, char *err,
			    size_t errlen);
	/* Sets up one instance; *ctx is handed back to the other
	 * callbacks.  0 or non-zero with a line in err (the instance is
	 * then not started). */
	int		 (*init)(const struct flagsync_host_api *api,
			    struct flagsync_host *h, void **ctx, char *err,
			    size_t errlen);
	/* Delivers one event: FLAGSYNC_OK, FLAGSYNC_RETRY or FLAGSYNC_FAIL,
	 * with a line in err for the last two.  Delivery is at least once:
	 * after a crash an event may come again. */
	int		 (*deliver)(void *ctx, const struct flagsync_event *ev,
			    char *err, size_t errlen);
	/* Optional.  Called after SIGHUP, between deliveries: reopen files
	 * (logrotate). */
	void		 (*reopen)(void *ctx);
	/* Releases everything init() made. */
	void		 (*shutdown)(void *ctx);
};

#if defined(__GNUC__)
#define FLAGSYNC_PLUGIN_EXPORT	__attribute__((visibility("default")))
#else
#define FLAGSYNC_PLUGIN_EXPORT
#endif

/* A C++ const global has internal linkage: give the descriptor C linkage.
 * (C++ plugins need C++20 for the designated initializers, in member
 * order.) */
#ifdef __cplusplus
#define FLAGSYNC_PLUGIN_LINKAGE	extern "C"
#else
#define FLAGSYNC_PLUGIN_LINKAGE
#endif

/*
 * Defines the plugin's one exported symbol:
 *
 *	FLAGSYNC_PLUGIN_DEFINE(
 *		.name = "example",
 *		.version = "1.0",
 *		.init = example_init,
 *		.deliver = example_deliver,
 *		.shutdown = example_shutdown,
 *	);
 */
#define FLAGSYNC_PLUGIN_DEFINE(...)					\
	FLAGSYNC_PLUGIN_LINKAGE FLAGSYNC_PLUGIN_EXPORT			\
	const struct flagsync_plugin					\
	flagsync_plugin = {						\
		.abi_major = FLAGSYNC_PLUGIN_ABI_MAJOR,			\
		.abi_minor = FLAGSYNC_PLUGIN_ABI_MINOR,			\
		.struct_size = sizeof(struct flagsync_plugin),		\
		__VA_ARGS__						\
	}

#ifdef __cplusplus
}
#endif

#endif
