/*
 * event.h - the change event document (flagsync(8)).
 *
 * Events are made as JSON text once, when they are committed, and stored
 * as that text in the event log; delivery and `flagsync events` read it
 * back verbatim.
 *
 * Ownership: the caller owns every argument; event_format() only appends
 * to out.
 */
#ifndef FLAGSYNC_EVENT_H
#define FLAGSYNC_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "diff.h"
#include "view.h"

struct event {
	uint64_t seq;
	int64_t	 time;			/* ms epoch of the commit */
	enum event_type type;
	const char *project;
	const char *environment;
	const char *flag;
	/* flag events: the flag's issues (flagsync(8)).  Link events carry
	 * only their "issue" and "sources": listing every issue of the flag
	 * in each made a flag with N issues write N * N keys. */
	const char *const *issues;
	size_t	 nissues;
	const struct flag_view *before;	/* flag events; NULL = null */
	const struct flag_view *after;
	const char *const *before_issues; /* issues inside "before" view */
	size_t	 nbefore_issues;
	const char *issue;		/* link events */
	const char *const *sources;	/* link events: source names */
	size_t	 nsources;
	int	 replay;		/* adds "replay": true when set */
	/* finding events (findings.h): "finding" is the type, "issue" the
	 * issue or null, "since" when it began to hold, "after" the flag
	 * view when the flag exists, "detail" a few words (or NULL) */
	const char *finding;
	int64_t	 since;
	const char *detail;
};

/* Appends the one-line JSON document of ev to out (no newline). */
int	event_format(const struct event *ev, struct buf *out);

#endif
