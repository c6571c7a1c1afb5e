/*
 * http.h - one HTTP request at a time over libcurl, politely.
 *
 * The client spaces requests so that no more than max_rps start in any
 * second (but never more than HTTP_PACE_MAX_GAP_S apart, whatever tiny
 * max_rps it is given), caps the answer body, never follows a redirect
 * (a 3xx comes back as it is, its Location kept so the caller can name
 * it: request headers hold credentials), verifies TLS always, and can be
 * cancelled
 * from another thread or a signal handler through a flag.  It does not
 * retry: the API clients (split.c, later jira.c) own their retry policy
 * because Split and Jira signal rate limits differently; http_backoff_ms()
 * gives them the shared exponential backoff with jitter.
 *
 * Ownership: the client owns its CURL handle; a response owns its body and
 * header strings until http_response_release().
 */
#ifndef FLAGSYNC_HTTP_H
#define FLAGSYNC_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_MAX_BODY	(16u * 1024 * 1024)	/* default answer cap */
#define HTTP_PACE_MAX_GAP_S	60	/* longest pause max_rps may ask */

struct http_options {
	double	 max_rps;	/* 0 = no ceiling */
	int	 timeout;	/* seconds for the whole request */
	const char *ca_file;	/* extra CAs, NULL for none */
	size_t	 max_body;	/* 0 = HTTP_MAX_BODY */
	const char *user_agent;	/* NULL = "flagsync/VERSION" */
	volatile sig_atomic_t *cancel;	/* non-zero aborts transfers; may be NULL */
	const char *api;	/* metrics.h label (METRICS_API_*); NULL: not counted */
	/* A pacing file shared with other processes (pace.h): max_rps then
	 * counts their requests too.  NULL, or a file that cannot be
	 * opened (logged): this client paces alone. */
	const char *pace_file;
};

struct http_header {
	const char *name;
	const char *value;
};

struct http_response {
	long	 status;	/* 0 when no answer arrived */
	struct buf body;
	/* Response headers this module keeps (others are dropped): */
	char	*retry_after;		/* Retry-After */
	char	*rl_reset_org;		/* X-RateLimit-Reset-Seconds-Org */
	char	*rl_reset_ip;		/* X-RateLimit-Reset-Seconds-IP */
	char	*content_type;
	char	*location;		/* Location (never followed) */
};

struct http_client;

int	http_client_create(struct http_client **out, const struct http_options *o);
void	http_client_free(struct http_client *hc);

void	http_response_init(struct http_response *r);
void	http_response_release(struct http_response *r);

/*
 * Performs one request.  method is "GET", "POST", "PUT" or "DELETE"; body
 * may be NULL.  Waits first if max_rps would be exceeded.  Returns 0 when
 * an answer arrived (any status; see r->status), FS_ETIMEOUT,
 * FS_ENETWORK (DNS, connect, TLS: err says which), FS_ECANCELED, EFBIG
 * (answer over the cap), ENOMEM, or EINVAL (unknown method, a header
 * holding a line break, a URL curl refuses).  err gets one line naming
 * the URL, never a request header.
 * r must have been initialised; its previous content is discarded.
 */
int	http_request(struct http_client *hc, const char *method,
	    const char *url, const struct http_header *hdrs, size_t nhdrs,
	    const char *body, struct http_response *r, char *err,
	    size_t errlen);

/*
 * Receives the body of a 2xx answer as it arrives, in pieces of any
 * size (decoded when the server compressed it).  Returns 0 to go on;
 * any other value aborts the transfer and is what the request returns.
 */
typedef int (*http_sink_fn)(void *arg, const char *data, size_t len);

/*
 * A GET whose 2xx body goes to sink instead of r->body, so that an
 * answer larger than memory can be read: the body cap does not apply
 * (the sink bounds what it keeps).  Any other answer is buffered in
 * r->body as http_request() does.  Returns as http_request(), or the
 * sink's error (err then says only that the reader refused the answer:
 * the sink has its own words).
 */
int	http_request_stream(struct http_client *hc, const char *url,
	    const struct http_header *hdrs, size_t nhdrs, http_sink_fn sink,
	    void *arg, struct http_response *r, char *err, size_t errlen);

/*
 * Backoff before retry number attempt (0-based): base_ms * 2^attempt,
 * capped at cap_ms, with up to +-25 % jitter (the result never exceeds
 * cap_ms).  0 when base_ms or cap_ms is not positive.
 */
int64_t	http_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms);

/*
 * Sleeps ms milliseconds unless *cancel becomes non-zero (checked every
 * 100 ms).  Returns 0 or FS_ECANCELED.
 */
int	http_sleep_ms(int64_t ms, volatile sig_atomic_t *cancel);

/* URL-escapes s (a path segment or query value), appending to out.
 * Returns 0, ENOMEM or EFBIG. */
int	http_escape(const char *s, struct buf *out);

#endif
