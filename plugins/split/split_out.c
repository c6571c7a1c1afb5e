/*
 * split_out.c - the "split" output plugin (flagsync-plugin(3), the split
 * output): shows each flag's issues in Split, as tags on the flag.
 *
 *	[plugin split]
 *	module = split		; no keys of its own
 *
 * The Admin API URL, key, timeout, CAs and max_rps are the agent's own
 * [split] section (agent_config(), granted implicitly to this module).
 *
 * Each link.added or link.removed event (state replays included) brings
 * its flag into step: the issues the flag should carry as tags are
 * those linked by jira-field, file or local (split-tag and
 * split-description only mirror Split itself).  An issue that should be
 * there and is not is recorded as flagsync's own tag (tag_record())
 * BEFORE it is written; a tag of flagsync's that no such link wants any
 * more is removed, and forgotten only AFTER Split took the removal.  A
 * tag someone else put there (not recorded) is never removed nor
 * claimed.  Every write reads the flag's tags first and writes the whole
 * new list (Split's associate-tags call replaces them): two agents, or a
 * retry after a crash, never duplicate or lose a tag.  A flag with
 * nothing to carry and no tag of ours at stake costs no request.
 *
 * Errors: 429 is waited out in split_http.c for as long as the delivery
 * may run (then RETRY); 5xx and no answer are tried SO_RETRIES more
 * times, then RETRY; 401/403 are RETRY (a configuration problem: events
 * wait, never dropped); 404 for the flag is FAIL, the dead letter naming
 * it; any other refusal is FAIL with Split's words.
 *
 * Ownership: the context owns the HTTP client and the workspace ids it
 * resolved (once per process); the [split] strings belong to the host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include <flagsync/plugin.h>

#include "array.h"
#include "maxlen.h"
#include "plugutil.h"
#include "splitout.h"
#include "strset.h"

#define SO_TIMEOUT	30	/* [split] timeout default, s */
#define SO_WS_PAGE	100	/* workspaces a page */
#define SO_WS_PAGES	1000	/* pages at most: a loop guard */

/* Sources whose links the flag's tags show (not Split's own). */
static const char *const so_sources[] = { "jira-field", "file", "local",
    NULL };

struct so_conf {
	const char	*url;
	const char	*key;		/* never logged */
	const char	*ca_file;
	const char	*pace_file;
	long		 timeout;
	double		 max_rps;
	int		 x_api_key;
};

struct so_ws {
	char	*project;
	char	*id;
};

struct so_ctx {
	const struct flagsync_host_api *api;
	struct flagsync_host *h;
	struct so_conf	 conf;
	struct so_http	 http;
	struct so_ws	*ws;
	size_t		 nws, capws;
};

/* ------------------------------------------------------------ config */

/* Whether the events list (globs, as deliver.c reads them) takes type. */
static int
so_events_take(const char *events, const char *type)
{
	char glob[128];
	size_t len;

	for (; *events; events += len) {
		events += strspn(events, ", \t");
		if ((len = strcspn(events, ", \t")) == 0)
			break;
		if (len >= sizeof(glob))
			continue;
		memcpy(glob, events, len);
		glob[len] = '\0';
		if (fnmatch(glob, type, 0) == 0)
			return 1;
	}
	return 0;
}

/* The module's own keys (none) and the host's events.  0, or 1 after a
 * config_error(). */
static int
so_config_plugin(const struct flagsync_host_api *api,
    struct flagsync_host *h)
{
	const char *key, *value, *events;

	if ((key = api->config_key(h, 0, &value)) != NULL)
		return api->config_error(h, key, "unknown key: the split "
		    "module has no keys of its own (it writes with the "
		    "agent's [split] api_url, admin_key and max_rps)");
	events = api->config_get(h, "events");
	if (events != NULL && (!so_events_take(events, "link.added") ||
	    !so_events_take(events, "link.removed")))
		return api->config_error(h, "events", "\"%s\" leaves out "
		    "link.added or link.removed, which the split module keeps "
		    "the flags' tags by: use link.* (or *)", events);
	return 0;
}

static int
so_config_agent(const struct flagsync_host_api *api, struct flagsync_host *h,
    struct so_conf *c)
{
	const char *auth, *rps;
	char *end;

	c->url = api->agent_config(h, "split", "api_url");
	c->key = api->agent_config(h, "split", "admin_key");
	c->ca_file = api->agent_config(h, "split", "ca_file");
	c->pace_file = api->agent_config(h, "split", "pace_file");
	c->timeout = plug_seconds(api->agent_config(h, "split", "timeout"),
	    SO_TIMEOUT);
	if (c->url == NULL || c->url[0] == '\0')
		return api->config_error(h, NULL, "[split] api_url is not set: "
		    "the split module writes through the Admin API");
	if (c->key == NULL || c->key[0] == '\0')
		return api->config_error(h, NULL, "[split] admin_key_file is "
		    "not set (nor its credential or environment variable): "
		    "the split module needs the Admin API key");
	rps = api->agent_config(h, "split", "max_rps");
	c->max_rps = rps != NULL ? strtod(rps, &end) : 0;
	if (!(c->max_rps > 0))
		c->max_rps = 0;
	auth = api->agent_config(h, "split", "auth");
	if (auth != NULL && strcmp(auth, "auto") != 0)
		c->x_api_key = strcmp(auth, "x-api-key") == 0;
	else
		c->x_api_key = strncmp(c->key, "pat.", 4) == 0 ||
		    strncmp(c->key, "sat.", 4) == 0;
	return 0;
}

static int
so_config(const struct flagsync_host_api *api, struct flagsync_host *h,
    struct so_conf *c, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if (!FLAGSYNC_HOST_HAS(api, tag_record)) {
		plug_err(err, errlen, "this flagsync is too old for the split "
		    "module: its plugin API has no tag_record() (ABI 1.3)");
		return EINVAL;
	}
	if ((rc = so_config_plugin(api, h)) != 0 ||
	    (rc = so_config_agent(api, h, c)) != 0)
		plug_err(err, errlen, "the split module's configuration is "
		    "refused");
	return rc;
}

/* ------------------------------------------------------------ Split */

static void
so_on_wait(void *arg, const char *method, const char *path, long status,
    int64_t ms)
{
	struct so_ctx *sc = arg;

	if (status == 429)
		sc->api->log(sc->h, FLAGSYNC_LOG_INFO, "Split rate-limited %s "
		    "%s (429): waiting %lld ms as its X-RateLimit-Reset-Seconds "
		    "headers say", method, path, (long long)ms);
	else
		sc->api->log(sc->h, FLAGSYNC_LOG_INFO, "%s %s: %s; trying "
		    "again in %lld ms", method, path, status ? "Split answered "
		    "with an error" : "no answer", (long long)ms);
}

/*
 * The outcome of an answered request that is not a 2xx: RETRY for what
 * fixing the configuration or waiting cures, FAIL for the rest, err
 * naming the request, what it was about and Split's words.
 */
static int
so_refused(struct so_ctx *sc, const char *method, const char *path,
    const char *what, char *err, size_t errlen)
{
	char said[256];
	long st = sc->http.status;

	so_http_words(&sc->http, said, sizeof(said));
	if (st == 401 || st == 403) {
		plug_err(err, errlen, "Split refused the Admin API key (%ld) "
		    "at %s %s (%s): fix [split] admin_key or its role; the "
		    "events wait%s%s", st, method, path, what,
		    said[0] ? ": " : "", said);
		return FLAGSYNC_RETRY;
	}
	if (st >= 500) {
		plug_err(err, errlen, "Split answered %ld to %s %s (%s) %d "
		    "times%s%s", st, method, path, what, SO_RETRIES + 1,
		    said[0] ? ": " : "", said);
		return FLAGSYNC_RETRY;
	}
	if (st == 404)
		plug_err(err, errlen, "%s not found in Split, or hidden from "
		    "the Admin API key (404, %s %s)%s%s", what, method, path,
		    said[0] ? ": " : "", said);
	else
		plug_err(err, errlen, "Split refused %s (HTTP %ld, %s %s)%s%s",
		    what, st, method, path, said[0] ? ": " : "", said);
	return FLAGSYNC_FAIL;
}

/* One request: FLAGSYNC_OK with a 2xx answer in sc->http, else the
 * outcome with err set. */
static int
so_call(struct so_ctx *sc, const char *method, const char *path,
    const char *body, const char *what, char *err, size_t errlen)
{
	switch (so_http_request(&sc->http, method, path, body, err, errlen)) {
	case SO_ANSWERED:
		break;
	case SO_UNREACHED:
	case SO_CANCELLED:
	default:
		return FLAGSYNC_RETRY;
	}
	if (sc->http.status >= 200 && sc->http.status < 300)
		return FLAGSYNC_OK;
	return so_refused(sc, method, path, what, err, errlen);
}

/* The parsed JSON of the last answer, or NULL with err set. */
static json_object *
so_answer(struct so_ctx *sc, const char *path, char *err, size_t errlen)
{
	json_object *doc;

	if ((doc = plughttp_answer_json(&sc->http.answer)) == NULL) {
		plug_err(err, errlen, "GET %s: Split's answer is not JSON%s",
		    path, sc->http.answer.cut ? " (over the size cap)" : "");
		return NULL;
	}
	return doc;
}

/* Looks for name on one page of workspaces: 1 found (*id set), 0 not. */
static int
so_ws_page(json_object *doc, const char *name, char **id, int64_t *total,
    size_t *count)
{
	json_object *objs, *o, *v;
	size_t i, n;

	*total = 0;
	*count = 0;
	if (json_object_object_get_ex(doc, "totalCount", &v))
		*total = json_object_get_int64(v);
	if (!json_object_object_get_ex(doc, "objects", &objs) ||
	    !json_object_is_type(objs, json_type_array))
		return 0;
	n = *count = json_object_array_length(objs);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(objs, i);
		if (!json_object_object_get_ex(o, "name", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), name) != 0 ||
		    !json_object_object_get_ex(o, "id", &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		*id = strdup(json_object_get_string(v));
		return 1;
	}
	return 0;
}

/* GET /workspaces?name=, page after page, for the project's id. */
static int
so_ws_lookup(struct so_ctx *sc, const char *project, char **id, char *err,
    size_t errlen)
{
	json_object *doc;
	char *esc, *path = NULL, what[FS_PROJECT_MAX + 32];
	int64_t total, offset = 0;
	size_t count, pages;
	int rc = FLAGSYNC_OK, found = 0;

	*id = NULL;
	snprintf(what, sizeof(what), "project '%s'", project);
	if ((esc = so_http_escape(&sc->http, project)) == NULL)
		return plug_oom(err, errlen);
	for (pages = 0; !found && pages < SO_WS_PAGES; pages++) {
		free(path);
		if (asprintf(&path, "/workspaces?offset=%lld&limit=%d&name=%s",
		    (long long)offset, SO_WS_PAGE, esc) < 0) {
			path = NULL;
			rc = plug_oom(err, errlen);
			break;
		}
		if ((rc = so_call(sc, "GET", path, NULL, what, err, errlen)) !=
		    FLAGSYNC_OK)
			break;
		if ((doc = so_answer(sc, path, err, errlen)) == NULL) {
			rc = FLAGSYNC_RETRY;
			break;
		}
		found = so_ws_page(doc, project, id, &total, &count);
		json_object_put(doc);
		if (found && *id == NULL)
			rc = plug_oom(err, errlen);
		offset += (int64_t)count;
		if (found || count == 0 || offset >= total)
			break;
	}
	if (rc == FLAGSYNC_OK && !found) {
		plug_err(err, errlen, "project '%s' is not a Split workspace "
		    "the Admin API key sees (GET /workspaces); the events wait",
		    project);
		rc = FLAGSYNC_RETRY;
	}
	free(path);
	free(esc);
	return rc;
}

/* The project's workspace id, resolved once per process. */
static int
so_workspace(struct so_ctx *sc, const char *project, const char **id,
    char *err, size_t errlen)
{
	struct so_ws *w;
	char *found, *name;
	size_t i;
	int rc;

	for (i = 0; i < sc->nws; i++)
		if (strcmp(sc->ws[i].project, project) == 0) {
			*id = sc->ws[i].id;
			return FLAGSYNC_OK;
		}
	if ((rc = so_ws_lookup(sc, project, &found, err, errlen)) !=
	    FLAGSYNC_OK)
		return rc;
	if (ARRAY_GROW(sc->ws, sc->capws, sc->nws + 1) != 0 ||
	    (name = strdup(project)) == NULL) {
		free(found);
		return plug_oom(err, errlen);
	}
	w = &sc->ws[sc->nws++];
	w->project = name;
	w->id = found;
	*id = found;
	return FLAGSYNC_OK;
}

/* The flag's path (tags: its tags' path), both names escaped; NULL when
 * out of memory. */
static char *
so_flag_path(struct so_ctx *sc, int tags, const char *ws, const char *flag)
{
	char *ews, *eflag, *path = NULL;
	int n = 0;

	ews = so_http_escape(&sc->http, ws);
	eflag = so_http_escape(&sc->http, flag);
	if (ews != NULL && eflag != NULL)
		n = tags ? asprintf(&path, "/tags/ws/%s/object/%s/objecttype/"
		    "Split", ews, eflag) : asprintf(&path, "/splits/ws/%s/%s",
		    ews, eflag);
	if (n < 0)
		path = NULL;
	free(ews);
	free(eflag);
	return path;
}

/* The flag's tags as Split has them: [{"name"}] (or bare strings). */
static int
so_tags_parse(json_object *doc, struct strset *tags)
{
	json_object *arr, *t, *name;
	size_t i, n;

	if (!json_object_object_get_ex(doc, "tags", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return 0;	/* null or absent: none */
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(arr, i);
		if (json_object_is_type(t, json_type_object) &&
		    json_object_object_get_ex(t, "name", &name))
			t = name;
		if (!json_object_is_type(t, json_type_string))
			continue;
		if (strset_add(tags, json_object_get_string(t)) != 0)
			return ENOMEM;
	}
	return 0;
}

static int
so_tags_read(struct so_ctx *sc, const char *ws, const char *what,
    const char *flag, struct strset *tags, char *err, size_t errlen)
{
	json_object *doc;
	char *path;
	int rc;

	if ((path = so_flag_path(sc, 0, ws, flag)) == NULL)
		return plug_oom(err, errlen);
	if ((rc = so_call(sc, "GET", path, NULL, what, err, errlen)) ==
	    FLAGSYNC_OK) {
		if ((doc = so_answer(sc, path, err, errlen)) == NULL)
			rc = FLAGSYNC_RETRY;
		else if (so_tags_parse(doc, tags) != 0)
			rc = plug_oom(err, errlen);
		json_object_put(doc);
	}
	free(path);
	return rc;
}

/* The whole new list: the tags there, less drop, plus add. */
static char *
so_tags_body(const struct strset *tags, const struct strset *add,
    const struct strset *drop)
{
	const struct strset *part[2] = { tags, add };
	json_object *arr, *v;
	char *out = NULL;
	size_t i, k;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (k = 0; k < 2; k++)
		for (i = 0; i < part[k]->n; i++) {
			if (k == 0 && strset_has(drop, part[k]->v[i]))
				continue;
			if ((v = json_object_new_string(part[k]->v[i])) ==
			    NULL || json_object_array_add(arr, v) != 0) {
				json_object_put(v);
				goto arr_put;
			}
		}
	out = strdup(json_object_to_json_string_ext(arr,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
arr_put:
	json_object_put(arr);
	return out;
}

static int
so_tags_write(struct so_ctx *sc, const char *ws, const char *what,
    const char *flag, const struct strset *tags, const struct strset *add,
    const struct strset *drop, char *err, size_t errlen)
{
	char *path, *body;
	int rc;

	path = so_flag_path(sc, 1, ws, flag);
	body = so_tags_body(tags, add, drop);
	if (path == NULL || body == NULL)
		rc = plug_oom(err, errlen);
	else
		rc = so_call(sc, "POST", path, body, what, err, errlen);
	free(path);
	free(body);
	return rc;
}

/* ------------------------------------------------------------ tags */

/* *owned: whether tag is recorded as ours.  OK or RETRY. */
static int
so_owned(struct so_ctx *sc, const char *project, const char *flag,
    const char *tag, int *owned, char *err, size_t errlen)
{
	int rc = sc->api->tag_owned(sc->h, project, flag, tag);

	*owned = rc == 0;
	if (rc == 0 || rc == FLAGSYNC_ENOTFOUND || rc == EINVAL)
		return FLAGSYNC_OK;
	plug_err(err, errlen, "cannot read the record of tag %s on %s/%s in "
	    "the cache: %s", tag, project, flag, strerror(rc));
	return FLAGSYNC_RETRY;
}

static int
so_record(struct so_ctx *sc, const char *project, const char *flag,
    const char *tag, int owned, char *err, size_t errlen)
{
	int rc = sc->api->tag_record(sc->h, project, flag, tag, owned);

	if (rc == 0)
		return FLAGSYNC_OK;
	plug_err(err, errlen, "cannot %s tag %s of %s/%s in the cache: %s",
	    owned ? "record" : "forget", tag, project, flag, strerror(rc));
	return FLAGSYNC_RETRY;
}

/* Whether one entry of flag_links() has a source the tags show. */
static int
so_link_wanted(json_object *link)
{
	json_object *src, *s;
	size_t i, k;

	if (!json_object_object_get_ex(link, "sources", &src) ||
	    !json_object_is_type(src, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(src); i++) {
		s = json_object_array_get_idx(src, i);
		for (k = 0; so_sources[k] != NULL; k++)
			if (json_object_is_type(s, json_type_string) &&
			    strcmp(json_object_get_string(s),
			    so_sources[k]) == 0)
				return 1;
	}
	return 0;
}

/* The issues the flag should carry as tags, from the cache. */
static int
so_wanted(struct so_ctx *sc, const char *project, const char *flag,
    struct strset *want, char *err, size_t errlen)
{
	json_object *doc, *link, *issue;
	char *json;
	size_t i;
	int rc;

	if ((rc = sc->api->flag_links(sc->h, project, flag, &json)) != 0) {
		plug_err(err, errlen, "cannot read the links of %s/%s from the "
		    "cache: %s", project, flag, strerror(rc > 0 ? rc : EIO));
		return FLAGSYNC_RETRY;
	}
	doc = json_tokener_parse(json);
	sc->api->release(sc->h, json);
	if (!json_object_is_type(doc, json_type_array)) {
		json_object_put(doc);
		plug_err(err, errlen, "the links of %s/%s are not a JSON array",
		    project, flag);
		return FLAGSYNC_RETRY;
	}
	for (i = 0; rc == 0 && i < json_object_array_length(doc); i++) {
		link = json_object_array_get_idx(doc, i);
		if (so_link_wanted(link) &&
		    json_object_object_get_ex(link, "issue", &issue) &&
		    json_object_is_type(issue, json_type_string) &&
		    strlen(json_object_get_string(issue)) <= FS_TAG_MAX)
			rc = strset_add(want, json_object_get_string(issue));
	}
	json_object_put(doc);
	return rc == 0 ? FLAGSYNC_OK : plug_oom(err, errlen);
}

/* What to change: add the wanted issues that are not tags, drop our own
 * tags that are not wanted. */
static int
so_plan(struct so_ctx *sc, const char *project, const char *flag,
    const struct strset *want, const struct strset *tags,
    struct strset *add, struct strset *drop, char *err, size_t errlen)
{
	size_t i;
	int rc, owned;

	for (i = 0; i < want->n; i++)
		if (!strset_has(tags, want->v[i]) &&
		    strset_add(add, want->v[i]) != 0)
			return plug_oom(err, errlen);
	for (i = 0; i < tags->n; i++) {
		if (strset_has(want, tags->v[i]))
			continue;
		if ((rc = so_owned(sc, project, flag, tags->v[i], &owned, err,
		    errlen)) != FLAGSYNC_OK)
			return rc;
		if (owned && strset_add(drop, tags->v[i]) != 0)
			return plug_oom(err, errlen);
	}
	return FLAGSYNC_OK;
}

/* Records add, writes the list, forgets drop: in that order. */
static int
so_apply(struct so_ctx *sc, const char *ws, const char *project,
    const char *flag, const char *what, const struct strset *tags,
    const struct strset *add, const struct strset *drop, char *err,
    size_t errlen)
{
	size_t i;
	int rc;

	for (i = 0; i < add->n; i++)
		if ((rc = so_record(sc, project, flag, add->v[i], 1, err,
		    errlen)) != FLAGSYNC_OK)
			return rc;
	if ((rc = so_tags_write(sc, ws, what, flag, tags, add, drop, err,
	    errlen)) != FLAGSYNC_OK)
		return rc;
	for (i = 0; i < add->n; i++)
		sc->api->log(sc->h, FLAGSYNC_LOG_INFO, "tagged %s/%s with %s",
		    project, flag, add->v[i]);
	for (i = 0; i < drop->n; i++) {
		if ((rc = so_record(sc, project, flag, drop->v[i], 0, err,
		    errlen)) != FLAGSYNC_OK)
			return rc;
		sc->api->log(sc->h, FLAGSYNC_LOG_INFO, "removed tag %s from "
		    "%s/%s", drop->v[i], project, flag);
	}
	return FLAGSYNC_OK;
}

/*
 * Brings one flag's tags into step.  issue (may be NULL) is the event's:
 * when it is ours and no longer wanted the flag is read even if it wants
 * nothing, and a record of it that Split does not show is forgotten.
 */
static int
so_reconcile(struct so_ctx *sc, const char *project, const char *flag,
    const char *issue, char *err, size_t errlen)
{
	struct strset want = { 0 }, tags = { 0 }, add = { 0 }, drop = { 0 };
	char what[FS_PROJECT_MAX + FS_FLAG_MAX + 16];
	/* set when so_workspace() is OK; GCC cannot see that through
	 * plug_oom() in another file */
	const char *ws = NULL;
	int rc, stale = 0;

	snprintf(what, sizeof(what), "flag '%s/%s'", project, flag);
	if ((rc = so_wanted(sc, project, flag, &want, err, errlen)) !=
	    FLAGSYNC_OK)
		goto lists_free;
	if (issue != NULL && !strset_has(&want, issue) &&
	    (rc = so_owned(sc, project, flag, issue, &stale, err, errlen)) !=
	    FLAGSYNC_OK)
		goto lists_free;
	/* nothing to carry, nothing of ours at stake: no request */
	if (want.n == 0 && !stale)
		goto lists_free;
	if ((rc = so_workspace(sc, project, &ws, err, errlen)) != FLAGSYNC_OK ||
	    (rc = so_tags_read(sc, ws, what, flag, &tags, err, errlen)) !=
	    FLAGSYNC_OK ||
	    (rc = so_plan(sc, project, flag, &want, &tags, &add, &drop, err,
	    errlen)) != FLAGSYNC_OK)
		goto lists_free;
	if ((add.n > 0 || drop.n > 0) && (rc = so_apply(sc, ws, project, flag,
	    what, &tags, &add, &drop, err, errlen)) != FLAGSYNC_OK)
		goto lists_free;
	/* recorded, but neither there nor wanted: a crash's leftover */
	if (stale && !strset_has(&tags, issue))
		rc = so_record(sc, project, flag, issue, 0, err, errlen);
lists_free:
	strset_free(&want);
	strset_free(&tags);
	strset_free(&add);
	strset_free(&drop);
	return rc;
}

/* ------------------------------------------------------------ plugin */

static int
so_cancelled(void *arg)
{
	struct so_ctx *sc = arg;

	return sc->api->cancelled(sc->h);
}

static int
so_deliver(void *ctx, const struct flagsync_event *ev, char *err,
    size_t errlen)
{
	struct so_ctx *sc = ctx;

	if (ev->type == NULL || ev->project == NULL || ev->flag == NULL ||
	    (strcmp(ev->type, "link.added") != 0 &&
	    strcmp(ev->type, "link.removed") != 0))
		return FLAGSYNC_OK;
	return so_reconcile(sc, ev->project, ev->flag, ev->issue, err,
	    errlen);
}

static int
so_check_config(const struct flagsync_host_api *api, struct flagsync_host *h,
    char *err, size_t errlen)
{
	struct so_conf c;

	return so_config(api, h, &c, err, errlen);
}

static int
so_init(const struct flagsync_host_api *api, struct flagsync_host *h,
    void **ctx, char *err, size_t errlen)
{
	struct so_ctx *sc;
	char warn[512];
	int rc;

	if ((sc = plug_ctx_new(sizeof(*sc), err, errlen)) == NULL)
		return ENOMEM;
	if ((rc = so_config(api, h, &sc->conf, err, errlen)) != 0 ||
	    (rc = plughttp_global_init(err, errlen)) != 0)
		goto ctx_free;
	if ((rc = so_http_init(&sc->http, sc->conf.url, sc->conf.key,
	    sc->conf.x_api_key, sc->conf.ca_file, sc->conf.timeout,
	    sc->conf.max_rps, sc->conf.pace_file, warn, sizeof(warn), err,
	    errlen)) != 0)
		goto curl_cleanup;
	if (warn[0] != '\0')
		api->log(h, FLAGSYNC_LOG_WARNING, "%s", warn);
	sc->api = api;
	sc->h = h;
	sc->http.cancelled = so_cancelled;
	sc->http.cancel_arg = sc;
	sc->http.on_wait = so_on_wait;
	sc->http.wait_arg = sc;
	api->log(h, FLAGSYNC_LOG_DEBUG, "keeping flag tags in %s at %g "
	    "requests a second%s", sc->conf.url, sc->conf.max_rps,
	    sc->http.pace != NULL ? ", shared with the poll" : "");
	*ctx = sc;
	return 0;
curl_cleanup:
	curl_global_cleanup();
ctx_free:
	free(sc);
	return rc;
}

static void
so_shutdown(void *ctx)
{
	struct so_ctx *sc = ctx;
	size_t i;

	if (sc == NULL)
		return;
	so_http_release(&sc->http);
	for (i = 0; i < sc->nws; i++) {
		free(sc->ws[i].project);
		free(sc->ws[i].id);
	}
	free(sc->ws);
	free(sc);
	curl_global_cleanup();
}

FLAGSYNC_PLUGIN_DEFINE(
	.name = "split",
	.version = "1.0",
	.check_config = so_check_config,
	.init = so_init,
	.deliver = so_deliver,
	.shutdown = so_shutdown,
);
