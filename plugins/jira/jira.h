/*
 * jira.h - internals of the "jira" output plugin, shared by its files:
 * jira.c (the plugin: config, which issues an event touches, what to
 * write), jira_doc.c (the property and remote-link documents) and
 * jira_http.c (a small libcurl Jira client).  Nothing here is exported
 * from the module: it is built with -fvisibility=hidden and exports only
 * the flagsync_plugin descriptor.
 *
 * Ownership: struct jira_http owns its curl handle, header list, base
 * URL copy and response buffer; email, token and ca_file are borrowed
 * from the host (valid until shutdown()).  Documents built by jira_doc_*
 * are the caller's to free().
 */
#ifndef FLAGSYNC_PLUGIN_JIRA_H
#define FLAGSYNC_PLUGIN_JIRA_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "plughttp.h"

#define JIRA_PROP_MAX		32768	/* Jira's limit on a property value */
#define JIRA_GLOBAL_ID_MAX	255	/* Jira's limit on a remote link's
					 * globalId, characters */
#define JIRA_BODY_MAX		(1024 * 1024)	/* kept of an answer */
#define JIRA_WAIT_RETRIES	5	/* re-sends after a 429 or 503 */
#define JIRA_WAIT_CAP_MS	60000	/* longest Retry-After obeyed at once */
#define JIRA_BACKOFF_BASE_MS	1000	/* first wait without Retry-After */
#define JIRA_BACKOFF_CAP_MS	30000
#define JIRA_MIN_CALL_MS	500	/* less time left: leave it for later */

/* What a request came to. */
enum jira_outcome {
	JIRA_ANSWERED,	/* an HTTP status in status (any, 429 included) */
	JIRA_UNREACHED,	/* no answer: network, timeout, time budget */
};

struct jira_http {
	CURL		*curl;
	struct curl_slist *headers;
	char		*base;		/* [jira] url, no trailing '/' */
	const char	*email;
	const char	*token;		/* never logged or copied into text */
	/* The credential's forms an echoing server might quote (see
	 * jira_http.c), masked out of Jira's words; wiped when freed. */
#define JIRA_SECRETS	4
	char		*secret[JIRA_SECRETS];
	const char	*ca_file;	/* NULL: the system's CAs */
	long		 timeout_ms;	/* [jira] timeout */
	int64_t		 deadline;	/* monotonic ms: end of this delivery */
	unsigned int	 seed;		/* backoff jitter */

	/* The last answer. */
	long		 status;
	struct plughttp_answer answer;	/* at most JIRA_BODY_MAX kept */
	long		 retry_after;	/* seconds, -1 when not sent */
	char		 errbuf[CURL_ERROR_SIZE];
};

/* jira_http.c */
int	jira_http_init(struct jira_http *jh, const char *url,
	    const char *email, const char *token, const char *ca_file,
	    long timeout_s, char *err, size_t errlen);
void	jira_http_release(struct jira_http *jh);
/* Starts a delivery's time budget. */
void	jira_http_begin(struct jira_http *jh, int64_t budget_ms);
int64_t	jira_http_left(const struct jira_http *jh);
/*
 * METHOD base+path with body (NULL: none).  A 429 or 503 is waited out
 * as Retry-After says (or with backoff) and the request sent again, up to
 * JIRA_WAIT_RETRIES times, within the time budget; the status that is
 * left is the answer.  wait(arg, ...) hears of each wait first, for the
 * instance's log (told: the wait is Jira's Retry-After).  JIRA_UNREACHED
 * has a line in err.
 */
enum jira_outcome jira_http_request(struct jira_http *jh, const char *method,
	    const char *path, const char *body,
	    void (*wait)(void *arg, const char *method, const char *path,
	    long status, int64_t wait_ms, int told), void *arg, char *err,
	    size_t errlen);
/* Jira's error body in words ("errorMessages; field: message"). */
void	jira_http_error_words(const struct jira_http *jh, char *out,
	    size_t outlen);
/* A path segment or query value, %-escaped; NULL when out of memory. */
char	*jira_http_escape(struct jira_http *jh, const char *s);
int64_t	jira_now_ms(void);

/* jira_doc.c */
/*
 * The property value of an issue from its issue_flags() document (NULL:
 * no flags): *full with "updated" = now, *bare without it (for comparing
 * with what was last written).  Both NULL when the issue has no flags.
 * 0, ENOMEM or EINVAL (a document that is not an issue's flags).
 */
int	jira_doc_property(json_object *issue, int64_t now_ms, char **full,
	    char **bare);
/* "PROJECT:FLAG" of a flag view, or NULL when it has no such strings. */
char	*jira_doc_pair(json_object *view);
/*
 * The remote link's globalId of a pair: "flagsync:PAIR", or, when that is
 * longer than Jira's JIRA_GLOBAL_ID_MAX characters, its start and
 * "#" and the FNV-1a 64 of the whole in hex, exactly that long: the same
 * pair always gives the same id, so a later delete finds the link.
 * NULL when out of memory; the caller frees.
 */
char	*jira_doc_global_id(const char *pair);
/* The remote-link body of a flag view with a url; NULL when out of
 * memory. */
char	*jira_doc_link(json_object *view, const char *pair);
/* The link summary: "ON in Production · 75% off", "KILLED in ...". */
void	jira_doc_summary(json_object *view, char *out, size_t outlen);
json_object *jira_doc_get(json_object *o, const char *key);
const char *jira_doc_str(json_object *o, const char *key);

#endif
