/*
 * metrics.h - what /metrics shows (flagsync.ini(5)) in the Prometheus
 * text format.
 *
 * Two kinds of figures.  Counters that nothing persists live here, for the
 * life of the process (Prometheus takes a restart's reset in its stride):
 * HTTP requests this process made to Split's Admin API, Split's SDK API
 * and Jira, by API and status code, and the waits a 429 imposed.  http.c
 * counts each answer (struct http_options' api names the API); the API
 * clients count their 429 waits.  Counting takes no lock (relaxed atomic
 * adds), so the poll loop never waits for a scrape.
 *
 * Everything else (per source last success and poll duration, events,
 * flags, links, outputs) is rendered from the `status --json` object
 * (query.h), so that /metrics and `flagsync status --json` never disagree
 * and /metrics shows counts, never names of flags or issues.
 */
#ifndef FLAGSYNC_METRICS_H
#define FLAGSYNC_METRICS_H

#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

/* The api labels; any other name (or NULL) is not counted. */
#define METRICS_API_ADMIN	"admin"
#define METRICS_API_SDK		"sdk"
#define METRICS_API_JIRA	"jira"

/* One request to api answered with status (0: no answer: a timeout, a
 * refused connection, a cancel). */
void	metrics_count_request(const char *api, long status);

/* A 429 made the client wait ms milliseconds before asking api again. */
void	metrics_count_wait(const char *api, int64_t ms);

/*
 * Appends the whole exposition (format 0.0.4) to out: the counters above
 * and the figures of status, a `status --json` object.  0, ENOMEM or
 * EFBIG (out's cap).
 */
int	metrics_render(json_object *status, struct buf *out);

/* Forgets every count (tests). */
void	metrics_reset(void);

#endif
