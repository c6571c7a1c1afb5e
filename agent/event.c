/* event.c - the change event document. */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>

#include "buf.h"
#include "diff.h"
#include "event.h"
#include "jsonw.h"
#include "view.h"

/*
 * The document is written as text, member by member, in the order the
 * json-c tree it replaced had them (event_test holds the two equal): a
 * baseline makes one event per flag, and building, printing and freeing
 * a tree for each cost more than everything else in the commit.
 */

/* A full view (issues included), or null when there is none. */
static void
event_text_view(struct jsonw_text *w, const char *key,
    const struct flag_view *v, const char *const *issues, size_t nissues)
{
	jsonw_text_key(w, key);
	if (v == NULL)
		jsonw_text_null(w);
	else
		(void)view_write_json(v, issues, nissues, 0, w);
}

static void
event_text_head(struct jsonw_text *w, const struct event *ev)
{
	char when[32];

	view_format_time(ev->time, when);
	JSONW_TEXT_KEY(w, "seq");
	jsonw_text_uint(w, ev->seq);
	JSONW_TEXT_KEY(w, "time");
	jsonw_text_str(w, when);
	JSONW_TEXT_KEY(w, "type");
	jsonw_text_str(w, event_type_name(ev->type));
	JSONW_TEXT_KEY(w, "project");
	jsonw_text_str(w, ev->project);
	JSONW_TEXT_KEY(w, "environment");
	jsonw_text_str(w, ev->environment);
	JSONW_TEXT_KEY(w, "flag");
	jsonw_text_str(w, ev->flag);
}

/* A finding event: what holds and since when, and the flag as it is. */
static void
event_text_finding(struct jsonw_text *w, const struct event *ev)
{
	char since[32];

	view_format_time(ev->since, since);
	JSONW_TEXT_KEY(w, "finding");
	jsonw_text_str(w, ev->finding);
	JSONW_TEXT_KEY(w, "issue");
	jsonw_text_str(w, ev->issue);
	JSONW_TEXT_KEY(w, "since");
	jsonw_text_str(w, since);
	JSONW_TEXT_KEY(w, "detail");
	jsonw_text_str(w, ev->detail);
	event_text_view(w, "after", ev->after, ev->issues, ev->nissues);
}

int
event_format(const struct event *ev, struct buf *out)
{
	struct jsonw_text w;
	size_t start = out->len;

	if ((unsigned)ev->type >= EV_COUNT)
		return EINVAL;
	jsonw_text_init(&w, out, 0);
	jsonw_text_open(&w, '{');
	event_text_head(&w, ev);
	if (ev->type == EV_LINK_ADDED || ev->type == EV_LINK_REMOVED) {
		JSONW_TEXT_KEY(&w, "issue");
		jsonw_text_str(&w, ev->issue);
		JSONW_TEXT_KEY(&w, "sources");
		jsonw_text_strv(&w, ev->sources, ev->nsources);
	} else if (ev->type == EV_FINDING_OPENED ||
	    ev->type == EV_FINDING_CLOSED) {
		event_text_finding(&w, ev);
	} else {
		JSONW_TEXT_KEY(&w, "issues");
		jsonw_text_strv(&w, ev->issues, ev->nissues);
		event_text_view(&w, "before", ev->before, ev->before_issues,
		    ev->nbefore_issues);
		event_text_view(&w, "after", ev->after, ev->issues,
		    ev->nissues);
	}
	if (ev->replay) {
		JSONW_TEXT_KEY(&w, "replay");
		jsonw_text_bool(&w, true);
	}
	jsonw_text_close(&w, '}');
	if (w.rc != 0) {
		/* as before: nothing of a failed document stays in out */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	return w.rc;
}
