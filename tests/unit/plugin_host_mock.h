/*
 * plugin_host_mock.h - a stand-in for the flagsync host, so output plugins
 * can be unit-tested without the agent (collectd's plugin_mock idea).
 *
 * mock_host_api() is a complete struct flagsync_host_api.  Each mock host
 * serves a fixed list of config keys, records every log line in memory,
 * keeps a key/value store in memory and answers flag_view(),
 * issue_flags() and agent_config() from canned values (FLAGSYNC_ENOTFOUND
 * or NULL for anything not registered).  It counts the buffers it hands
 * out, so a test can check that a plugin release()d all of them.
 *
 * Ownership: mock_host_create() copies the name and the keys; the host
 * owns everything it stores and mock_host_free() frees it all.  Strings
 * returned by the accessors are owned by the host and valid until the
 * next call that changes the same state (or mock_host_free()).  The host
 * is not thread-safe: one test thread drives it, as the real host drives
 * one instance from one thread at a time.
 */
#ifndef FLAGSYNC_PLUGIN_HOST_MOCK_H
#define FLAGSYNC_PLUGIN_HOST_MOCK_H

#include <stddef.h>

#include <flagsync/plugin.h>

/* One `key = value` line of the instance's [plugin NAME] section. */
struct mock_config {
	const char	*key;
	const char	*value;
};

/* The host API table every mock host answers through. */
const struct flagsync_host_api *mock_host_api(void);

/*
 * Makes a host for instance `name` whose section holds keys[0..nkeys-1],
 * in that order.  Returns NULL when out of memory.
 */
struct flagsync_host *mock_host_create(const char *name,
	    const struct mock_config *keys, size_t nkeys);
void	mock_host_free(struct flagsync_host *h);

/*
 * Log lines recorded so far, oldest first, as the plugin formatted them
 * (without the instance-name prefix the real host adds); *level, when not
 * NULL, gets the line's FLAGSYNC_LOG_* level.  NULL past the end.
 */
size_t	mock_host_log_count(const struct flagsync_host *h);
const char *mock_host_log_line(const struct flagsync_host *h, size_t i,
	    int *level);
/* Whether some line at `level` (-1: any) contains `text`. */
int	mock_host_log_has(const struct flagsync_host *h, int level,
	    const char *text);
/* The last ERR or WARNING line, as `flagsync plugins` shows it, or NULL. */
const char *mock_host_last_error(const struct flagsync_host *h);
void	mock_host_log_clear(struct flagsync_host *h);

/*
 * Canned answers.  json is copied; NULL removes the answer so the query
 * gets FLAGSYNC_ENOTFOUND again.  Return 0 or ENOMEM.
 */
int	mock_host_set_flag_view(struct flagsync_host *h, const char *project,
	    const char *flag, const char *json);
int	mock_host_set_issue_flags(struct flagsync_host *h, const char *issue,
	    const char *json);

/*
 * What agent_config(h, section, key) answers, e.g. ("jira", "url",
 * "http://127.0.0.1:PORT").  value is copied; NULL unsets it.  Returns 0
 * or ENOMEM.
 */
int	mock_host_set_agent_config(struct flagsync_host *h,
	    const char *section, const char *key, const char *value);

/*
 * Makes every later kv_get/kv_put/kv_del fail with err (an errno value),
 * as a full or broken cache would; 0 restores normal service.
 */
void	mock_host_kv_fail(struct flagsync_host *h, int err);
/* Entries in the key/value store. */
size_t	mock_host_kv_count(const struct flagsync_host *h);

/* Buffers handed out by flag_view, issue_flags and kv_get, not released. */
size_t	mock_host_outstanding(const struct flagsync_host *h);

#endif
