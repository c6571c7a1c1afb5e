/*
 * host.h - the host side of the plugin ABI: struct flagsync_host (one per
 * plugin instance) and the function table plugins call
 * (<flagsync/plugin.h>).
 *
 * The table serves an instance its [plugin NAME] keys (typed, with
 * errors that name the key's file:line), logging with the instance name,
 * read-only cache queries as JSON text, its private key/value store, the
 * record of the Split tags flagsync wrote itself (owntags), the
 * agent secrets it was granted (`credentials`), and whether its call
 * should give up.  Every function is safe to call from the instance's
 * worker thread while other instances run.
 *
 * Ownership: a host borrows its config section and the cache, which must
 * outlive it; host_release() frees what the host made.
 */
#ifndef FLAGSYNC_HOST_H
#define FLAGSYNC_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <flagsync/plugin.h>

#include "cache.h"
#include "config.h"

struct flagsync_host {
	const struct config *cfg;	/* may be NULL (check-config of one) */
	const struct config_plugin *pcfg;
	struct cache *c;
	char	 jira_timeout[16];	/* [jira] timeout as text */
	char	 timeout[16];		/* the instance's timeout as text */
	char	 split_timeout[16];	/* [split] timeout as text */
	char	 split_max_rps[32];	/* [split] max_rps as text */
	char	 pace_file[4096];	/* STATE_DIR/split-pace, "" if none */
	unsigned grants;		/* CONFIG_CRED_*: key and implicit */
	/* Set by the deliverer (NULL elsewhere): cancelled() is true while
	 * either is. */
	const _Atomic bool *stopping;
	const _Atomic bool *overdue;
	/* The last config_error() line, "" when none (host_config_reset). */
	char	 config_err[1024];
	pthread_mutex_t mtx;	/* guards last_error */
	char	 last_error[512];
	int64_t	 last_error_time;	/* ms epoch, 0 when none */
};

const struct flagsync_host_api *host_api(void);

void	host_init(struct flagsync_host *h, const struct config *cfg,
	    const struct config_plugin *pcfg, struct cache *c);
void	host_release(struct flagsync_host *h);
/* Records msg, scrubbed of secrets, as the instance's last error (also
 * used by the deliverer). */
void	host_set_error(struct flagsync_host *h, const char *msg);
/*
 * Makes the error text a plugin wrote into err (len bytes) safe to log and
 * store: ends it with a NUL whatever the plugin wrote, and takes out the
 * secrets (scrub.h) it may quote, e.g. from a server's error body.
 */
void	host_clean_error(char *err, size_t len);
/* Forgets the last config_error(), before a check_config() or init(). */
void	host_config_reset(struct flagsync_host *h);
/* The line config_error() recorded since the reset, or NULL. */
const char *host_config_message(const struct flagsync_host *h);
/* Copies the last error ("" when none) and returns its time. */
int64_t	host_last_error(struct flagsync_host *h, char *buf, size_t len);

#endif
