/*
 * skipped.h - what a source left out, for its status record (flagsync(8)).
 *
 * One bad item never stalls the rest: a source that cannot take a flag,
 * tag, link or issue key records it here and goes on, and `status` names
 * it.  Every source reports in the same shape, merged into its status
 * record by skipped_put():
 *
 *	"skipped": [{"item": "flag 'x...' (10000 bytes)", "why": "..."}],
 *	"skipped_count": 3,
 *	"note": "3 items skipped: flag '...': ...; more in status --json"
 *
 * Only the first SKIPPED_LIST items are listed; skipped_count counts all.
 * Names are shown shortened and escaped (name_show()), so a record stays
 * small, valid UTF-8 and safe to print.
 */
#ifndef FLAGSYNC_SKIPPED_H
#define FLAGSYNC_SKIPPED_H

#include <stddef.h>

#include <json-c/json.h>

#define SKIPPED_LIST	20

/* Owns list (put by skipped_release()). */
struct skipped {
	json_object *list;	/* [{"item", "why"}], NULL while empty */
	size_t	 n;		/* every skipped item, listed or not */
};

void	skipped_init(struct skipped *s);
void	skipped_release(struct skipped *s);

/*
 * Records one item: kind ("flag", "tag", "issue"...), the name as it came
 * (NULL: kind alone is the item) and why, printf-style.  The caller logs
 * it, with whatever context it has (a file and line, a project).  0 or
 * ENOMEM; the count grows even when the list could not.
 */
int	skipped_add(struct skipped *s, const char *kind, const char *name,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The item text skipped_add() would list: "kind 'shown name'". */
int	skipped_item(const char *kind, const char *name, char *dst,
	    size_t len);

/*
 * Merges s into the status record o: appends to its "skipped" list (up
 * to SKIPPED_LIST), adds to "skipped_count", sets "note" unless o has
 * one.  Nothing when s is empty.  0 or ENOMEM.
 */
int	skipped_put(const struct skipped *s, json_object *o);

#endif
