/*
 * flagsync/plugin.h - the flagsync output plugin SDK.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `flagsync_plugin`, a const struct flagsync_plugin made with
 * FLAGSYNC_PLUGIN_DEFINE().  flagsync dlopen()s it (RTLD_NOW | RTLD_LOCAL),
 * checks the ABI version and struct size, calls init() once per
 * configured instance, then deliver() once per change event, in seq
 * order, in that instance's own process.  Plugins link against nothing
 * of flagsync's: every host service comes through struct
 * flagsync_host_api, given to init().
 *
 * ABI rules.  abi_major must equal the host's; abi_minor must not exceed
 * it.  Within a major version structs only grow at the end and each
 * carries its struct_size, so an older plugin keeps working with a newer
 * host and the host never reads past what a plugin provides.  ABI 1.1
 * added, at the ends: config_error(), the typed getters and cancelled()
 * to the host API; flush(), load() and unload() to the descriptor.  A
 * plugin that uses them on a host that may be older asks first with
 * FLAGSYNC_HOST_HAS(api, member); a 1.0 plugin loads and works
 * unchanged.  ABI 1.2 added issue_findings() to the host API; ABI 1.3
 * flag_links(), tag_owned() and tag_record().  Nothing from libc, LMDB,
 * json-c or libcurl crosses this
 * boundary: strings are NUL-terminated UTF-8, times are int64_t
 * milliseconds since the epoch.
 *
 * Processes.  Each instance runs in a process of its own, started by
 * the agent's supervisor: the module is loaded there, load() and init()
 * run there, and every callback of the instance is made by that
 * process's one delivering thread, never concurrently.  Instances share
 * nothing but the cache (through the host API) and the files a plugin
 * opens itself: two instances of one module are two processes, each
 * with its own copy of every global variable.  A plugin that crashes
 * (SIGSEGV, abort()) or hangs past its `timeout` takes only its own
 * process down: the supervisor restarts it with backoff, and after 3
 * crashes on one event that event becomes a dead letter ("crashed 3
 * times").  The process
 * ignores SIGHUP, SIGTERM, SIGINT and SIGPIPE (the supervisor tells it
 * to reopen or stop): a plugin should not change signal dispositions.
 * It sees only its own section's keys and the secrets granted to it
 * (`credentials =`).  The host API may be called from inside any
 * callback.
 *
 * A poisoned event (one the plugin can never deliver, e.g. a target that
 * refuses it for good) is skipped by returning FLAGSYNC_FAIL with the
 * reason in err: the host keeps it as a dead letter and moves on; the
 * operator lists it with `flagsync deadletters`, and delivers it again
 * (--retry SEQ) or discards it (--drop SEQ).  Returning FLAGSYNC_OK for
 * it would lose it silently; FLAGSYNC_RETRY would stall the instance.
 *
 * Ownership.
 *  - The api table and the host handle are valid from init() until
 *    shutdown() returns; plugins may keep both.
 *  - Strings from config_get() and instance_name() are owned by the host
 *    and valid until shutdown() returns.
 *  - A struct flagsync_event and everything it points to are borrowed for
 *    the deliver() call only; copy what you keep.
 *  - Buffers returned by flag_view(), issue_flags(), issue_findings(),
 *    flag_links() and kv_get() are allocated by the host; release them
 *    with api->release().
 *  - err buffers are owned by the host; write one NUL-terminated line.
 *  - flush() runs on the instance's thread like deliver(); load() and
 *    unload() on the thread that loads the module, no instance running.
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
#define FLAGSYNC_PLUGIN_ABI_MINOR	3
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

/* One change event, borrowed for the deliver() call.  json is the event
 * document flagsync-plugin(3) shows (`flagsync events --json`). */
struct flagsync_event {
	size_t		 struct_size;	/* sizeof as the host built it */
	uint64_t	 seq;		/* gap-free, increasing */
	int64_t		 time_ms;	/* when it was committed (the
					 * event's "time", whole seconds) */
	const char	*type;		/* "flag.killed", "link.added", ... */
	const char	*project;
	const char	*flag;
	const char	*issue;		/* link events only, else NULL */
	const char	*json;		/* the whole event document */
	size_t		 json_len;	/* strlen(json) */
	int		 replay;	/* non-zero: sent by `flagsync replay
					 * --state`, with seq 0 (not an event
					 * of the log) */
};

struct flagsync_host_api {
	uint32_t	 abi_major;
	uint32_t	 abi_minor;
	size_t		 struct_size;

	/* The value of key in this instance's [plugin NAME] section, or
	 * NULL when it is not set.  The host's keys "module", "events",
	 * "timeout", "start" and "credentials" answer with the values in
	 * effect, defaults included. */
	const char	*(*config_get)(struct flagsync_host *h, const char *key);
	/* The i-th key of the section (from 0), NULL past the end; *value
	 * gets its value.  For check_config() to reject unknown keys: the
	 * host's own keys (module, events, timeout, start, credentials) are
	 * not listed. */
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
	 * with release()).  flag_view: the flag view flagsync-plugin(3)
	 * shows, with "issues".  issue_flags: {"issue", "count", "active", "flags": [flag
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

	/* A key of the agent's own [jira] or [split] section, answered only
	 * when the instance was granted it (`credentials = jira`, `split`
	 * or both; the bundled jira and split modules have theirs
	 * implicitly); NULL otherwise and when unset.  "jira": "url",
	 * "email", "api_token" (resolved from its file,
	 * $FLAGSYNC_JIRA_API_TOKEN or the jira-api-token credential, as the
	 * agent does), "timeout", "ca_file".  "split": "api_url",
	 * "admin_key" (resolved likewise), "timeout", "ca_file", and (host
	 * 1.3) "auth" (bearer, x-api-key or auto), "max_rps" (the Admin
	 * request rate, "0" for none) and "pace_file" (the file in the
	 * state directory through which every process of the agent shares
	 * max_rps: see flagsync-plugin(3)).  Never log a token or key. */
	const char	*(*agent_config)(struct flagsync_host *h,
			    const char *section, const char *key);

	/* ---- ABI 1.1 ---- */

	/* Records why key's value is refused, as the host reports it:
	 * "FILE:LINE: [plugin NAME] KEY: message", LINE being the key's own
	 * line (the section's when the key is not set; key NULL: the
	 * section).  When check_config() or init() then fails, this line
	 * is what the operator sees, in place of err.  Returns 1, for
	 * `return api->config_error(h, "path", "...");`. */
	int		 (*config_error)(struct flagsync_host *h,
			    const char *key, const char *fmt, ...)
#if defined(__GNUC__)
			    __attribute__((format(printf, 3, 4)))
#endif
			    ;
	/* Typed getters: *out gets key's value, or def when it is not set.
	 * Return 0, or EINVAL after recording a config_error() that names
	 * the key's line and what it takes.  yes/no: yes, no, true, false,
	 * on, off, 1, 0.  Integers: decimal, within [min, max].
	 * Durations: N (seconds), Ns, Nm, Nh or Nd, as milliseconds. */
	int		 (*config_bool)(struct flagsync_host *h,
			    const char *key, int def, int *out);
	int		 (*config_int)(struct flagsync_host *h, const char *key,
			    int64_t def, int64_t min, int64_t max,
			    int64_t *out);
	int		 (*config_duration)(struct flagsync_host *h,
			    const char *key, int64_t def_ms, int64_t *out_ms);
	/* Non-zero when the call in progress should give up as soon as it
	 * can: the agent is stopping, or deliver() has run past the
	 * instance's timeout.  A long deliver() polls it and returns
	 * FLAGSYNC_RETRY (the event comes again). */
	int		 (*cancelled)(struct flagsync_host *h);

	/* ---- ABI 1.2 ---- */

	/* The open flag-hygiene findings about issue (flagsync(8),
	 * Findings): those naming it, and those of the flags linked to it
	 * that name no issue, as a JSON array of {"finding", "project",
	 * "flag", "issue" (or null), "since"} in *json (release with
	 * release()); "[]" when there are none.  FLAGSYNC_ENOTFOUND when
	 * the agent evaluates no findings (no [findings] section), or an
	 * errno value. */
	int		 (*issue_findings)(struct flagsync_host *h,
			    const char *issue, char **json);

	/* ---- ABI 1.3 ---- */

	/* The links of one flag with the sources that hold each, as a JSON
	 * array in *json (release with release()), in issue order:
	 * [{"issue": "SHOP-1", "sources": ["split-tag", "file"]}]; "[]"
	 * when it has none (or is unknown).  Sources: "split-tag",
	 * "split-description", "file", "jira-field", "local".  0 or an
	 * errno value. */
	int		 (*flag_links)(struct flagsync_host *h,
			    const char *project, const char *flag, char **json);
	/* The Split tags flagsync wrote on a flag itself, which the
	 * split-tag source does not count as links (so a link never holds
	 * itself up).  tag_owned: 0 when tag is recorded as flagsync's on
	 * the flag, FLAGSYNC_ENOTFOUND when not, or an errno value.
	 * tag_record: owned non-zero records it (with the instance name as
	 * the writer), zero forgets it (0 when it was not recorded);
	 * durable when it returns.  Record a tag before writing it to
	 * Split and forget it only after it is gone there: a crash in
	 * between then leaves at worst a record of a tag that is not
	 * there, never a tag of flagsync's counted as a person's.  0,
	 * EINVAL (a name empty or too long), or an errno value. */
	int		 (*tag_owned)(struct flagsync_host *h,
			    const char *project, const char *flag,
			    const char *tag);
	int		 (*tag_record)(struct flagsync_host *h,
			    const char *project, const char *flag,
			    const char *tag, int owned);
};

/* True when the host API table has member (ABI 1.1, 1.2 and 1.3 entries
 * on an older host do not exist). */
#define FLAGSYNC_HOST_HAS(api, member)					\
	((api)->struct_size >= offsetof(struct flagsync_host_api, member) + \
	    sizeof((api)->member) && (api)->member != NULL)

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

	/* ---- ABI 1.1: optional (may be NULL) ---- */

	/* Called when the instance has taken every pending event (its
	 * backlog is empty), and at least every 1000 events: a plugin that
	 * batches (e.g. rewrites a file once for many events) writes out
	 * here.  For an instance with flush() the host makes its cursor
	 * durable only after flush() returns FLAGSYNC_OK, so a crash before
	 * it brings the events again.  FLAGSYNC_RETRY (a line in err): the
	 * events since the last good flush are delivered again, after a
	 * backoff. */
	int		 (*flush)(void *ctx, char *err, size_t errlen);
	/* Module-level set-up, once after the module is loaded and before
	 * any check_config() or init(); 0 or non-zero with a line in err
	 * (the module is then refused).  unload() runs once before the
	 * module is unloaded, after every instance's shutdown(). */
	int		 (*load)(char *err, size_t errlen);
	void		 (*unload)(void);
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

/* g++ -Wextra warns of every member a designated initializer leaves
 * out: a plugin written for ABI 1.0 names none of 1.1's, and must still
 * build (they are NULL, as intended). */
#if defined(__cplusplus) && defined(__GNUC__)
#define FLAGSYNC_PLUGIN_DIAG_PUSH					\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"")
/* a pragma may not stand before the user's ';': end the declaration
 * first (C++ takes the second ';' as an empty declaration) */
#define FLAGSYNC_PLUGIN_DIAG_END	; _Pragma("GCC diagnostic pop")
#else
#define FLAGSYNC_PLUGIN_DIAG_PUSH
#define FLAGSYNC_PLUGIN_DIAG_END
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
	FLAGSYNC_PLUGIN_DIAG_PUSH					\
	FLAGSYNC_PLUGIN_LINKAGE FLAGSYNC_PLUGIN_EXPORT			\
	const struct flagsync_plugin					\
	flagsync_plugin = {						\
		.abi_major = FLAGSYNC_PLUGIN_ABI_MAJOR,			\
		.abi_minor = FLAGSYNC_PLUGIN_ABI_MINOR,			\
		.struct_size = sizeof(struct flagsync_plugin),		\
		__VA_ARGS__						\
	} FLAGSYNC_PLUGIN_DIAG_END

#ifdef __cplusplus
}
#endif

#endif
