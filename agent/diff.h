/*
 * diff.h - turn two views of one flag into change events (flagsync(8)).
 *
 * diff_flag() compares the cached view (before) with the polled one
 * (after) and returns the set of flag event types as a bit mask.  A flag
 * whose definition appears yields only flag.created; one whose definition
 * disappears only flag.deleted.  Otherwise every property that changed
 * yields its own event; flag.updated only when lastUpdateTime moved and
 * nothing else did.  Tags and description changes produce no flag event
 * (their link consequences are link events).
 */
#ifndef FLAGSYNC_DIFF_H
#define FLAGSYNC_DIFF_H

#include "view.h"

enum event_type {
	EV_FLAG_CREATED,
	EV_FLAG_DELETED,
	EV_FLAG_KILLED,
	EV_FLAG_RESTORED,
	EV_FLAG_ROLLOUT_CHANGED,
	EV_FLAG_RULES_CHANGED,
	EV_FLAG_DEFAULT_TREATMENT_CHANGED,
	EV_FLAG_TRAFFIC_CHANGED,
	EV_FLAG_TREATMENTS_CHANGED,
	EV_FLAG_UPDATED,
	EV_LINK_ADDED,
	EV_LINK_REMOVED,
	EV_FINDING_OPENED,	/* findings.h: a finding starts to hold */
	EV_FINDING_CLOSED,	/* ... and stops */
	EV_COUNT
};

#define EV_BIT(t)	(1u << (t))

/* "flag.created" ... "link.removed". */
const char *event_type_name(enum event_type t);
/* The type named s, or -1. */
int	event_type_parse(const char *s);

/*
 * before and after may each be NULL (no record at all) or undefined
 * (listed but without a definition); both are treated as "no definition".
 * Returns the mask of EV_BIT() flag events, in enum order when iterated.
 */
unsigned diff_flag(const struct flag_view *before,
	    const struct flag_view *after);

#endif
