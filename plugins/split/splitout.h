/*
 * splitout.h - internals of the "split" output plugin, shared by its
 * files: split_out.c (the plugin: config, which tags a flag should carry,
 * the read-modify-write of its tags) and split_http.c (a small libcurl
 * client of Split's Admin API that waits its turn in the shared pacing
 * file, agent/pace.c, and waits out 429s).  Nothing here is exported
 * from the module: it is built with -fvisibility=hidden and exports only
 * the flagsync_plugin descriptor.
 *
 * Ownership: struct so_http owns its curl handle, header list (the
 * Authorization or x-api-key line, wiped when freed), base URL copy,
 * pacing file and response buffer; key and ca_file are borrowed from the
 * host (valid until shutdown()).
 */
#ifndef FLAGSYNC_PLUGIN_SPLITOUT_H
#define FLAGSYNC_PLUGIN_SPLITOUT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "plughttp.h"

struct pace;

#define SO_BODY_MAX		(4 * 1024 * 1024)	/* kept of an answer */
#define SO_RETRIES		3	/* re-sends after a 5xx or no answer */
#define SO_BACKOFF_MS		250	/* first wait before one, doubling */
#define SO_WAIT_MIN_MS		1000	/* a 429 waits at least ... */
#define SO_WAIT_MAX_MS		60000	/* ... and at most this, at a time */

/* What a request came to. */
enum so_outcome {
	SO_ANSWERED,	/* an HTTP status in status (a 5xx after retries) */
	SO_UNREACHED,	/* no answer after the retries: err says why */
	SO_CANCELLED,	/* cancelled() said stop while waiting */
};

/* Told of every wait, for the instance's log. */
typedef void (*so_wait_fn)(void *arg, const char *method, const char *path,
    long status, int64_t wait_ms);

struct so_http {
	CURL		*curl;
	struct curl_slist *headers;	/* holds the credential */
	char		*base;		/* api_url, no trailing '/' */
	const char	*key;		/* masked out of Split's words */
	const char	*ca_file;	/* NULL: the system's CAs */
	long		 timeout_ms;	/* [split] timeout */
	struct pace	*pace;		/* shared max_rps, or NULL */
	int64_t		 gap_ns;	/* 0: no ceiling */
	int64_t		 last_start;	/* boot ns, alone pacing */
	int		 (*cancelled)(void *);
	void		*cancel_arg;
	so_wait_fn	 on_wait;
	void		*wait_arg;

	/* The last answer. */
	long		 status;
	struct plughttp_answer answer;	/* at most SO_BODY_MAX kept */
	long		 reset_org;	/* X-RateLimit-Reset-Seconds-Org, -1 */
	long		 reset_ip;	/* X-RateLimit-Reset-Seconds-IP, -1 */
	char		 errbuf[CURL_ERROR_SIZE];
};

/*
 * Sets up the client.  x_api_key: the key goes in x-api-key (Harness
 * tokens) instead of Authorization: Bearer.  max_rps > 0 paces requests,
 * through pace_file when it is not NULL and opens (else alone; *warn
 * then gets why, for the log).  0 or ENOMEM with err set.
 */
int	so_http_init(struct so_http *sh, const char *url, const char *key,
	    int x_api_key, const char *ca_file, long timeout_s, double max_rps,
	    const char *pace_file, char *warn, size_t warnlen, char *err,
	    size_t errlen);
void	so_http_release(struct so_http *sh);
/*
 * METHOD base+path with body (NULL: none).  Waits its turn first.  A 429
 * is waited out as X-RateLimit-Reset-Seconds-Org/-IP say (the longer of
 * the two, at least SO_WAIT_MIN_MS, at most SO_WAIT_MAX_MS at a time)
 * and sent again, for as long as it takes unless cancelled; a 5xx or no
 * answer is sent again SO_RETRIES times after a doubling backoff.
 */
enum so_outcome so_http_request(struct so_http *sh, const char *method,
	    const char *path, const char *body, char *err, size_t errlen);
/* Split's words about the last answer ("message", or the start of the
 * body): one printable line, the key masked. */
void	so_http_words(const struct so_http *sh, char *out, size_t outlen);
/* A path segment, %-escaped; NULL when out of memory.  free() it. */
char	*so_http_escape(struct so_http *sh, const char *s);

#endif
