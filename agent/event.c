/* event.c - the change event document. */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "diff.h"
#include "event.h"
#include "jsonw.h"
#include "view.h"

/* A full view (issues included), or null when there is none. */
static int
event_json_view(json_object *o, const char *key, const struct flag_view *v,
    const char *const *issues, size_t nissues)
{
	if (v == NULL)
		return jsonw_null(o, key);
	return jsonw_put(o, key, view_to_json(v, issues, nissues, 0));
}

static int
event_add_head(json_object *o, const struct event *ev)
{
	char when[32];
	int rc;

	view_format_time(ev->time, when);
	if ((rc = jsonw_put(o, "seq", json_object_new_uint64(ev->seq))) !=
	    0 || (rc = jsonw_str(o, "time", when)) != 0 ||
	    (rc = jsonw_str(o, "type", event_type_name(ev->type))) != 0 ||
	    (rc = jsonw_str(o, "project", ev->project)) != 0 ||
	    (rc = jsonw_str(o, "environment", ev->environment)) != 0)
		return rc;
	return jsonw_str(o, "flag", ev->flag);
}

static int
event_add_flag(json_object *o, const struct event *ev)
{
	int rc;

	if ((rc = jsonw_put(o, "issues",
	    jsonw_strv(ev->issues, ev->nissues))) != 0 ||
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

	if ((rc = jsonw_str(o, "issue", ev->issue)) != 0)
		return rc;
	return jsonw_put(o, "sources", jsonw_strv(ev->sources, ev->nsources));
}

/* A finding event: what holds and since when, and the flag as it is. */
static int
event_add_finding(json_object *o, const struct event *ev)
{
	char since[32];
	int rc;

	view_format_time(ev->since, since);
	if ((rc = jsonw_str(o, "finding", ev->finding)) != 0 ||
	    (rc = jsonw_str(o, "issue", ev->issue)) != 0 ||
	    (rc = jsonw_str(o, "since", since)) != 0 ||
	    (rc = jsonw_str(o, "detail", ev->detail)) != 0)
		return rc;
	return event_json_view(o, "after", ev->after, ev->issues,
	    ev->nissues);
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
	else if (ev->type == EV_FINDING_OPENED ||
	    ev->type == EV_FINDING_CLOSED)
		rc = event_add_finding(doc, ev);
	else
		rc = event_add_flag(doc, ev);
	if (rc != 0)
		goto doc_put;
	if (ev->replay &&
	    (rc = jsonw_put(doc, "replay",
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
