/*
 * httpd.h - the local HTTP surface (flagsync.ini(5)), served by `flagsync run`
 * when [http] listen is set.
 *
 *   GET /healthz        the `status --json` document (less the names of
 *                       skipped items and unmatched Jira names: counts
 *                       only); 200 when healthy, else 503
 *   GET /metrics        Prometheus text format 0.0.4 (metrics.h)
 *   GET /v1/flags[?project=P]
 *   GET /v1/flags/PROJECT/FLAG
 *   GET /v1/issues/KEY
 *   GET /v1/events[?since=SEQ|TIME&limit=N&flag=&issue=&type=&project=]
 *                       the very bytes of the CLI's --json documents
 *                       (query.h builds both)
 *   GET /v1/findings    404 until flag-hygiene findings exist
 *
 * With [http] token_file, /v1/ needs "Authorization: Bearer TOKEN" (401
 * otherwise; compared in constant time).  Other paths 404, other methods
 * 405.  A request over HTTPD_REQUEST_MAX bytes, or not received within
 * HTTPD_REQUEST_TIMEOUT_S, is dropped.
 *
 * libmicrohttpd serves it from its own threads, one per connection, at
 * most HTTPD_MAX_CONNECTIONS.  Handlers only read: each document is
 * built in its own LMDB read transaction, which never blocks the writer,
 * and no handler takes a lock the poll loop holds.  The configuration is
 * read under a rwlock that only httpd_reload() (a SIGHUP) takes for
 * writing, for as long as a pointer swap.
 *
 * Ownership: the server borrows cfg and c; both must outlive it, or cfg
 * until httpd_reload() hands it a successor.
 */
#ifndef FLAGSYNC_HTTPD_H
#define FLAGSYNC_HTTPD_H

#include "cache.h"
#include "config.h"

#define HTTPD_REQUEST_MAX	8192	/* bytes of request line and headers */
#define HTTPD_REQUEST_TIMEOUT_S	10
#define HTTPD_MAX_CONNECTIONS	16
#define HTTPD_ANSWER_MAX	(64u * 1024 * 1024)	/* largest document */

struct httpd;

/*
 * Starts serving cfg->http_listen; with no listen set, *out is NULL and
 * nothing starts.  Logs "http: listening on ADDRESS:PORT" with the port
 * bound (the kernel's pick for port 0).  The caller blocks the signals it
 * handles before the call: the server's threads inherit its mask.
 * Returns 0, or an errno value with one line in err naming the address.
 */
int	httpd_start(struct httpd **out, const struct config *cfg,
	    struct cache *c, char *err, size_t errlen);

/*
 * Makes cfg current: the same listen address keeps the server (and its
 * connections) and swaps the configuration once no handler reads it; a
 * different one (or none) stops it and starts the new one.  On an error
 * the old server is gone (*h NULL) and err says why.  After it returns
 * nothing refers to the previous configuration.
 */
int	httpd_reload(struct httpd **h, const struct config *cfg,
	    struct cache *c, char *err, size_t errlen);

/* Stops serving and waits for the handlers; NULL is fine. */
void	httpd_stop(struct httpd *h);

#endif
