/* event.c - the change event document. */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "diff.h"
#include "event.h"
#include "view.h"

/* Adds val (NULL meaning its allocation failed) to o, taking it over. */
static int
event_json_put(json_object *o, const char *key, json_object *val)
{
	if (val == NULL)
		return ENOMEM;
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return ENOMEM;
	}
	return 0;
}

static int
event_json_str(json_object *o, const char *key, const char *s)
{
	if (s == NULL)
		return json_object_object_add(o, key, NULL) != 0 ? ENOMEM : 0;
	return event_json_put(o, key, json_object_new_string(s));
}

static json_object *
event_json_strv(const char *const *sv, size_t n)
{
	json_object *a, *s;
	size_t i;

	if ((a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s = sv[i] ? json_object_new_string(sv[i]) : NULL;
		if ((sv[i] != NULL && s == NULL) ||
		    json_object_array_add(a, s) != 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

/* A full view (issues included), or null when there is none. */
static int
event_json_view(json_object *o, const char *key, const struct flag_view *v,
    const char *const *issues, size_t nissues)
{
	if (v == NULL)
		return json_object_object_add(o, key, NULL) != 0 ? ENOMEM : 0;
	return event_json_put(o, key, view_to_json(v, issues, nissues, 0));
}

static int
event_add_head(json_object *o, const struct event *ev)
{
	char when[32];
	int rc;

	view_format_time(ev->time, when);
	if ((rc = event_json_put(o, "seq", json_object_new_uint64(ev->seq))) !=
	    0 || (rc = event_json_str(o, "time", when)) != 0 ||
	    (rc = event_json_str(o, "type", event_type_name(ev->type))) != 0 ||
	    (rc = event_json_str(o, "project", ev->project)) != 0 ||
	    (rc = event_json_str(o, "environment", ev->environment)) != 0)
		return rc;
	return event_json_str(o, "flag", ev->flag);
}

static int
event_add_flag(json_object *o, const struct event *ev)
{
	int rc;

	if ((rc = event_json_put(o, "issues",
	    event_json_strv(ev->issues, ev->nissues))) != 0 ||
	    (rc = event_json_view(o, "before", ev->before, ev->before_issues,
	    ev->nbefore_issues)) != 0)
		return rc;
	return event_json_view(o, "after", ev->after, ev->issues,
	    ev->nissues);
}

static int
event_add_link(json_object *o, const struct event *ev)
{
	int rc;

	if ((rc = event_json_str(o, "issue", ev->issue)) != 0 ||
	    (rc = event_json_put(o, "sources",
	    event_json_strv(ev->sources, ev->nsources))) != 0)
		return rc;
	return event_json_put(o, "issues",
	    event_json_strv(ev->issues, ev->nissues));
}

int
event_format(const struct event *ev, struct buf *out)
{
	json_object *doc;
	const char *s;
	size_t len;
	int rc;

	if ((unsigned)ev->type >= EV_COUNT)
		return EINVAL;
	if ((doc = json_object_new_object()) == NULL)
		return ENOMEM;
	if ((rc = event_add_head(doc, ev)) != 0)
		goto doc_put;
	if (ev->type == EV_LINK_ADDED || ev->type == EV_LINK_REMOVED)
		rc = event_add_link(doc, ev);
	else
		rc = event_add_flag(doc, ev);
	if (rc != 0)
		goto doc_put;
	if (ev->replay &&
	    (rc = event_json_put(doc, "replay",
	    json_object_new_boolean(1))) != 0)
		goto doc_put;
	s = json_object_to_json_string_length(doc,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL) {
		rc = ENOMEM;
		goto doc_put;
	}
	rc = buf_append(out, s, len);
doc_put:
	json_object_put(doc);
	return rc;
}
