/* diff.c - the change events between two views of one flag. */
#include "autoconf.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "diff.h"
#include "view.h"

static const char *const event_names[EV_COUNT] = {
	[EV_FLAG_CREATED] = "flag.created",
	[EV_FLAG_DELETED] = "flag.deleted",
	[EV_FLAG_KILLED] = "flag.killed",
	[EV_FLAG_RESTORED] = "flag.restored",
	[EV_FLAG_ROLLOUT_CHANGED] = "flag.rollout_changed",
	[EV_FLAG_RULES_CHANGED] = "flag.rules_changed",
	[EV_FLAG_DEFAULT_TREATMENT_CHANGED] = "flag.default_treatment_changed",
	[EV_FLAG_TRAFFIC_CHANGED] = "flag.traffic_changed",
	[EV_FLAG_TREATMENTS_CHANGED] = "flag.treatments_changed",
	[EV_FLAG_UPDATED] = "flag.updated",
	[EV_LINK_ADDED] = "link.added",
	[EV_LINK_REMOVED] = "link.removed",
	[EV_FINDING_OPENED] = "finding.opened",
	[EV_FINDING_CLOSED] = "finding.closed",
};

const char *
event_type_name(enum event_type t)
{
	if ((unsigned)t >= EV_COUNT)
		return "unknown";
	return event_names[t];
}

int
event_type_parse(const char *s)
{
	int t;

	if (s == NULL)
		return -1;
	for (t = 0; t < EV_COUNT; t++)
		if (strcmp(s, event_names[t]) == 0)
			return t;
	return -1;
}

static bool
diff_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static size_t
diff_bucket_count(const struct view_bucket *v, size_t n,
    const struct view_bucket *b)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (v[i].size == b->size &&
		    diff_str_eq(v[i].treatment, b->treatment))
			c++;
	return c;
}

/*
 * Split may hand the buckets back in another order without anyone
 * changing them, so they compare as multisets.  The lists are a handful
 * of entries: counting beats sorting copies.
 */
static bool
diff_default_rule_eq(const struct flag_view *a, const struct flag_view *b)
{
	size_t i;

	if (a->ndefault_rule != b->ndefault_rule)
		return false;
	for (i = 0; i < a->ndefault_rule; i++)
		if (diff_bucket_count(a->default_rule, a->ndefault_rule,
		    &a->default_rule[i]) != diff_bucket_count(b->default_rule,
		    b->ndefault_rule, &a->default_rule[i]))
			return false;
	return true;
}

static bool
diff_strv_has(char *const *sv, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (diff_str_eq(sv[i], s))
			return true;
	return false;
}

/* True when every name of a is in b. */
static bool
diff_strv_within(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	for (i = 0; i < na; i++)
		if (!diff_strv_has(b, nb, a[i]))
			return false;
	return true;
}

static bool
diff_treatments_eq(const struct flag_view *a, const struct flag_view *b)
{
	return diff_strv_within(a->treatments, a->ntreatments, b->treatments,
	    b->ntreatments) && diff_strv_within(b->treatments, b->ntreatments,
	    a->treatments, a->ntreatments);
}

static unsigned
diff_definitions(const struct flag_view *a, const struct flag_view *b)
{
	unsigned mask = 0;

	if (!a->killed && b->killed)
		mask |= EV_BIT(EV_FLAG_KILLED);
	if (a->killed && !b->killed)
		mask |= EV_BIT(EV_FLAG_RESTORED);
	if (!diff_default_rule_eq(a, b))
		mask |= EV_BIT(EV_FLAG_ROLLOUT_CHANGED);
	if (a->rules != b->rules || a->rules_hash != b->rules_hash)
		mask |= EV_BIT(EV_FLAG_RULES_CHANGED);
	if (!diff_str_eq(a->default_treatment, b->default_treatment))
		mask |= EV_BIT(EV_FLAG_DEFAULT_TREATMENT_CHANGED);
	if (a->traffic_allocation != b->traffic_allocation)
		mask |= EV_BIT(EV_FLAG_TRAFFIC_CHANGED);
	if (!diff_treatments_eq(a, b))
		mask |= EV_BIT(EV_FLAG_TREATMENTS_CHANGED);
	if (mask == 0 && a->last_updated != b->last_updated)
		mask |= EV_BIT(EV_FLAG_UPDATED);
	return mask;
}

unsigned
diff_flag(const struct flag_view *before, const struct flag_view *after)
{
	bool had, has;

	had = before != NULL && before->defined;
	has = after != NULL && after->defined;
	if (!had && has)
		return EV_BIT(EV_FLAG_CREATED);
	if (had && !has)
		return EV_BIT(EV_FLAG_DELETED);
	if (!had && !has)
		return 0;
	return diff_definitions(before, after);
}
