/*
 * jira.h - the Jira Cloud REST API v3 client (as Atlassian documents it).
 *
 * Requests go to URL/rest/api/3/..., where URL is the site
 * (https://example.atlassian.net) or the gateway for scoped tokens
 * (https://api.atlassian.com/ex/jira/{cloudId}); the client only appends
 * the path.  Authentication is basic auth with the account email and an
 * API token.  The token is a secret: it travels only in the Authorization
 * header and never reaches a message or a log line.
 *
 * Retry policy (one place, jira_request(), flagsync(8)): a 429 or a 503 waits
 * as Retry-After says (seconds, or an HTTP date), never less; a wait over
 * JIRA_MAX_WAIT_S seconds is not taken at all: the request fails with
 * FS_ERATELIMIT and the next cycle tries again, so a poll never hangs and
 * never retries earlier than told.  Without Retry-After it backs off
 * exponentially with jitter.  At most JIRA_MAX_429 429 waits; 5xx,
 * timeouts and connection errors get at most JIRA_MAX_RETRIES retries.
 * 401/403 -> FS_EAUTH with a message naming the account email and where
 * the token comes from; other answers -> one line built from Jira's error
 * body ("Jira: 400 at URL: msg; field: msg").  Every request is sent
 * again on a retry, so callers send only idempotent requests (GET, PUT,
 * DELETE, and POSTs such as the search).
 *
 * Ownership: the client owns copies of every option string; a JSON tree
 * returned by jira_request() belongs to the caller (json_object_put());
 * the fields object handed to a jira_issue_cb is borrowed for the call.
 */
#ifndef FLAGSYNC_JIRA_H
#define FLAGSYNC_JIRA_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

#define JIRA_SEARCH_PAGE	100	/* maxResults asked of the search */
#define JIRA_MAX_RETRIES	3	/* for 5xx, timeouts, network */
#define JIRA_MAX_429		5
#define JIRA_MAX_WAIT_S		60
#define JIRA_MAX_BODY		(8u * 1024 * 1024)

struct jira_options {
	const char *url;	/* site or gateway URL; a trailing '/' is fine */
	const char *email;	/* the account the token belongs to */
	const char *api_token;	/* secret */
	int	 timeout;	/* seconds a request; 0 = 30 */
	const char *ca_file;	/* extra CAs, NULL for none */
	size_t	 max_body;	/* 0 = JIRA_MAX_BODY */
	int64_t	 backoff_base_ms;	/* 0 = 1000; tests use less */
	volatile sig_atomic_t *cancel;	/* may be NULL */
};

struct jira_client;

/* 0, EINVAL (url, email or token missing), or ENOMEM / EIO. */
int	jira_client_create(struct jira_client **out,
	    const struct jira_options *o);
void	jira_client_free(struct jira_client *jc);

/*
 * One request with the retry policy above.  method is "GET", "POST",
 * "PUT" or "DELETE"; path starts with "/rest/" and is already escaped;
 * body is JSON text or NULL.  *status gets the last HTTP status (0 when
 * no answer arrived).  On a 2xx answer returns 0 and *json holds the
 * parsed body (NULL for an empty one, as a 204 has), which the caller
 * puts.  Otherwise *json is NULL, err gets one line and the return is
 * FS_EAUTH (401/403), FS_ENOTFOUND (404), FS_ERATELIMIT, FS_EHTTP (other
 * statuses, 5xx after the retries), FS_ETIMEOUT, FS_ENETWORK,
 * FS_ECANCELED, FS_EPROTO (a 2xx body that is not JSON), EFBIG (answer
 * over the cap), ENOMEM or EINVAL.
 */
int	jira_request(struct jira_client *jc, const char *method,
	    const char *path, const char *body, long *status,
	    json_object **json, char *err, size_t errlen);

/*
 * Called once per issue found, in the order Jira returns them.  key is
 * the issue key; fields is the issue's "fields" object, or NULL when the
 * issue has none.  Both are borrowed for the call only.  A non-zero
 * return stops the search and is returned by jira_search().
 */
typedef int (*jira_issue_cb)(void *arg, const char *key, json_object *fields);

/*
 * POST /rest/api/3/search/jql with {"jql", "fields", "maxResults": 100,
 * "nextPageToken"}, page after page until isLast (a page without isLast
 * and without a nextPageToken is the last one too, and so, with a
 * warning, is isLast false without a token, as Atlassian's own client
 * takes it).  A token Jira already gave, or a body that is not the
 * documented shape is FS_EPROTO: paging would never end or would skip
 * issues.  Any failure means the whole search failed: callers must drop
 * whatever the callback saw.
 */
int	jira_search(struct jira_client *jc, const char *jql,
	    const char *const *fields, size_t nfields, jira_issue_cb cb,
	    void *arg, char *err, size_t errlen);

/*
 * jira_search() for "key in (...)" JQL.  Jira answers such a search with
 * a 400 when it names a key that does not exist or cannot be seen, one
 * errorMessages entry per key ("An issue with key 'X' does not exist for
 * field 'key'.", "The value 'X' does not exist for the field 'key'.",
 * "The issue key 'X' for field 'key' is invalid.").  Then gone(arg, key)
 * is called for each key named and FS_ENOTFOUND returned: the caller
 * drops those keys and searches again.  A 400 that names no key is the
 * FS_EHTTP jira_search() returns.  A non-zero return from gone is taken
 * as ENOMEM.
 */
#define JIRA_KEY_MAX	256	/* bytes of a key read from a message */
typedef int (*jira_key_cb)(void *arg, const char *key);
int	jira_search_keys(struct jira_client *jc, const char *jql,
	    const char *const *fields, size_t nfields, jira_issue_cb cb,
	    jira_key_cb gone, void *arg, char *err, size_t errlen);

/* Requests made so far. */
uint64_t jira_request_count(const struct jira_client *jc);

/*
 * The JQL of the jira-field source: "FIELD is not EMPTY", " AND (JQL)"
 * when jql is not NULL, then " ORDER BY key ASC" (bounded, as the
 * enhanced search requires).  FIELD is cf[N] for customfield_N, the name
 * itself when it is a plain word (labels), and a quoted string otherwise.
 * Appends to out; 0, ENOMEM or EFBIG.
 */
int	jira_field_jql(const char *field, const char *jql, struct buf *out);

/*
 * The flag names a field value lists.  value may be a string of names
 * separated by commas and/or white space, an array of strings (labels) or
 * of objects with a string "value" (multi-select) or "name", one such
 * object, or a rich text document (API v3 text areas), whose text is
 * split like a string.  NULL lists nothing.  cb gets each non-empty name
 * (NUL-terminated, borrowed) or, with bad set, a short description of a
 * part it cannot read ("a number").  A non-zero return from cb stops the
 * walk and is returned; otherwise 0 or ENOMEM.
 */
typedef int (*jira_name_cb)(void *arg, const char *name, int bad);
int	jira_field_names(json_object *value, jira_name_cb cb, void *arg);

#endif
