/*
 * jira.c - the "jira" output plugin (flagsync-plugin(3), Jira writer): keeps an
 * issue property and one remote link per flag on every Jira issue that
 * flags are linked to.
 *
 *	[plugin jira]
 *	property  = flagsync.flags	; the issue property written
 *	web_links = yes			; also a remote link per (issue, flag)
 *
 * The site, account, token, timeout and CAs are the agent's own [jira]
 * section (agent_config()).  An event touches the issues it names (a
 * flag event: its "issues"; a link event: its "issue"); for each, the
 * plugin asks the host for the issue's flags now and writes what differs
 * from what it last wrote there.  What was written lives in the
 * instance's key/value store, and only once Jira took it:
 *
 *	prop:ISSUE		the property value, "updated" aside
 *	link:ISSUE:PROJECT:FLAG	the remote link body last posted
 *	links:ISSUE		PROJECT:FLAG lines: links that may exist
 *	refused:ISSUE		"SEQ N": event SEQ was refused N times there
 *
 * so a delivery that stops half way (RETRY, crash) leaves the store
 * saying exactly what is still to do, and delivering an event again
 * makes no call for what is already right.  "links:ISSUE" gains a pair
 * just before its link is posted, never after: a crash between the post
 * and the store cannot then leave a link nobody would remove.
 *
 * Errors, one issue at a time, so that one issue never stalls the
 * others of its event nor the events after it:
 *  - 404 on a write is FAIL: the issue is missing or hidden from the
 *    account; the dead letter names it.  404 on a DELETE is ambiguous
 *    (gone already, issue missing or hidden, or for a property: may not
 *    edit), so the issue is fetched with the property to tell which.
 *  - 403 (and a property DELETE 404 on an issue that still holds it):
 *    the account may browse but not edit or link this issue, a closed
 *    one say.  The other issues are written; the event is RETRY until
 *    the issue was refused JIRA_REFUSED_TRIES times for it (counted as
 *    "refused:ISSUE" = "SEQ N" in the store, so restarts do not reset
 *    it; a write to the issue clears it), then FAIL naming every issue
 *    not written.  A later event touching the issue tries it again.
 *  - 401 is RETRY for ever with an ERR line naming the account (never
 *    the token): the credential is wrong for every issue alike, and
 *    fixing it must not lose events.
 *  - 429/503 are waited out inside the call (jira_http.c) and RETRY if
 *    Jira keeps refusing; 5xx, timeouts and an exhausted time budget are
 *    RETRY; other 4xx are FAIL with Jira's own words.
 *
 * Ownership: the context owns the HTTP client and the set of flags
 * already reported as having no URL; property and the [jira] strings
 * point into the host's config, valid until shutdown() returns.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include <flagsync/plugin.h>

#include "jira.h"
#include "plugutil.h"
#include "strset.h"

#define JIRA_PROPERTY		"flagsync.flags"
#define JIRA_PROPERTY_MAX	255	/* Jira's limit on a property key */
#define JIRA_TIMEOUT		30	/* [jira] and instance default, s */
#define JIRA_KV_KEY_MAX		256
#define JIRA_API		"/rest/api/3/issue/"

struct jira_conf {
	const char	*property;
	int		 web_links;
	int		 findings_comment;	/* comment when a finding opens */
	int64_t		 budget_ms;	/* of one deliver() call */
	const char	*url;
	const char	*email;
	const char	*token;
	const char	*ca_file;
	long		 timeout;	/* [jira] timeout, seconds */
};

struct jira_ctx {
	const struct flagsync_host_api *api;
	struct flagsync_host *host;
	struct jira_conf conf;
	struct jira_http http;
	struct strset	 no_url;	/* pairs already logged */
};

/*
 * A 403 on one issue (Jira lets the account browse it but not edit or
 * link it: a closed issue, say) is retried with the event this many
 * times in all, then the event is a dead letter naming the issue.
 */
#define JIRA_REFUSED_TRIES	3

/*
 * jira_call()'s fourth answer, kept inside the plugin: Jira refused this
 * issue.  jira_deliver_issues() counts it and turns it into RETRY or
 * FAIL; the other issues of the event go on meanwhile.
 */
#define JIRA_REFUSED		(-1)

/* One call's meaning for the caller. */
enum jira_call_kind {
	JIRA_WRITE,	/* 404: the issue is missing, FAIL */
	JIRA_REMOVE	/* 404: gone already, or a hidden refusal: ask */
};

/* One write to an issue, and the words that name it in errors. */
struct jira_op {
	const char	*method;
	const char	*path;
	const char	*body;		/* NULL: none */
	const char	*issue;
	const char	*what;		/* "property P", "remote link G" */
	int		 link;		/* a remote link, not the property */
	enum jira_call_kind kind;
};

static const char *const jira_keys[] = {
	"property", "web_links", "findings_comment", "module", "events",
	"timeout", NULL
};

/* ------------------------------------------------------------ config */

static int
jira_known(const char *key)
{
	size_t i;

	for (i = 0; jira_keys[i] != NULL; i++)
		if (strcmp(key, jira_keys[i]) == 0)
			return 1;
	return 0;
}

/* The host API of flagsync 0.1 ends before agent_config. */
static int
jira_has_agent_config(const struct flagsync_host_api *api)
{
	return api->struct_size >= offsetof(struct flagsync_host_api,
	    agent_config) + sizeof(api->agent_config) &&
	    api->agent_config != NULL;
}

/* The [plugin NAME] keys.  0, or EINVAL with err set. */
static int
jira_config_plugin(const struct flagsync_host_api *api,
    struct flagsync_host *h, struct jira_conf *c, char *err, size_t errlen)
{
	const char *key, *value;
	size_t i;

	for (i = 0; (key = api->config_key(h, i, &value)) != NULL; i++)
		if (!jira_known(key)) {
			plug_err(err, errlen, "unknown key \"%s\" (the jira "
			    "module knows property, web_links and "
			    "findings_comment)", key);
			return EINVAL;
		}
	if ((c->property = api->config_get(h, "property")) == NULL)
		c->property = JIRA_PROPERTY;
	if (c->property[0] == '\0' ||
	    strlen(c->property) > JIRA_PROPERTY_MAX) {
		plug_err(err, errlen, "property = \"%s\": use a key of 1 to "
		    "%d bytes, e.g. %s", c->property, JIRA_PROPERTY_MAX,
		    JIRA_PROPERTY);
		return EINVAL;
	}
	c->web_links = 1;
	value = api->config_get(h, "web_links");
	if (value != NULL && plug_bool(value, &c->web_links) != 0) {
		plug_err(err, errlen, "web_links = \"%s\": use yes or no",
		    value);
		return EINVAL;
	}
	value = api->config_get(h, "findings_comment");
	if (value != NULL && plug_bool(value, &c->findings_comment) != 0) {
		plug_err(err, errlen, "findings_comment = \"%s\": use yes or "
		    "no", value);
		return EINVAL;
	}
	/* Finish well inside the instance's timeout, or the host reports
	 * the call as stuck. */
	c->budget_ms = plug_seconds(api->config_get(h, "timeout"),
	    JIRA_TIMEOUT) * 900;
	return 0;
}

/* The agent's [jira] section.  0, or EINVAL with err set. */
static int
jira_config_agent(const struct flagsync_host_api *api,
    struct flagsync_host *h, struct jira_conf *c, char *err, size_t errlen)
{
	if (!jira_has_agent_config(api)) {
		plug_err(err, errlen, "this flagsync is too old for the jira "
		    "module: its plugin API has no agent_config()");
		return EINVAL;
	}
	c->url = api->agent_config(h, "jira", "url");
	c->email = api->agent_config(h, "jira", "email");
	c->token = api->agent_config(h, "jira", "api_token");
	c->ca_file = api->agent_config(h, "jira", "ca_file");
	c->timeout = plug_seconds(api->agent_config(h, "jira", "timeout"),
	    JIRA_TIMEOUT);
	if (c->url == NULL || c->url[0] == '\0') {
		plug_err(err, errlen, "[jira] url is not set: the Jira site "
		    "to write to, e.g. https://example.atlassian.net");
		return EINVAL;
	}
	if (strncasecmp(c->url, "https://", 8) != 0 &&
	    strncasecmp(c->url, "http://", 7) != 0) {
		plug_err(err, errlen, "[jira] url = \"%s\": use an http:// or "
		    "https:// URL", c->url);
		return EINVAL;
	}
	if (c->email == NULL || c->email[0] == '\0') {
		plug_err(err, errlen, "[jira] email is not set: the Atlassian "
		    "account the jira module writes as");
		return EINVAL;
	}
	if (c->token == NULL || c->token[0] == '\0') {
		plug_err(err, errlen, "[jira] api_token_file is not set (nor "
		    "api_token, $FLAGSYNC_JIRA_API_TOKEN or the jira-api-token "
		    "credential): the API token of %s", c->email);
		return EINVAL;
	}
	return 0;
}

static int
jira_config(const struct flagsync_host_api *api, struct flagsync_host *h,
    struct jira_conf *c, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = jira_config_plugin(api, h, c, err, errlen)) != 0)
		return rc;
	return jira_config_agent(api, h, c, err, errlen);
}

/* ------------------------------------------------------------ the store */

/*
 * A store key: "PREFIX:ISSUE" or "PREFIX:ISSUE:PAIR".  Keys may be 256
 * bytes; a longer one ends in a digest of PAIR instead (FNV-1a, twice
 * with different bases: 128 bits, no collision among one issue's flags).
 */
static char *
jira_kv_key(const char *prefix, const char *issue, const char *pair)
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
	const unsigned char *p;
	char *key;
	int n;

	if (pair == NULL)
		n = asprintf(&key, "%s:%s", prefix, issue);
	else
		n = asprintf(&key, "%s:%s:%s", prefix, issue, pair);
	if (n < 0)
		return NULL;
	if (n <= JIRA_KV_KEY_MAX || pair == NULL)
		return key;
	free(key);
	for (p = (const unsigned char *)pair; *p != '\0'; p++) {
		a = (a ^ *p) * 0x100000001b3ULL;
		b = (b ^ *p) * 0x100000001b3ULL;
	}
	if (asprintf(&key, "%s:%s:#%016" PRIx64 "%016" PRIx64, prefix, issue,
	    a, b) < 0)
		return NULL;
	return key;
}

static int
jira_kv_failed(const char *what, const char *key, int e, char *err,
    size_t errlen)
{
	char ebuf[128];

	plug_err(err, errlen, "cannot %s %s in the plugin's store: %s", what,
	    key, e > 0 ? plug_strerror(e, ebuf, sizeof(ebuf)) : "host error");
	return FLAGSYNC_RETRY;
}

/* *value (to free) and *len, or *value NULL when absent.  OK or RETRY. */
static int
jira_kv_read(struct jira_ctx *jc, const char *key, char **value, size_t *len,
    char *err, size_t errlen)
{
	void *v;
	int rc;

	*value = NULL;
	*len = 0;
	rc = jc->api->kv_get(jc->host, key, &v, len);
	if (rc == FLAGSYNC_ENOTFOUND)
		return FLAGSYNC_OK;
	if (rc != 0)
		return jira_kv_failed("read", key, rc, err, errlen);
	/* A copy of our own: the host's buffer is the host's to free. */
	*value = malloc(*len + 1);
	if (*value != NULL) {
		memcpy(*value, v, *len);
		(*value)[*len] = '\0';
	}
	jc->api->release(jc->host, v);
	if (*value == NULL)
		return jira_kv_failed("read", key, ENOMEM, err, errlen);
	return FLAGSYNC_OK;
}

static int
jira_kv_write(struct jira_ctx *jc, const char *key, const char *value,
    char *err, size_t errlen)
{
	int rc;

	if (value == NULL)
		rc = jc->api->kv_del(jc->host, key);
	else
		rc = jc->api->kv_put(jc->host, key, value, strlen(value));
	if (rc != 0)
		return jira_kv_failed(value == NULL ? "remove" :
		    "write", key, rc, err, errlen);
	return FLAGSYNC_OK;
}

static int
jira_links_load(struct jira_ctx *jc, const char *key, struct strset *s,
    char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if ((rc = jira_kv_read(jc, key, &text, &len, err, errlen)) !=
	    FLAGSYNC_OK || text == NULL)
		return rc;
	if (strset_parse(s, text, len) != 0)
		rc = jira_kv_failed("read", key, ENOMEM, err, errlen);
	free(text);
	return rc;
}

/* Stores the set, or removes the key when it is empty. */
static int
jira_links_save(struct jira_ctx *jc, const char *key,
    const struct strset *s, char *err, size_t errlen)
{
	char *text, *p;
	size_t len = 0, i;
	int rc;

	if (s->n == 0)
		return jira_kv_write(jc, key, NULL, err, errlen);
	for (i = 0; i < s->n; i++)
		len += strlen(s->v[i]) + 1;
	if ((text = malloc(len)) == NULL)
		return jira_kv_failed("write", key, ENOMEM, err, errlen);
	for (p = text, i = 0; i < s->n; i++) {
		len = strlen(s->v[i]);
		memcpy(p, s->v[i], len);
		p[len] = i + 1 < s->n ? '\n' : '\0';
		p += len + 1;
	}
	rc = jira_kv_write(jc, key, text, err, errlen);
	free(text);
	return rc;
}

/* ------------------------------------------------------------- calls */

static void
jira_on_wait(void *arg, const char *method, const char *path, long status,
    int64_t wait_ms, int told)
{
	struct jira_ctx *jc = arg;

	jc->api->log(jc->host, FLAGSYNC_LOG_INFO, "Jira answered %ld to %s "
	    "%s; waiting %" PRId64 ".%03d s %s", status, method, path,
	    wait_ms / 1000, (int)(wait_ms % 1000), told ?
	    "as its Retry-After says" : "(no Retry-After: backing off)");
}

/* A 401: the credential, which is wrong for every issue alike. */
static int
jira_unauthorised(struct jira_ctx *jc, long status, char *err, size_t errlen)
{
	plug_err(err, errlen, "Jira rejected %s (%ld): check [jira] email and "
	    "api_token_file", jc->conf.email, status);
	jc->api->log(jc->host, FLAGSYNC_LOG_ERR, "%s", err);
	return FLAGSYNC_RETRY;
}

/* A 403 on an issue: this account may not change it.  JIRA_REFUSED. */
static int
jira_refused(struct jira_ctx *jc, const struct jira_op *op, char *err,
    size_t errlen)
{
	char words[256];

	jira_http_error_words(&jc->http, words, sizeof(words));
	plug_err(err, errlen, "%s: 403 Forbidden on %s %s: %s %s this issue "
	    "(closed?)", op->issue, op->method, op->what, jc->conf.email,
	    op->link ? "may not link" : "cannot edit");
	jc->api->log(jc->host, FLAGSYNC_LOG_DEBUG, "%s %s: 403: %s",
	    op->method, op->path, words);
	return JIRA_REFUSED;
}

/* What a status other than success means: RETRY, FAIL or JIRA_REFUSED,
 * err set. */
static int
jira_status(struct jira_ctx *jc, const struct jira_op *op, char *err,
    size_t errlen)
{
	long status = jc->http.status;
	char words[512];

	if (status == 404) {
		plug_err(err, errlen, "%s: 404 on %s %s: the issue does not "
		    "exist or is not visible to %s", op->issue, op->method,
		    op->what, jc->conf.email);
		return FLAGSYNC_FAIL;
	}
	if (status == 401)
		return jira_unauthorised(jc, status, err, errlen);
	if (status == 403)
		return jira_refused(jc, op, err, errlen);
	if (status == 429 || status == 503) {
		plug_err(err, errlen, "Jira still answers %ld to %s %s after "
		    "waiting as told, or asks for a wait past this delivery's "
		    "time budget", status, op->method, op->path);
		return FLAGSYNC_RETRY;
	}
	jira_http_error_words(&jc->http, words, sizeof(words));
	if (status >= 500 || status < 400) {
		plug_err(err, errlen, "Jira answered %ld to %s %s%s: %s",
		    status, op->method, op->path,
		    status >= 300 && status < 400 ?
		    " (a redirect: check [jira] url)" : "", words);
		return FLAGSYNC_RETRY;
	}
	plug_err(err, errlen, "Jira refused %s %s (%ld): %s", op->method,
	    op->path, status, words);
	return FLAGSYNC_FAIL;
}

static int jira_removed(struct jira_ctx *, const struct jira_op *, char *,
    size_t);

/* One call: OK, RETRY, FAIL or JIRA_REFUSED, err set unless OK. */
static int
jira_call(struct jira_ctx *jc, const struct jira_op *op, char *err,
    size_t errlen)
{
	long status;

	if (jira_http_request(&jc->http, op->method, op->path, op->body,
	    jira_on_wait, jc, err, errlen) != JIRA_ANSWERED)
		return FLAGSYNC_RETRY;
	status = jc->http.status;
	if (status >= 200 && status < 300) {
		jc->api->log(jc->host, FLAGSYNC_LOG_DEBUG, "%s %s: %ld",
		    op->method, op->path, status);
		return FLAGSYNC_OK;
	}
	if (status == 404 && op->kind == JIRA_REMOVE)
		return jira_removed(jc, op, err, errlen);
	return jira_status(jc, op, err, errlen);
}

/* "/rest/api/3/issue/ISSUE/REST[VALUE]", with ISSUE and VALUE escaped. */
static char *
jira_path(struct jira_ctx *jc, const char *issue, const char *rest,
    const char *value)
{
	char *ei, *ev = NULL, *path = NULL;

	if ((ei = jira_http_escape(&jc->http, issue)) == NULL)
		return NULL;
	if (value != NULL && (ev = jira_http_escape(&jc->http, value)) == NULL)
		goto escaped_free;
	if (asprintf(&path, JIRA_API "%s%s%s", ei, rest, ev != NULL ? ev :
	    "") < 0)
		path = NULL;
escaped_free:
	free(ei);
	free(ev);
	return path;
}

/* Whether the last answer, an issue, holds our property: 1, 0, or -1
 * when it is not an issue's JSON. */
static int
jira_answer_has_property(struct jira_ctx *jc)
{
	json_object *doc, *props;
	int has;

	if ((doc = plughttp_answer_json(&jc->http.answer)) == NULL)
		return -1;
	if (!json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		return -1;
	}
	props = jira_doc_get(doc, "properties");
	has = json_object_is_type(props, json_type_object) &&
	    jira_doc_get(props, jc->conf.property) != NULL;
	json_object_put(doc);
	return has;
}

/*
 * A DELETE answered 404.  Jira answers so when the thing is gone, when
 * the issue is missing or hidden from the account, and, for a property,
 * when the account may not edit the issue (reference: DELETE answers
 * 404, not 403).  The issue tells them apart: GET it with the property.
 * Missing or hidden: FAIL naming it.  There and still holding the
 * property: refused, as a 403 is.  There without it: gone, OK.
 */
static int
jira_removed(struct jira_ctx *jc, const struct jira_op *op, char *err,
    size_t errlen)
{
	struct jira_op get = { "GET", NULL, NULL, op->issue, "issue", 0,
	    JIRA_WRITE };
	char *path;
	int rc, has;

	if ((path = op->link ? jira_path(jc, op->issue, "?fields=summary",
	    NULL) : jira_path(jc, op->issue, "?fields=summary&properties=",
	    jc->conf.property)) == NULL)
		return plug_oom(err, errlen);
	get.path = path;
	rc = FLAGSYNC_RETRY;
	if (jira_http_request(&jc->http, "GET", path, NULL, jira_on_wait, jc,
	    err, errlen) != JIRA_ANSWERED)
		goto path_free;
	if (jc->http.status == 404) {
		rc = jira_status(jc, op, err, errlen);
		goto path_free;
	}
	if (jc->http.status < 200 || jc->http.status >= 300) {
		rc = jira_status(jc, &get, err, errlen);
		goto path_free;
	}
	has = op->link ? 0 : jira_answer_has_property(jc);
	if (has < 0)
		plug_err(err, errlen, "Jira answered GET %s with something "
		    "that is not an issue", path);
	else if (has > 0) {
		plug_err(err, errlen, "%s: 404 on %s %s, yet the issue still "
		    "has it: %s cannot edit this issue (closed?)", op->issue,
		    op->method, op->what, jc->conf.email);
		rc = JIRA_REFUSED;
	} else {
		jc->api->log(jc->host, FLAGSYNC_LOG_DEBUG, "%s %s: 404, and "
		    "%s exists: nothing to remove", op->method, op->path,
		    op->issue);
		rc = FLAGSYNC_OK;
	}
path_free:
	free(path);
	return rc;
}

/* ---------------------------------------------------------- property */

static int64_t
jira_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* PUT or DELETE the property, then remember what Jira now holds. */
static int
jira_prop_write(struct jira_ctx *jc, const char *issue, const char *key,
    const char *full, const char *bare, char *err, size_t errlen)
{
	struct jira_op op;
	char *path, what[JIRA_PROPERTY_MAX + 16];
	int rc;

	if ((path = jira_path(jc, issue, "/properties/",
	    jc->conf.property)) == NULL)
		return plug_oom(err, errlen);
	snprintf(what, sizeof(what), "property %s", jc->conf.property);
	op = (struct jira_op){ full != NULL ? "PUT" : "DELETE", path, full,
	    issue, what, 0, full != NULL ? JIRA_WRITE : JIRA_REMOVE };
	rc = jira_call(jc, &op, err, errlen);
	if (rc == FLAGSYNC_OK)
		rc = jira_kv_write(jc, key, bare, err, errlen);
	free(path);
	return rc;
}

static int
jira_prop_sync(struct jira_ctx *jc, const char *issue, json_object *idoc,
    char *err, size_t errlen)
{
	char *key, *old = NULL, *full = NULL, *bare = NULL;
	size_t oldlen;
	int rc, e;

	if ((key = jira_kv_key("prop", issue, NULL)) == NULL)
		return plug_oom(err, errlen);
	if ((rc = jira_kv_read(jc, key, &old, &oldlen, err, errlen)) !=
	    FLAGSYNC_OK)
		goto key_free;
	if ((e = jira_doc_property(idoc, jira_wall_ms(), &full, &bare)) != 0) {
		plug_err(err, errlen, e == EINVAL ? "the cache's flags of %s "
		    "are not an issue's flags document" : "out of memory for "
		    "the property of %s", issue);
		rc = e == EINVAL ? FLAGSYNC_FAIL : FLAGSYNC_RETRY;
		goto key_free;
	}
	/* Unchanged, or nothing written and nothing to write. */
	if ((bare == NULL && old == NULL) || (bare != NULL && old != NULL &&
	    strcmp(old, bare) == 0))
		goto key_free;
	rc = jira_prop_write(jc, issue, key, full, bare, err, errlen);
key_free:
	free(full);
	free(bare);
	free(old);
	free(key);
	return rc;
}

/* ------------------------------------------------------------- links */

/* The issue's pairs with their views; pairs without a URL are skipped. */
struct jira_pairs {
	struct strset	 names;
	json_object	**views;	/* borrowed from the issue document */
};

static int
jira_pairs_make(struct jira_ctx *jc, json_object *flags,
    struct jira_pairs *p)
{
	json_object *view;
	const char *url;
	char *pair;
	size_t i, n = flags != NULL ? json_object_array_length(flags) : 0;

	memset(p, 0, sizeof(*p));
	if ((p->views = calloc(n + 1, sizeof(*p->views))) == NULL)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		view = json_object_array_get_idx(flags, i);
		if ((pair = jira_doc_pair(view)) == NULL)
			continue;
		url = jira_doc_str(view, "url");
		if ((url == NULL || url[0] == '\0') &&
		    strset_find(&jc->no_url, pair) == SIZE_MAX) {
			jc->api->log(jc->host, FLAGSYNC_LOG_INFO, "flag %s has "
			    "no URL (set [split] flag_url): no web link for it",
			    pair);
			(void)strset_add(&jc->no_url, pair);
		}
		if (url != NULL && url[0] != '\0' &&
		    strset_find(&p->names, pair) == SIZE_MAX) {
			if (strset_add(&p->names, pair) != 0) {
				free(pair);
				return ENOMEM;
			}
			p->views[p->names.n - 1] = view;
		}
		free(pair);
	}
	return 0;
}

static void
jira_pairs_free(struct jira_pairs *p)
{
	strset_free(&p->names);
	free(p->views);
}

/* Removes the link of a pair that left the issue. */
static int
jira_link_remove(struct jira_ctx *jc, const char *issue, const char *pair,
    const char *setkey, struct strset *linked, char *err, size_t errlen)
{
	struct jira_op op;
	char *gid = NULL, *path = NULL, *key = NULL;
	char what[JIRA_GLOBAL_ID_MAX * 4 + 16];
	int rc;

	if ((gid = jira_doc_global_id(pair)) == NULL) {
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	if ((path = jira_path(jc, issue, "/remotelink?globalId=", gid)) ==
	    NULL || (key = jira_kv_key("link", issue, pair)) == NULL) {
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	snprintf(what, sizeof(what), "remote link %s", gid);
	op = (struct jira_op){ "DELETE", path, NULL, issue, what, 1,
	    JIRA_REMOVE };
	rc = jira_call(jc, &op, err, errlen);
	if (rc == FLAGSYNC_OK)
		rc = jira_kv_write(jc, key, NULL, err, errlen);
	if (rc == FLAGSYNC_OK) {
		/* pair may point into linked: nothing uses it after this. */
		strset_del(linked, pair);
		rc = jira_links_save(jc, setkey, linked, err, errlen);
	}
strings_free:
	free(gid);
	free(path);
	free(key);
	return rc;
}

/* Adds pair to the issue's set of links that may exist. */
static int
jira_link_claim(struct jira_ctx *jc, const char *pair, const char *setkey,
    struct strset *linked, char *err, size_t errlen)
{
	if (strset_find(linked, pair) != SIZE_MAX)
		return FLAGSYNC_OK;
	if (strset_add(linked, pair) != 0)
		return plug_oom(err, errlen);
	return jira_links_save(jc, setkey, linked, err, errlen);
}

/* Posts the link of a pair when its body changed. */
static int
jira_link_upsert(struct jira_ctx *jc, const char *issue, const char *pair,
    json_object *view, const char *setkey, struct strset *linked, char *err,
    size_t errlen)
{
	struct jira_op op;
	char *body = NULL, *key = NULL, *old = NULL, *path = NULL, *gid = NULL;
	char what[JIRA_GLOBAL_ID_MAX * 4 + 16];
	size_t oldlen;
	int rc;

	if ((body = jira_doc_link(view, pair)) == NULL ||
	    (key = jira_kv_key("link", issue, pair)) == NULL) {
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	if ((rc = jira_kv_read(jc, key, &old, &oldlen, err, errlen)) !=
	    FLAGSYNC_OK)
		goto strings_free;
	/* Before the post: a crash after it must not orphan the link. */
	if ((rc = jira_link_claim(jc, pair, setkey, linked, err, errlen)) !=
	    FLAGSYNC_OK || (old != NULL && strcmp(old, body) == 0))
		goto strings_free;
	if ((path = jira_path(jc, issue, "/remotelink", NULL)) == NULL ||
	    (gid = jira_doc_global_id(pair)) == NULL) {
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	snprintf(what, sizeof(what), "remote link %s", gid);
	op = (struct jira_op){ "POST", path, body, issue, what, 1,
	    JIRA_WRITE };
	rc = jira_call(jc, &op, err, errlen);
	if (rc == FLAGSYNC_OK)
		rc = jira_kv_write(jc, key, body, err, errlen);
strings_free:
	free(gid);
	free(body);
	free(key);
	free(old);
	free(path);
	return rc;
}

static int
jira_links_apply(struct jira_ctx *jc, const char *issue,
    const struct jira_pairs *cur, const char *setkey, struct strset *linked,
    char *err, size_t errlen)
{
	size_t i;
	int rc;

	/* Backwards: a removal shifts only what was already looked at. */
	for (i = linked->n; i > 0; i--) {
		if (strset_find(&cur->names, linked->v[i - 1]) != SIZE_MAX)
			continue;
		if ((rc = jira_link_remove(jc, issue, linked->v[i - 1], setkey,
		    linked, err, errlen)) != FLAGSYNC_OK)
			return rc;
	}
	for (i = 0; i < cur->names.n; i++)
		if ((rc = jira_link_upsert(jc, issue, cur->names.v[i],
		    cur->views[i], setkey, linked, err, errlen)) != FLAGSYNC_OK)
			return rc;
	return FLAGSYNC_OK;
}

static int
jira_links_sync(struct jira_ctx *jc, const char *issue, json_object *flags,
    char *err, size_t errlen)
{
	struct strset linked = { NULL, 0, 0 };
	struct jira_pairs cur;
	char *setkey;
	int rc;

	if ((setkey = jira_kv_key("links", issue, NULL)) == NULL)
		return plug_oom(err, errlen);
	if (jira_pairs_make(jc, flags, &cur) != 0) {
		rc = plug_oom(err, errlen);
		goto pairs_free;
	}
	if ((rc = jira_links_load(jc, setkey, &linked, err, errlen)) ==
	    FLAGSYNC_OK)
		rc = jira_links_apply(jc, issue, &cur, setkey, &linked, err,
		    errlen);
	strset_free(&linked);
pairs_free:
	jira_pairs_free(&cur);
	free(setkey);
	return rc;
}

/* ------------------------------------------------------------ issues */

/*
 * Adds the issue's open findings to its document as "findings", when the
 * host has them (ABI 1.2) and the agent evaluates findings; without, the
 * property stays as it was.  OK, RETRY or FAIL.
 */
static int
jira_issue_findings(struct jira_ctx *jc, const char *issue, json_object *idoc,
    char *err, size_t errlen)
{
	json_object *arr;
	char ebuf[128], *json;
	int rc;

	if (!FLAGSYNC_HOST_HAS(jc->api, issue_findings))
		return FLAGSYNC_OK;
	rc = jc->api->issue_findings(jc->host, issue, &json);
	if (rc == FLAGSYNC_ENOTFOUND)
		return FLAGSYNC_OK;
	if (rc != 0) {
		plug_err(err, errlen, "cannot read the findings of %s from "
		    "the cache: %s", issue, rc > 0 ? plug_strerror(rc, ebuf,
		    sizeof(ebuf)) : "host error");
		return FLAGSYNC_RETRY;
	}
	arr = json_tokener_parse(json);
	jc->api->release(jc->host, json);
	if (!json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		plug_err(err, errlen, "the cache's findings of %s are not a "
		    "JSON array", issue);
		return FLAGSYNC_FAIL;
	}
	if (json_object_object_add(idoc, "findings", arr) != 0) {
		json_object_put(arr);
		return plug_oom(err, errlen);
	}
	return FLAGSYNC_OK;
}

/* The issue's flags now (*idoc NULL: none).  OK, RETRY or FAIL. */
static int
jira_issue_doc(struct jira_ctx *jc, const char *issue, json_object **idoc,
    char *err, size_t errlen)
{
	char ebuf[128], *json;
	int rc;

	*idoc = NULL;
	rc = jc->api->issue_flags(jc->host, issue, &json);
	if (rc == FLAGSYNC_ENOTFOUND)
		return FLAGSYNC_OK;
	if (rc != 0) {
		plug_err(err, errlen, "cannot read the flags of %s from the "
		    "cache: %s", issue, rc > 0 ? plug_strerror(rc, ebuf,
		    sizeof(ebuf)) : "host error");
		return FLAGSYNC_RETRY;
	}
	*idoc = json_tokener_parse(json);
	jc->api->release(jc->host, json);
	if (!json_object_is_type(*idoc, json_type_object)) {
		json_object_put(*idoc);
		*idoc = NULL;
		plug_err(err, errlen, "the cache's flags of %s are not a JSON "
		    "object", issue);
		return FLAGSYNC_FAIL;
	}
	return jira_issue_findings(jc, issue, *idoc, err, errlen);
}

static int
jira_issue_sync(struct jira_ctx *jc, const char *issue, char *err,
    size_t errlen)
{
	json_object *idoc, *flags;
	int rc;

	if ((rc = jira_issue_doc(jc, issue, &idoc, err, errlen)) !=
	    FLAGSYNC_OK)
		return rc;
	rc = jira_prop_sync(jc, issue, idoc, err, errlen);
	if (rc == FLAGSYNC_OK && jc->conf.web_links) {
		flags = jira_doc_get(idoc, "flags");
		if (!json_object_is_type(flags, json_type_array))
			flags = NULL;
		rc = jira_links_sync(jc, issue, flags, err, errlen);
	}
	json_object_put(idoc);
	return rc;
}

/* ------------------------------------------------------------ events */

/* Parses ev->json.  FLAGSYNC_OK or FAIL with err set. */
static int
jira_parse(const struct flagsync_event *ev, json_object **doc, char *err,
    size_t errlen)
{
	struct json_tokener *tok;

	*doc = NULL;
	if (ev->json == NULL || ev->json_len > INT_MAX) {
		plug_err(err, errlen, "event %" PRIu64 " has no usable JSON "
		    "document", ev->seq);
		return FLAGSYNC_FAIL;
	}
	if ((tok = json_tokener_new()) == NULL)
		return plug_oom(err, errlen);
	*doc = json_tokener_parse_ex(tok, ev->json, (int)ev->json_len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(*doc, json_type_object)) {
		json_object_put(*doc);
		*doc = NULL;
	}
	json_tokener_free(tok);
	if (*doc == NULL) {
		plug_err(err, errlen, "event %" PRIu64 " is not a JSON object",
		    ev->seq);
		return FLAGSYNC_FAIL;
	}
	return FLAGSYNC_OK;
}

/* The issues an event touches: its "issue" and its "issues". */
static int
jira_touched(const struct flagsync_event *ev, json_object *doc,
    struct strset *issues)
{
	json_object *list, *v;
	const char *one;
	size_t i;

	one = ev->issue != NULL ? ev->issue : jira_doc_str(doc, "issue");
	/* an issue-missing finding's issue is the one Jira does not have */
	if (jira_doc_str(doc, "finding") != NULL &&
	    strcmp(jira_doc_str(doc, "finding"), "issue-missing") == 0)
		one = NULL;
	if (one != NULL && one[0] != '\0' && strset_add(issues, one) != 0)
		return ENOMEM;
	list = jira_doc_get(doc, "issues");
	if (!json_object_is_type(list, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(list); i++) {
		v = json_object_array_get_idx(list, i);
		if (json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) > 0 &&
		    strset_add(issues, json_object_get_string(v)) != 0)
			return ENOMEM;
	}
	return 0;
}

/* ---------------------------------------------------------- refusals */

/* err + "; " + the rest, as far as it fits. */
static void jira_err_add(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
jira_err_add(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t used;

	if (err == NULL || errlen == 0)
		return;
	used = strnlen(err, errlen);
	if (used > 0 && used + 2 < errlen) {
		memcpy(err + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

/*
 * Counts a refusal of issue by event seq in the store ("refused:ISSUE" =
 * "SEQ N": N attempts of that event refused), so that a restart does not
 * start over.  Another event starts at 1.  err holds the refusal and
 * gains the count.  JIRA_REFUSED (try the event again), FAIL (the
 * JIRA_REFUSED_TRIES-th time), or RETRY when the store fails.
 */
static int
jira_refusal_count(struct jira_ctx *jc, const char *issue, uint64_t seq,
    char *err, size_t errlen)
{
	char *key, *old = NULL, text[64];
	uint64_t oseq;
	size_t len;
	unsigned int n = 1, on;
	int rc;

	if ((key = jira_kv_key("refused", issue, NULL)) == NULL)
		return plug_oom(err, errlen);
	if ((rc = jira_kv_read(jc, key, &old, &len, err, errlen)) !=
	    FLAGSYNC_OK)
		goto key_free;
	if (old != NULL && sscanf(old, "%" SCNu64 " %u", &oseq, &on) == 2 &&
	    oseq == seq && on < UINT_MAX)
		n = on + 1;
	snprintf(text, sizeof(text), "%" PRIu64 " %u", seq, n);
	if ((rc = jira_kv_write(jc, key, text, err, errlen)) != FLAGSYNC_OK)
		goto key_free;
	if (n >= JIRA_REFUSED_TRIES) {
		jira_err_add(err, errlen, "refused %u times: given up for "
		    "event %" PRIu64, n, seq);
		rc = FLAGSYNC_FAIL;
	} else {
		jira_err_add(err, errlen, "attempt %u of %d", n,
		    JIRA_REFUSED_TRIES);
		rc = JIRA_REFUSED;
	}
key_free:
	free(old);
	free(key);
	return rc;
}

/* The issue was written: forget its refusals.  OK, or RETRY. */
static int
jira_refusal_clear(struct jira_ctx *jc, const char *issue, char *err,
    size_t errlen)
{
	char *key, *old = NULL;
	size_t len;
	int rc;

	if ((key = jira_kv_key("refused", issue, NULL)) == NULL)
		return plug_oom(err, errlen);
	/* Read first: most issues have none, and a read is cheap. */
	rc = jira_kv_read(jc, key, &old, &len, err, errlen);
	if (rc == FLAGSYNC_OK && old != NULL)
		rc = jira_kv_write(jc, key, NULL, err, errlen);
	free(old);
	free(key);
	return rc;
}

/*
 * Every touched issue gets its turn: a missing issue (FAIL) or one Jira
 * refuses (403) does not hold up the others.  A refused issue makes the
 * event RETRY until it was refused JIRA_REFUSED_TRIES times; then, like
 * a missing one, it is a dead letter whose message names every issue not
 * written.  Other RETRYs (401, 5xx, network) stop at once; the next
 * attempt finds the done ones done.
 */
static int
jira_deliver_issues(struct jira_ctx *jc, const struct strset *issues,
    uint64_t seq, char *err, size_t errlen)
{
	char ierr[512];
	size_t i, refused = 0, failed = 0;
	int r;

	plug_err(err, errlen, "%s", "");
	for (i = 0; i < issues->n; i++) {
		ierr[0] = '\0';
		r = jira_issue_sync(jc, issues->v[i], ierr, sizeof(ierr));
		if (r == JIRA_REFUSED)
			r = jira_refusal_count(jc, issues->v[i], seq, ierr,
			    sizeof(ierr));
		else if (r == FLAGSYNC_OK)
			r = jira_refusal_clear(jc, issues->v[i], ierr,
			    sizeof(ierr));
		if (r == FLAGSYNC_OK)
			continue;
		if (r == FLAGSYNC_RETRY) {
			plug_err(err, errlen, "%s", ierr);
			return FLAGSYNC_RETRY;
		}
		if (r == JIRA_REFUSED)
			refused++;
		else
			failed++;
		jira_err_add(err, errlen, "%s", ierr);
	}
	if (refused > 0)
		return FLAGSYNC_RETRY;
	return failed > 0 ? FLAGSYNC_FAIL : FLAGSYNC_OK;
}

/* ------------------------------------------------------------ comments */

/* The comment's body: one paragraph in Atlassian Document Format. */
static char *
jira_comment_body(json_object *doc)
{
	const char *detail = jira_doc_str(doc, "detail");
	json_object *text;
	char *words, *out = NULL;

	if (asprintf(&words, "flagsync: finding opened (%s): %s",
	    jira_doc_str(doc, "finding"), detail != NULL ? detail :
	    jira_doc_str(doc, "flag")) < 0)
		return NULL;
	/* json-c quotes the words; the frame around them is fixed */
	if ((text = json_object_new_string(words)) != NULL &&
	    asprintf(&out, "{\"body\":{\"type\":\"doc\",\"version\":1,"
	    "\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":"
	    "\"text\",\"text\":%s}]}]}}", json_object_to_json_string_ext(text,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		out = NULL;
	json_object_put(text);
	free(words);
	return out;
}

/*
 * One comment on issue about the finding of doc, never twice for the same
 * finding (type, project, flag, issue, since): a mark in the instance's
 * store, written once Jira took the comment.
 */
static int
jira_comment_one(struct jira_ctx *jc, const char *issue, json_object *doc,
    char *err, size_t errlen)
{
	struct jira_op op;
	char *id = NULL, *key = NULL, *old = NULL, *path = NULL, *body = NULL;
	size_t oldlen;
	int rc;

	if (asprintf(&id, "%s %s/%s %s %s", jira_doc_str(doc, "finding"),
	    jira_doc_str(doc, "project"), jira_doc_str(doc, "flag"),
	    jira_doc_str(doc, "issue") ? jira_doc_str(doc, "issue") : "-",
	    jira_doc_str(doc, "since") ? jira_doc_str(doc, "since") : "") < 0) {
		id = NULL;
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	if ((key = jira_kv_key("fcomment", issue, id)) == NULL) {
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	if ((rc = jira_kv_read(jc, key, &old, &oldlen, err, errlen)) !=
	    FLAGSYNC_OK || old != NULL)
		goto strings_free;
	if ((path = jira_path(jc, issue, "/comment", NULL)) == NULL ||
	    (body = jira_comment_body(doc)) == NULL) {
		rc = plug_oom(err, errlen);
		goto strings_free;
	}
	op = (struct jira_op){ "POST", path, body, issue, "comment", 0,
	    JIRA_WRITE };
	if ((rc = jira_call(jc, &op, err, errlen)) == FLAGSYNC_OK)
		rc = jira_kv_write(jc, key, "1", err, errlen);
strings_free:
	free(id);
	free(key);
	free(old);
	free(path);
	free(body);
	return rc;
}

/* With findings_comment: a comment on each issue a new finding is about
 * (its issue, or every issue of its flag when it names none). */
static int
jira_comment_findings(struct jira_ctx *jc, const struct strset *issues,
    json_object *doc, char *err, size_t errlen)
{
	const char *type = jira_doc_str(doc, "type");
	const char *one = jira_doc_str(doc, "issue");
	size_t i;
	int rc;

	if (!jc->conf.findings_comment || type == NULL ||
	    strcmp(type, "finding.opened") != 0 ||
	    jira_doc_str(doc, "finding") == NULL ||
	    strcmp(jira_doc_str(doc, "finding"), "issue-missing") == 0)
		return FLAGSYNC_OK;
	if (one != NULL)
		return jira_comment_one(jc, one, doc, err, errlen);
	for (i = 0; i < issues->n; i++)
		if ((rc = jira_comment_one(jc, issues->v[i], doc, err,
		    errlen)) != FLAGSYNC_OK)
			return rc;
	return FLAGSYNC_OK;
}

static int
jira_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct jira_ctx *jc = ctx;
	struct strset issues = { NULL, 0, 0 };
	json_object *doc;
	int rc;

	if ((rc = jira_parse(ev, &doc, err, errlen)) != FLAGSYNC_OK)
		return rc;
	if (jira_touched(ev, doc, &issues) != 0) {
		rc = plug_oom(err, errlen);
		goto issues_free;
	}
	jira_http_begin(&jc->http, jc->conf.budget_ms);
	rc = jira_deliver_issues(jc, &issues, ev->seq, err, errlen);
	if (rc == FLAGSYNC_OK)
		rc = jira_comment_findings(jc, &issues, doc, err, errlen);
issues_free:
	strset_free(&issues);
	json_object_put(doc);
	return rc;
}

/* ------------------------------------------------------------ plugin */

static int
jira_check_config(const struct flagsync_host_api *api,
    struct flagsync_host *h, char *err, size_t errlen)
{
	struct jira_conf c;

	return jira_config(api, h, &c, err, errlen);
}

static int
jira_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct jira_ctx *jc;
	int rc;

	if ((jc = plug_ctx_new(sizeof(*jc), err, errlen)) == NULL)
		return ENOMEM;
	if ((rc = jira_config(api, h, &jc->conf, err, errlen)) != 0 ||
	    (rc = plughttp_global_init(err, errlen)) != 0)
		goto ctx_free;
	if ((rc = jira_http_init(&jc->http, jc->conf.url, jc->conf.email,
	    jc->conf.token, jc->conf.ca_file, jc->conf.timeout, err,
	    errlen)) != 0)
		goto curl_cleanup;
	jc->api = api;
	jc->host = h;
	api->log(h, FLAGSYNC_LOG_DEBUG, "writing property %s%s to %s as %s",
	    jc->conf.property, jc->conf.web_links ? " and web links" : "",
	    jc->conf.url, jc->conf.email);
	*ctx = jc;
	return 0;
curl_cleanup:
	curl_global_cleanup();
ctx_free:
	free(jc);
	return rc;
}

static void
jira_shutdown(void *ctx)
{
	struct jira_ctx *jc = ctx;

	if (jc == NULL)
		return;
	jira_http_release(&jc->http);
	strset_free(&jc->no_url);
	free(jc);
	curl_global_cleanup();
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "jira",
	.version = "1.0",
	.check_config = jira_check_config,
	.init = jira_init,
	.deliver = jira_deliver,
	.shutdown = jira_shutdown,
);
