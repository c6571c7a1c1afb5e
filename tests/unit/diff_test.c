/* diff_test.c - change events between two views of a flag. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "diff.h"
#include "view.h"

/*
 * The base definition; variants below change one thing each.  Fields
 * a test replaces are given as printf arguments in this order: killed,
 * treatments, defaultTreatment, trafficAllocation, rules, defaultRule,
 * lastUpdateTime.
 */
#define DEF_FMT "{\"killed\": %s, \"treatments\": %s," \
	" \"defaultTreatment\": \"%s\", \"trafficAllocation\": %d," \
	" \"rules\": %s, \"defaultRule\": %s, \"lastUpdateTime\": %s}"

struct def {
	const char *killed;
	const char *treatments;
	const char *default_treatment;
	int	 traffic;
	const char *rules;
	const char *default_rule;
	const char *updated;
};

static const struct def base = {
	.killed = "false",
	.treatments = "[{\"name\": \"on\"}, {\"name\": \"off\","
	    " \"keys\": [\"k1\"]}]",
	.default_treatment = "off",
	.traffic = 100,
	.rules = "[{\"condition\": {\"matchers\": []}, \"buckets\":"
	    " [{\"treatment\": \"on\", \"size\": 100}]}]",
	.default_rule = "[{\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"off\", \"size\": 75}]",
	.updated = "1700000500000",
};

static const char *const tags[] = { "SHOP-1" };

static struct flag_view *
make_full(const struct def *d, const char *description,
    const char *const *t, size_t nt, const char *url)
{
	struct view_context ctx = {
		.project = "Default",
		.environment = "Production",
		.ws_id = "ws",
		.env_id = "env",
		.flag_url = url,
	};
	struct flag_view *v;
	json_object *def = NULL;
	char text[2048];
	char err[256] = "";

	if (d != NULL) {
		snprintf(text, sizeof(text), DEF_FMT, d->killed,
		    d->treatments, d->default_treatment, d->traffic,
		    d->rules, d->default_rule, d->updated);
		def = json_tokener_parse(text);
		assert_non_null(def);
	}
	v = malloc(sizeof(*v));
	assert_non_null(v);
	view_init(v);
	assert_int_equal(view_from_split(v, &ctx, "id", "flag", description,
	    t, nt, def, err, sizeof(err)), 0);
	json_object_put(def);
	return v;
}

static struct flag_view *
make(const struct def *d)
{
	return make_full(d, "desc", tags, 1, "https://x/{flag}");
}

static void
drop(struct flag_view *v)
{
	view_release(v);
	free(v);
}

/* The diff of base against base changed by one variant. */
static unsigned
diff_with(const struct def *after)
{
	struct flag_view *a, *b;
	unsigned mask;

	a = make(&base);
	b = make(after);
	mask = diff_flag(a, b);
	drop(a);
	drop(b);
	return mask;
}

static void
test_identical(void **state)
{
	(void)state;
	assert_int_equal(diff_with(&base), 0);
}

static void
test_killed_restored(void **state)
{
	struct flag_view *a, *b;
	struct def d = base;

	(void)state;
	d.killed = "true";
	a = make(&base);
	b = make(&d);
	assert_int_equal(diff_flag(a, b), EV_BIT(EV_FLAG_KILLED));
	assert_int_equal(diff_flag(b, a), EV_BIT(EV_FLAG_RESTORED));
	assert_int_equal(diff_flag(b, b), 0);
	drop(a);
	drop(b);
}

static void
test_rollout_changed(void **state)
{
	struct def d = base;

	(void)state;
	d.default_rule = "[{\"treatment\": \"on\", \"size\": 50},"
	    " {\"treatment\": \"off\", \"size\": 50}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
	/* The same buckets in another order are no change. */
	d.default_rule = "[{\"treatment\": \"off\", \"size\": 75},"
	    " {\"treatment\": \"on\", \"size\": 25}]";
	assert_int_equal(diff_with(&d), 0);
	/* A bucket split in two is. */
	d.default_rule = "[{\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"off\", \"size\": 50},"
	    " {\"treatment\": \"off\", \"size\": 25}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
	/* Multisets: duplicates count. */
	d.default_rule = "[{\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"on\", \"size\": 25}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
	d.default_rule = "[{\"treatment\": \"on\", \"size\": 25}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
	/* Everything there was, and one bucket more. */
	d.default_rule = "[{\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"off\", \"size\": 75},"
	    " {\"treatment\": \"maybe\", \"size\": 0}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
}

static void
test_rollout_duplicates(void **state)
{
	struct flag_view *a, *b;
	struct def da = base, db = base;

	(void)state;
	/* Same length, same members, other multiplicities. */
	da.default_rule = "[{\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"off\", \"size\": 50}]";
	db.default_rule = "[{\"treatment\": \"on\", \"size\": 25},"
	    " {\"treatment\": \"off\", \"size\": 50},"
	    " {\"treatment\": \"off\", \"size\": 50}]";
	a = make(&da);
	b = make(&db);
	assert_int_equal(diff_flag(a, b), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
	assert_int_equal(diff_flag(b, a), EV_BIT(EV_FLAG_ROLLOUT_CHANGED));
	drop(a);
	drop(b);
}

static void
test_rules_changed(void **state)
{
	struct def d = base;

	(void)state;
	/* Another rule. */
	d.rules = "[{\"condition\": {\"matchers\": []}, \"buckets\":"
	    " [{\"treatment\": \"on\", \"size\": 100}]},"
	    " {\"condition\": {\"matchers\": []}, \"buckets\":"
	    " [{\"treatment\": \"off\", \"size\": 100}]}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_RULES_CHANGED));
	/* The same count, another bucket. */
	d.rules = "[{\"condition\": {\"matchers\": []}, \"buckets\":"
	    " [{\"treatment\": \"off\", \"size\": 100}]}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_RULES_CHANGED));
	/* The same count, another individual target. */
	d = base;
	d.treatments = "[{\"name\": \"on\"}, {\"name\": \"off\","
	    " \"keys\": [\"k2\"]}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_RULES_CHANGED));
	/* A target group gone: the count drops. */
	d.treatments = "[{\"name\": \"on\"}, {\"name\": \"off\"}]";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_RULES_CHANGED));
}

static void
test_rules_count_or_hash(void **state)
{
	struct flag_view *a, *b;

	(void)state;
	/* Either figure alone is enough, whatever the other says. */
	a = make(&base);
	b = make(&base);
	b->rules++;
	assert_int_equal(diff_flag(a, b), EV_BIT(EV_FLAG_RULES_CHANGED));
	b->rules--;
	b->rules_hash ^= 1;
	assert_int_equal(diff_flag(a, b), EV_BIT(EV_FLAG_RULES_CHANGED));
	b->rules_hash ^= 1;
	assert_int_equal(diff_flag(a, b), 0);
	drop(a);
	drop(b);
}

static void
test_default_treatment_changed(void **state)
{
	struct def d = base;

	(void)state;
	d.default_treatment = "on";
	assert_int_equal(diff_with(&d),
	    EV_BIT(EV_FLAG_DEFAULT_TREATMENT_CHANGED));
}

static void
test_traffic_changed(void **state)
{
	struct def d = base;

	(void)state;
	d.traffic = 50;
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_TRAFFIC_CHANGED));
}

static void
test_treatments_changed(void **state)
{
	struct flag_view *a, *b;
	struct def d = base;

	(void)state;
	d.treatments = "[{\"name\": \"on\"}, {\"name\": \"off\","
	    " \"keys\": [\"k1\"]}, {\"name\": \"maybe\"}]";
	a = make(&base);
	b = make(&d);
	/* A new treatment nobody is targeted to is not a rules change. */
	assert_int_equal(diff_flag(a, b), EV_BIT(EV_FLAG_TREATMENTS_CHANGED));
	assert_int_equal(diff_flag(b, a), EV_BIT(EV_FLAG_TREATMENTS_CHANGED));
	drop(b);

	/* A renamed treatment: same count, another set. */
	d.treatments = "[{\"name\": \"on\"}, {\"name\": \"no\","
	    " \"keys\": [\"k1\"]}]";
	b = make(&d);
	b->rules_hash = a->rules_hash;
	assert_int_equal(diff_flag(a, b), EV_BIT(EV_FLAG_TREATMENTS_CHANGED));
	drop(a);
	drop(b);
}

static void
test_treatments_order(void **state)
{
	struct flag_view *a, *b;
	struct def d = base;

	(void)state;
	d.treatments = "[{\"name\": \"off\", \"keys\": [\"k1\"]},"
	    " {\"name\": \"on\"}]";
	a = make(&base);
	b = make(&d);
	/* The same set of names and the same targets: no event at all. */
	assert_int_equal(diff_flag(a, b), 0);
	drop(a);
	drop(b);
}

static void
test_updated_only(void **state)
{
	struct def d = base;

	(void)state;
	d.updated = "1700000600000";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_UPDATED));
}

static void
test_several_from_one_save(void **state)
{
	struct def d = base;

	(void)state;
	/* Killed and the rollout moved in one save, which also moved
	 * lastUpdateTime: no flag.updated beside real changes. */
	d.killed = "true";
	d.default_rule = "[{\"treatment\": \"on\", \"size\": 0},"
	    " {\"treatment\": \"off\", \"size\": 100}]";
	d.updated = "1700000600000";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_KILLED) |
	    EV_BIT(EV_FLAG_ROLLOUT_CHANGED));

	d.traffic = 10;
	d.default_treatment = "on";
	assert_int_equal(diff_with(&d), EV_BIT(EV_FLAG_KILLED) |
	    EV_BIT(EV_FLAG_ROLLOUT_CHANGED) | EV_BIT(EV_FLAG_TRAFFIC_CHANGED) |
	    EV_BIT(EV_FLAG_DEFAULT_TREATMENT_CHANGED));
}

static void
test_listing_only_changes(void **state)
{
	static const char *const other_tags[] = { "SHOP-2", "x" };
	struct flag_view *a, *b;

	(void)state;
	a = make(&base);
	b = make_full(&base, "another description", other_tags, 2,
	    "https://elsewhere/{flag}");
	assert_int_equal(diff_flag(a, b), 0);
	drop(b);
	b = make_full(&base, NULL, NULL, 0, NULL);
	assert_int_equal(diff_flag(a, b), 0);
	drop(a);
	drop(b);
}

static void
test_created_deleted(void **state)
{
	struct flag_view *def, *undef;
	struct def d = base;

	(void)state;
	def = make(&base);
	undef = make(NULL);
	assert_int_equal(diff_flag(NULL, def), EV_BIT(EV_FLAG_CREATED));
	assert_int_equal(diff_flag(undef, def), EV_BIT(EV_FLAG_CREATED));
	assert_int_equal(diff_flag(def, NULL), EV_BIT(EV_FLAG_DELETED));
	assert_int_equal(diff_flag(def, undef), EV_BIT(EV_FLAG_DELETED));
	assert_int_equal(diff_flag(NULL, NULL), 0);
	assert_int_equal(diff_flag(NULL, undef), 0);
	assert_int_equal(diff_flag(undef, NULL), 0);
	assert_int_equal(diff_flag(undef, undef), 0);
	drop(def);

	/* Only created or deleted, however the definition looks. */
	d.killed = "true";
	d.traffic = 0;
	def = make(&d);
	assert_int_equal(diff_flag(undef, def), EV_BIT(EV_FLAG_CREATED));
	assert_int_equal(diff_flag(def, undef), EV_BIT(EV_FLAG_DELETED));
	drop(def);
	drop(undef);
}

static void
test_event_names(void **state)
{
	static const char *const names[EV_COUNT] = {
		"flag.created", "flag.deleted", "flag.killed",
		"flag.restored", "flag.rollout_changed", "flag.rules_changed",
		"flag.default_treatment_changed", "flag.traffic_changed",
		"flag.treatments_changed", "flag.updated", "link.added",
		"link.removed", "finding.opened", "finding.closed",
	};
	int t;

	(void)state;
	for (t = 0; t < EV_COUNT; t++) {
		assert_string_equal(event_type_name((enum event_type)t),
		    names[t]);
		assert_int_equal(event_type_parse(names[t]), t);
	}
	assert_int_equal(event_type_parse("flag.*"), -1);
	assert_int_equal(event_type_parse("flag.created "), -1);
	assert_int_equal(event_type_parse(""), -1);
	assert_int_equal(event_type_parse(NULL), -1);
	assert_string_equal(event_type_name(EV_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_killed_restored),
		cmocka_unit_test(test_rollout_changed),
		cmocka_unit_test(test_rollout_duplicates),
		cmocka_unit_test(test_rules_changed),
		cmocka_unit_test(test_rules_count_or_hash),
		cmocka_unit_test(test_default_treatment_changed),
		cmocka_unit_test(test_traffic_changed),
		cmocka_unit_test(test_treatments_changed),
		cmocka_unit_test(test_treatments_order),
		cmocka_unit_test(test_updated_only),
		cmocka_unit_test(test_several_from_one_save),
		cmocka_unit_test(test_listing_only_changes),
		cmocka_unit_test(test_created_deleted),
		cmocka_unit_test(test_event_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
