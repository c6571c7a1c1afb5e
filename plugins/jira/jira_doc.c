/*
 * jira_doc.c - the documents the jira plugin writes: the issue
 * property {"count", "active", "flags", ["truncated",] "updated"} and a
 * flag's remote link.  Flag views in the property lose tags, description
 * and issues (what Jira shows needs none of them, and they would eat the
 * 32,768-byte budget); entries keep the host's order, so when the value
 * is too big the ones dropped from the end are the inactive and oldest.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "jira.h"

#define JIRA_JSON_FLAGS	\
	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Flag-view keys the property leaves out. */
static const char *const jira_dropped[] = {
	"tags", "description", "issues", NULL
};

json_object *
jira_doc_get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *
jira_doc_str(json_object *o, const char *key)
{
	json_object *v = jira_doc_get(o, key);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
jira_doc_dropped(const char *key)
{
	size_t i;

	for (i = 0; jira_dropped[i] != NULL; i++)
		if (strcmp(key, jira_dropped[i]) == 0)
			return 1;
	return 0;
}

/* json_object_object_add() that also drops v when it fails. */
static int
jira_doc_add(json_object *o, const char *key, json_object *v)
{
	if (v == NULL)
		return ENOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return ENOMEM;
	}
	return 0;
}

/* A flag view without the dropped keys; values are shared, not copied. */
static json_object *
jira_doc_slim(json_object *view)
{
	json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_foreach(view, key, val) {
		if (jira_doc_dropped(key))
			continue;
		if (json_object_object_add(o, key, json_object_get(val)) != 0) {
			json_object_put(val);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* RFC 3339 UTC of a wall-clock time in ms. */
static void
jira_doc_time(int64_t now_ms, char *out, size_t outlen)
{
	struct tm tm;
	time_t t = (time_t)(now_ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "1970-01-01T00:00:00Z");
}

/* The property's list: slim views, each with its serialised size. */
struct jira_slims {
	json_object	**v;
	size_t		 *size;
	size_t		  n;
	size_t		  active;
	json_object	 *findings;	/* the issue's, borrowed; or NULL */
};

static void
jira_slims_free(struct jira_slims *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		json_object_put(s->v[i]);
	free(s->v);
	free(s->size);
}

static int
jira_slims_make(json_object *flags, struct jira_slims *s)
{
	json_object *view, *active;
	size_t i, n = json_object_array_length(flags);

	memset(s, 0, sizeof(*s));
	if ((s->v = calloc(n + 1, sizeof(*s->v))) == NULL ||
	    (s->size = calloc(n + 1, sizeof(*s->size))) == NULL)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		view = json_object_array_get_idx(flags, i);
		if (!json_object_is_type(view, json_type_object))
			return EINVAL;
		if ((s->v[i] = jira_doc_slim(view)) == NULL)
			return ENOMEM;
		s->n++;
		s->size[i] = strlen(json_object_to_json_string_ext(s->v[i],
		    JIRA_JSON_FLAGS));
		active = jira_doc_get(view, "active");
		if (json_object_is_type(active, json_type_boolean) &&
		    json_object_get_boolean(active))
			s->active++;
	}
	return 0;
}

/* A figure the issue document gives, else the one counted. */
static int64_t
jira_doc_figure(json_object *issue, const char *key, size_t counted)
{
	json_object *v = jira_doc_get(issue, key);

	if (json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	return (int64_t)counted;
}

/*
 * The value with the first k entries.  Keys in the order Jira users
 * read them; "truncated" only when entries were left out.
 */
static json_object *
jira_doc_value(const struct jira_slims *s, size_t k, int64_t count,
    int64_t active, const char *updated)
{
	json_object *o, *list;
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (jira_doc_add(o, "count", json_object_new_int64(count)) != 0 ||
	    jira_doc_add(o, "active", json_object_new_int64(active)) != 0 ||
	    (list = json_object_new_array()) == NULL ||
	    jira_doc_add(o, "flags", list) != 0)
		goto value_free;
	for (i = 0; i < k; i++)
		if (json_object_array_add(list, json_object_get(s->v[i])) != 0) {
			json_object_put(s->v[i]);
			goto value_free;
		}
	if (k < s->n && jira_doc_add(o, "truncated",
	    json_object_new_boolean(1)) != 0)
		goto value_free;
	if (s->findings != NULL && jira_doc_add(o, "findings",
	    json_object_get(s->findings)) != 0)
		goto value_free;
	if (jira_doc_add(o, "updated", json_object_new_string(updated)) != 0)
		goto value_free;
	return o;
value_free:
	json_object_put(o);
	return NULL;
}

/*
 * How many entries fit: the serialised value is the frame plus the
 * entries and the commas between them, so it is summed, not rebuilt for
 * every candidate.
 */
static size_t
jira_doc_fit(const struct jira_slims *s, size_t frame_all, size_t frame_cut)
{
	size_t total, i;

	total = frame_all;
	for (i = 0; i < s->n; i++)
		total += s->size[i] + (i > 0);
	if (total <= JIRA_PROP_MAX)
		return s->n;
	total = frame_cut;
	for (i = 0; i < s->n; i++) {
		if (total + s->size[i] + (i > 0) > JIRA_PROP_MAX)
			break;
		total += s->size[i] + (i > 0);
	}
	return i;
}

/* Serialised length of a value with no entries. */
static int
jira_doc_frame(const struct jira_slims *s, int cut, int64_t count,
    int64_t active, const char *updated, size_t *len)
{
	struct jira_slims none = *s;
	json_object *o;

	/* One entry "left out" makes the frame carry "truncated". */
	none.n = cut ? 1 : 0;
	if ((o = jira_doc_value(&none, 0, count, active, updated)) == NULL)
		return ENOMEM;
	*len = strlen(json_object_to_json_string_ext(o, JIRA_JSON_FLAGS));
	json_object_put(o);
	return 0;
}

/* Both serialisations of the value with k entries. */
static int
jira_doc_strings(const struct jira_slims *s, size_t *k, int64_t count,
    int64_t active, const char *updated, char **full, char **bare)
{
	json_object *o;
	const char *text;

	for (;;) {
		if ((o = jira_doc_value(s, *k, count, active, updated)) == NULL)
			return ENOMEM;
		text = json_object_to_json_string_ext(o, JIRA_JSON_FLAGS);
		/* The sum above is exact; this only guards against a json-c
		 * that serialises an array differently. */
		if (strlen(text) <= JIRA_PROP_MAX || *k == 0)
			break;
		json_object_put(o);
		(*k)--;
	}
	if ((*full = strdup(text)) == NULL)
		goto value_free;
	json_object_object_del(o, "updated");
	if ((*bare = strdup(json_object_to_json_string_ext(o,
	    JIRA_JSON_FLAGS))) == NULL) {
		free(*full);
		*full = NULL;
		goto value_free;
	}
	json_object_put(o);
	return 0;
value_free:
	json_object_put(o);
	return ENOMEM;
}

int
jira_doc_property(json_object *issue, int64_t now_ms, char **full,
    char **bare)
{
	struct jira_slims s;
	json_object *flags;
	char updated[32];
	size_t frame_all, frame_cut, k;
	int64_t count, active;
	int rc;

	*full = *bare = NULL;
	if (issue == NULL)
		return 0;
	flags = jira_doc_get(issue, "flags");
	if (!json_object_is_type(flags, json_type_array))
		return EINVAL;
	if (json_object_array_length(flags) == 0)
		return 0;
	if ((rc = jira_slims_make(flags, &s)) != 0)
		goto slims_free;
	/* open findings (flagsync(8)) when the host gave them */
	s.findings = jira_doc_get(issue, "findings");
	if (!json_object_is_type(s.findings, json_type_array))
		s.findings = NULL;
	jira_doc_time(now_ms, updated, sizeof(updated));
	count = jira_doc_figure(issue, "count", s.n);
	active = jira_doc_figure(issue, "active", s.active);
	if ((rc = jira_doc_frame(&s, 0, count, active, updated,
	    &frame_all)) != 0 || (rc = jira_doc_frame(&s, 1, count, active,
	    updated, &frame_cut)) != 0)
		goto slims_free;
	k = jira_doc_fit(&s, frame_all, frame_cut);
	rc = jira_doc_strings(&s, &k, count, active, updated, full, bare);
slims_free:
	jira_slims_free(&s);
	return rc;
}

char *
jira_doc_pair(json_object *view)
{
	const char *project, *flag;
	char *pair;

	project = jira_doc_str(view, "project");
	flag = jira_doc_str(view, "flag");
	if (project == NULL || flag == NULL ||
	    asprintf(&pair, "%s:%s", project, flag) < 0)
		return NULL;
	return pair;
}

/* "75% off" or "3 rules"; empty when the rollout says neither. */
static void
jira_doc_rollout(json_object *r, char *out, size_t outlen)
{
	json_object *p, *rules;
	const char *t;

	out[0] = '\0';
	p = jira_doc_get(r, "percentage");
	rules = jira_doc_get(r, "rules");
	if (json_object_is_type(p, json_type_int)) {
		t = jira_doc_str(r, "treatment");
		snprintf(out, outlen, "%" PRId64 "%%%s%s",
		    json_object_get_int64(p), t != NULL ? " " : "",
		    t != NULL ? t : "");
	} else if (json_object_is_type(p, json_type_double)) {
		t = jira_doc_str(r, "treatment");
		snprintf(out, outlen, "%g%%%s%s", json_object_get_double(p),
		    t != NULL ? " " : "", t != NULL ? t : "");
	} else if (json_object_is_type(rules, json_type_int))
		snprintf(out, outlen, "%" PRId64 " %s",
		    json_object_get_int64(rules),
		    json_object_get_int64(rules) == 1 ? "rule" : "rules");
}

void
jira_doc_summary(json_object *view, char *out, size_t outlen)
{
	json_object *killed, *active, *rollout;
	const char *env;
	char words[128];

	if ((env = jira_doc_str(view, "environment")) == NULL)
		env = "the primary environment";
	killed = jira_doc_get(view, "killed");
	active = jira_doc_get(view, "active");
	rollout = jira_doc_get(view, "rollout");
	if (json_object_is_type(killed, json_type_boolean) &&
	    json_object_get_boolean(killed)) {
		snprintf(out, outlen, "KILLED in %s", env);
		return;
	}
	/* Not defined there (rollout null) or otherwise not serving. */
	if (!json_object_is_type(active, json_type_boolean) ||
	    !json_object_get_boolean(active) ||
	    !json_object_is_type(rollout, json_type_object)) {
		snprintf(out, outlen, "OFF in %s", env);
		return;
	}
	jira_doc_rollout(rollout, words, sizeof(words));
	if (words[0] == '\0')
		snprintf(out, outlen, "ON in %s", env);
	else
		snprintf(out, outlen, "ON in %s \xc2\xb7 %s", env, words);
}

static json_object *
jira_doc_link_object(json_object *view)
{
	json_object *o, *status, *active;
	char summary[512];
	const char *title;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((title = jira_doc_str(view, "flag")) == NULL)
		title = "";
	jira_doc_summary(view, summary, sizeof(summary));
	active = jira_doc_get(view, "active");
	if (jira_doc_add(o, "url", json_object_new_string(jira_doc_str(view,
	    "url"))) != 0 ||
	    jira_doc_add(o, "title", json_object_new_string(title)) != 0 ||
	    jira_doc_add(o, "summary", json_object_new_string(summary)) != 0 ||
	    (status = json_object_new_object()) == NULL ||
	    jira_doc_add(o, "status", status) != 0 ||
	    jira_doc_add(status, "resolved", json_object_new_boolean(
	    !(json_object_is_type(active, json_type_boolean) &&
	    json_object_get_boolean(active)))) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* FNV-1a, 64 bits: small, and the plugin links no crypto library. */
static uint64_t
jira_doc_fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

char *
jira_doc_global_id(const char *pair)
{
	char *gid;
	size_t keep;
	int n;

	if ((n = asprintf(&gid, "flagsync:%s", pair)) < 0)
		return NULL;
	/* Bytes: never fewer than the UTF-16 units Jira counts. */
	if ((size_t)n <= JIRA_GLOBAL_ID_MAX)
		return gid;
	keep = JIRA_GLOBAL_ID_MAX - 17;		/* "#" and 16 hex digits */
	while (keep > 0 && ((unsigned char)gid[keep] & 0xc0) == 0x80)
		keep--;			/* not inside a UTF-8 character */
	snprintf(gid + keep, (size_t)n + 1 - keep, "#%016" PRIx64,
	    jira_doc_fnv1a(gid));
	return gid;
}

char *
jira_doc_link(json_object *view, const char *pair)
{
	json_object *o, *app, *obj;
	char *gid = NULL, *text = NULL;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((gid = jira_doc_global_id(pair)) == NULL)
		goto link_free;
	if (jira_doc_add(o, "globalId", json_object_new_string(gid)) != 0 ||
	    (app = json_object_new_object()) == NULL ||
	    jira_doc_add(o, "application", app) != 0 ||
	    jira_doc_add(app, "type", json_object_new_string("io.split")) != 0 ||
	    jira_doc_add(app, "name", json_object_new_string("Split")) != 0 ||
	    jira_doc_add(o, "relationship",
	    json_object_new_string("feature flag")) != 0 ||
	    (obj = jira_doc_link_object(view)) == NULL ||
	    jira_doc_add(o, "object", obj) != 0)
		goto link_free;
	text = strdup(json_object_to_json_string_ext(o, JIRA_JSON_FLAGS));
link_free:
	free(gid);
	json_object_put(o);
	return text;
}
