/*
 * plughttp.h - the pieces of a bundled plugin's own libcurl client that
 * the jira and split outputs share: the capped answer collector, the
 * reading of a header line's number, the curl options every request
 * carries, and %-escaping.  Compiled into each plugin module that uses
 * it (the modules link nothing of flagsync's) and, like the rest of a
 * plugin, not exported: the modules are built -fvisibility=hidden.
 *
 * Ownership: struct plughttp_answer owns its buffer (plughttp_answer_
 * reset() frees it); struct plughttp_call borrows every pointer it holds
 * for the one request it sets up.
 */
#ifndef FLAGSYNC_PLUGHTTP_H
#define FLAGSYNC_PLUGHTTP_H

#include <stddef.h>

#include <curl/curl.h>
#include <json-c/json.h>

/* An answer's body, kept up to max bytes. */
struct plughttp_answer {
	char	*body;		/* NUL-terminated; NULL when nothing came */
	size_t	 len;
	size_t	 max;		/* kept at most */
	int	 cut;		/* more came than max: the transfer ended */
};

/* Frees the body; max stays. */
void	plughttp_answer_reset(struct plughttp_answer *a);
/*
 * CURLOPT_WRITEFUNCTION for a struct plughttp_answer: keeps the first
 * max bytes, and ends the transfer (cut set) when more come.
 */
size_t	plughttp_answer_cb(char *p, size_t size, size_t n, void *arg);
/*
 * Whether an exchange that ended with cc has an answer: a status with a
 * body cut at the cap still says how it went.
 */
int	plughttp_answered(CURLcode cc, const struct plughttp_answer *a,
	    long status);

/* The answer as JSON (json_object_put() it), or NULL when it is
 * missing, cut at the cap or not JSON. */
json_object *plughttp_answer_json(const struct plughttp_answer *a);

/*
 * curl_global_init(), which libcurl counts (the agent has its own): 0, or
 * EIO with the reason in err.  Each 0 wants a curl_global_cleanup().
 */
int	plughttp_global_init(char *err, size_t errlen);

/* Whether header line p (len bytes) is a status line ("HTTP/..."). */
int	plughttp_header_status(const char *p, size_t len);
/*
 * The value of header line p (len bytes) when its field is name (lower
 * case with the ':', matched without case), with *vlen its length; NULL
 * when the line is another field's.
 */
const char *plughttp_header_field(const char *p, size_t len,
	    const char *name, size_t *vlen);
/*
 * A header value (n bytes at v, the line's CR LF included) without its
 * blanks around, into text as a string: 0, or -1 when it is empty or
 * needs textlen bytes or more.
 */
int	plughttp_header_text(const char *v, size_t n, char *text,
	    size_t textlen);
/* A decimal number that is the whole of text: 0 with *num, or -1. */
int	plughttp_number(const char *text, long *num);

/* Appends a header line to *list (untouched on failure): 0 or ENOMEM. */
int	plughttp_header_add(struct curl_slist **list, const char *line);
/* url without trailing '/'s, NULL when out of memory: free() it. */
char	*plughttp_base(const char *url);
/* A path segment or query value, %-escaped; NULL when out of memory.
 * free() it. */
char	*plughttp_escape(CURL *curl, const char *s);

/* What one request is: what plughttp_setup() gives curl. */
struct plughttp_call {
	const char	*method;	/* "POST" sends body as is */
	const char	*url;
	const char	*body;		/* NULL: none */
	long		 timeout_ms;
	long		 connect_ms;	/* at most; timeout_ms when less */
	const char	*ca_file;	/* NULL: the system's CAs */
	const char	*user_agent;
	struct curl_slist *headers;
	struct plughttp_answer *answer;
	curl_write_callback header_cb;
	void		*header_arg;
	char		*errbuf;	/* CURL_ERROR_SIZE bytes */
};

/*
 * Resets curl and sets the options every request of the plugins takes:
 * TLS verified, http and https only, no redirect followed (the request
 * carries a credential), the body into c->answer, no signals.  The
 * caller adds its own after.  The first failure's code, or CURLE_OK.
 */
CURLcode plughttp_setup(CURL *curl, const struct plughttp_call *c);

#endif
