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

/* A full view (issues included) after its raw key, or null. */
static void
event_text_view(struct jsonw_text *w, const char *key, size_t klen,
    const struct flag_view *v, const char *const *issues, size_t nissues)
{
	jsonw_text_raw(w, key, klen);
	if (v == NULL) {
		JSONW_TEXT_RAW(w, "null");
		return;
	}
	w->keyed = true;	/* for view_write_json()'s jsonw_text_open() */
	(void)view_write_json(v, issues, nissues, 0, w);
}
#define EVENT_TEXT_VIEW(w, lit, v, sv, n) \
	event_text_view((w), lit, sizeof(lit) - 1, (v), (sv), (n))

/* The members every event has; the shape is fixed, so keys and commas
 * are written raw (jsonw.h), each with its value. */
static void
event_text_head(struct jsonw_text *w, const struct event *ev)
{
	char when[32];

	view_format_time(ev->time, when);
	JSONW_TEXT_KUINT(w, "\"seq\":", ev->seq);
	JSONW_TEXT_KTIME(w, ",\"time\":", when);
	JSONW_TEXT_KSTR(w, ",\"type\":", event_type_name(ev->type));
	JSONW_TEXT_KSTR(w, ",\"project\":", ev->project);
	JSONW_TEXT_KSTR(w, ",\"environment\":", ev->environment);
	JSONW_TEXT_KSTR(w, ",\"flag\":", ev->flag);
}

/* A finding event: what holds and since when, and the flag as it is. */
static void
event_text_finding(struct jsonw_text *w, const struct event *ev)
{
	char since[32];

	view_format_time(ev->since, since);
	JSONW_TEXT_KSTR(w, ",\"finding\":", ev->finding);
	JSONW_TEXT_KSTR(w, ",\"issue\":", ev->issue);
	JSONW_TEXT_KTIME(w, ",\"since\":", since);
	JSONW_TEXT_KSTR(w, ",\"detail\":", ev->detail);
	EVENT_TEXT_VIEW(w, ",\"after\":", ev->after, ev->issues, ev->nissues);
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
		JSONW_TEXT_KSTR(&w, ",\"issue\":", ev->issue);
		JSONW_TEXT_RAW(&w, ",\"sources\":");
		jsonw_text_vstrv(&w, ev->sources, ev->nsources);
	} else if (ev->type == EV_FINDING_OPENED ||
	    ev->type == EV_FINDING_CLOSED) {
		event_text_finding(&w, ev);
	} else {
		JSONW_TEXT_RAW(&w, ",\"issues\":");
		jsonw_text_vstrv(&w, ev->issues, ev->nissues);
		EVENT_TEXT_VIEW(&w, ",\"before\":", ev->before,
		    ev->before_issues, ev->nbefore_issues);
		EVENT_TEXT_VIEW(&w, ",\"after\":", ev->after, ev->issues,
		    ev->nissues);
	}
	if (ev->replay)
		JSONW_TEXT_RAW(&w, ",\"replay\":true");
	jsonw_text_close(&w, '}');
	if (w.rc != 0) {
		/* as before: nothing of a failed document stays in out */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
	}
	return w.rc;
}
