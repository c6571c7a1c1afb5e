/* view_test.c - the flag view: from Split, record, JSON, words. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "error.h"
#include "jscan.h"
#include "view.h"

#define FLAG_URL "https://app.split.io/org/ORG/ws/{workspace_id}/splits/" \
	"{flag_id}/env/{environment_id}/definition"

/* No rules, no targets, default off, 25 on / 75 off. */
static const char spec_def[] =
	"{\"name\": \"new_checkout\","
	" \"environment\": {\"id\": \"env-1\", \"name\": \"Production\"},"
	" \"killed\": false,"
	" \"treatments\": [{\"name\": \"on\"}, {\"name\": \"off\"}],"
	" \"defaultTreatment\": \"off\","
	" \"trafficAllocation\": 100,"
	" \"rules\": [],"
	" \"defaultRule\": [{\"treatment\": \"on\", \"size\": 25},"
	"   {\"treatment\": \"off\", \"size\": 75}],"
	" \"creationTime\": 1700000000000,"
	" \"lastUpdateTime\": 1700000500000}";

/* A definition as Split lists it: one rule, "on" targets a segment,
 * "off" two keys. */
static const char rules_def[] =
	"{\"name\": \"new_checkout\","
	" \"killed\": false,"
	" \"treatments\": ["
	"   {\"name\": \"on\", \"configurations\": \"{\\\"color\\\":\\\"blue\\\"}\","
	"    \"segments\": [\"docs_testers\"]},"
	"   {\"name\": \"off\", \"configurations\": \"{\\\"color\\\":\\\"red\\\"}\","
	"    \"keys\": [\"one\", \"two\"]}],"
	" \"defaultTreatment\": \"off\","
	" \"trafficAllocation\": 100,"
	" \"rules\": [{\"condition\": {\"combiner\": \"AND\", \"matchers\":"
	"   [{\"type\": \"IN_SEGMENT\", \"string\": \"employees\"}]},"
	"   \"buckets\": [{\"treatment\": \"on\", \"size\": 50},"
	"   {\"treatment\": \"off\", \"size\": 50}]}],"
	" \"defaultRule\": [{\"treatment\": \"on\", \"size\": 25},"
	"   {\"treatment\": \"off\", \"size\": 75}],"
	" \"lastUpdateTime\": 1700000500000}";

static const char *const spec_tags[] = { "checkout" };
static const char *const spec_issues[] = { "SHOP-1", "SHOP-7" };

static const struct view_context spec_ctx = {
	.project = "Default",
	.environment = "Production",
	.ws_id = "ws-1",
	.env_id = "env-1",
	.flag_url = FLAG_URL,
};

static json_object *
parse(const char *text)
{
	json_object *o;

	o = json_tokener_parse(text);
	assert_non_null(o);
	return o;
}

/* Builds a view of new_checkout from definition text (NULL: undefined). */
static int
build(struct flag_view *v, const struct view_context *ctx, const char *text,
    char *err, size_t errlen)
{
	json_object *def = text ? parse(text) : NULL;
	int rc;

	rc = view_from_split(v, ctx, "flag-1", "new_checkout",
	    "New checkout flow", spec_tags, 1, def, err, errlen);
	json_object_put(def);
	return rc;
}

static char *
to_text(const struct flag_view *v, const char *const *issues, size_t n,
    int flags)
{
	json_object *o;
	char *s;

	o = view_to_json(v, issues, n, flags);
	assert_non_null(o);
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	assert_non_null(s);
	json_object_put(o);
	return s;
}

static void
assert_words(const struct flag_view *v, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(view_rollout_words(v, &b), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void
test_spec_example(void **state)
{
	struct flag_view v;
	char err[256];

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, spec_def, err, sizeof(err)), 0);
	assert_string_equal(v.project, "Default");
	assert_string_equal(v.environment, "Production");
	assert_string_equal(v.flag, "new_checkout");
	assert_true(v.defined);
	assert_false(v.killed);
	assert_true(view_is_active(&v));
	assert_string_equal(v.default_treatment, "off");
	assert_int_equal(v.traffic_allocation, 100);
	assert_int_equal(v.ndefault_rule, 2);
	assert_string_equal(v.default_rule[0].treatment, "on");
	assert_int_equal(v.default_rule[0].size, 25);
	assert_string_equal(v.default_rule[1].treatment, "off");
	assert_int_equal(v.default_rule[1].size, 75);
	assert_int_equal(v.rules, 0);
	assert_int_equal(v.ntreatments, 2);
	assert_string_equal(v.treatments[0], "on");
	assert_string_equal(v.treatments[1], "off");
	assert_true(v.last_updated == INT64_C(1700000500000));
	assert_string_equal(v.url, "https://app.split.io/org/ORG/ws/ws-1/"
	    "splits/flag-1/env/env-1/definition");
	assert_int_equal(v.ntags, 1);
	assert_string_equal(v.tags[0], "checkout");
	assert_string_equal(v.description, "New checkout flow");
	assert_words(&v, "75% off");
	view_release(&v);
	assert_null(v.project);
}

static void
test_spec_json_exact(void **state)
{
	struct flag_view v;
	char *s;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, spec_def, NULL, 0), 0);
	s = to_text(&v, spec_issues, 2, 0);
	assert_string_equal(s,
	    "{\"project\":\"Default\",\"environment\":\"Production\","
	    "\"flag\":\"new_checkout\",\"active\":true,\"killed\":false,"
	    "\"default_treatment\":\"off\",\"traffic_allocation\":100,"
	    "\"default_rule\":[{\"treatment\":\"on\",\"size\":25},"
	    "{\"treatment\":\"off\",\"size\":75}],\"rules\":0,"
	    "\"rollout\":{\"percentage\":75,\"treatment\":\"off\"},"
	    "\"treatments\":[\"on\",\"off\"],"
	    "\"last_updated\":\"2023-11-14T22:21:40Z\","
	    "\"url\":\"https://app.split.io/org/ORG/ws/ws-1/splits/flag-1/"
	    "env/env-1/definition\",\"tags\":[\"checkout\"],"
	    "\"description\":\"New checkout flow\","
	    "\"issues\":[\"SHOP-1\",\"SHOP-7\"]}");
	free(s);
	view_release(&v);
}

static void
test_json_flags(void **state)
{
	struct flag_view v;
	char *s;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, spec_def, NULL, 0), 0);
	s = to_text(&v, NULL, 0, VIEW_JSON_NO_TAGS);
	assert_null(strstr(s, "\"tags\""));
	assert_null(strstr(s, "\"description\""));
	assert_non_null(strstr(s, "definition\",\"issues\":[]}"));
	free(s);
	s = to_text(&v, spec_issues, 2, VIEW_JSON_NO_ISSUES);
	assert_null(strstr(s, "\"issues\""));
	assert_non_null(strstr(s, "\"description\":\"New checkout flow\"}"));
	free(s);
	s = to_text(&v, spec_issues, 2,
	    VIEW_JSON_NO_TAGS | VIEW_JSON_NO_ISSUES);
	assert_non_null(strstr(s, "/definition\"}"));
	free(s);
	view_release(&v);
}

static void
test_rules_counted(void **state)
{
	struct flag_view v;
	json_object *o;
	char *s;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, rules_def, NULL, 0), 0);
	/* One rule, plus "on" (a segment) and "off" (two keys). */
	assert_int_equal(v.rules, 3);
	assert_words(&v, "3 rules");
	o = view_to_json(&v, NULL, 0, VIEW_JSON_NO_TAGS | VIEW_JSON_NO_ISSUES);
	assert_non_null(o);
	s = strdup(json_object_to_json_string_ext(
	    json_object_object_get(o, "rollout"), JSON_C_TO_STRING_PLAIN));
	assert_string_equal(s, "{\"rules\":3}");
	free(s);
	json_object_put(o);
	view_release(&v);
}

static void
test_one_rule_words(void **state)
{
	struct flag_view v;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx,
	    "{\"treatments\": [{\"name\": \"on\", \"keys\": []},"
	    " {\"name\": \"off\", \"segments\": [\"beta\"]}],"
	    " \"defaultTreatment\": \"on\", \"defaultRule\":"
	    " [{\"treatment\": \"on\", \"size\": 100}]}", NULL, 0), 0);
	/* Empty keys is no target group; one segment is. */
	assert_int_equal(v.rules, 1);
	assert_words(&v, "1 rule");
	view_release(&v);
}

static void
test_defaults(void **state)
{
	struct flag_view v;
	char *s;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx,
	    "{\"treatments\": [{\"name\": \"on\"}, {\"name\": \"off\"}],"
	    " \"defaultTreatment\": \"on\", \"defaultRule\":"
	    " [{\"treatment\": \"on\", \"size\": 40},"
	    " {\"treatment\": \"off\", \"size\": 60}]}", NULL, 0), 0);
	assert_true(v.defined);
	assert_false(v.killed);
	assert_int_equal(v.traffic_allocation, 100);
	assert_int_equal(v.rules, 0);
	assert_true(v.last_updated == 0);
	assert_words(&v, "40% on");
	s = to_text(&v, NULL, 0, 0);
	assert_non_null(strstr(s, "\"last_updated\":null,"));
	assert_non_null(strstr(s,
	    "\"rollout\":{\"percentage\":40,\"treatment\":\"on\"}"));
	free(s);
	view_release(&v);
}

static void
test_killed(void **state)
{
	struct flag_view v;
	char *s;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx,
	    "{\"killed\": true, \"trafficAllocation\": 0,"
	    " \"treatments\": [{\"name\": \"off\"}],"
	    " \"defaultTreatment\": \"off\", \"defaultRule\": []}",
	    NULL, 0), 0);
	assert_true(v.killed);
	assert_false(view_is_active(&v));
	assert_int_equal(v.traffic_allocation, 0);
	s = to_text(&v, NULL, 0, 0);
	assert_non_null(strstr(s, "\"active\":false,\"killed\":true,"));
	assert_non_null(strstr(s, "\"traffic_allocation\":0,"
	    "\"default_rule\":[],\"rules\":0,"
	    "\"rollout\":{\"percentage\":0,\"treatment\":\"off\"}"));
	free(s);
	view_release(&v);
}

static void
test_undefined(void **state)
{
	struct view_context ctx = spec_ctx;
	struct flag_view v;
	char *s;

	(void)state;
	ctx.flag_url = NULL;
	view_init(&v);
	assert_int_equal(build(&v, &ctx, NULL, NULL, 0), 0);
	assert_false(v.defined);
	assert_false(view_is_active(&v));
	assert_null(v.default_treatment);
	assert_null(v.url);
	assert_words(&v, "");
	s = to_text(&v, spec_issues, 1, 0);
	assert_string_equal(s,
	    "{\"project\":\"Default\",\"environment\":\"Production\","
	    "\"flag\":\"new_checkout\",\"active\":false,\"killed\":false,"
	    "\"default_treatment\":null,\"traffic_allocation\":null,"
	    "\"default_rule\":[],\"rules\":0,\"rollout\":null,"
	    "\"treatments\":[],\"last_updated\":null,\"url\":null,"
	    "\"tags\":[\"checkout\"],\"description\":\"New checkout flow\","
	    "\"issues\":[\"SHOP-1\"]}");
	free(s);
	view_release(&v);
}

static void
test_url_substitution(void **state)
{
	struct view_context ctx = spec_ctx;
	struct flag_view v;

	(void)state;
	ctx.project = "My Proj/ä";
	ctx.flag_url = "https://x/{workspace_id}/{environment_id}/{flag_id}"
	    "?f={flag}&p={project}&u={unknown}{{flag}}{}{flag";
	view_init(&v);
	assert_int_equal(view_from_split(&v, &ctx, "id 1", "a&b_c-d.e~f",
	    NULL, NULL, 0, NULL, NULL, 0), 0);
	/* ids are escaped as names are, as split.c does in its paths. */
	assert_string_equal(v.url, "https://x/ws-1/env-1/id%201"
	    "?f=a%26b_c-d.e~f&p=My%20Proj%2F%C3%A4&u={unknown}{a%26b_c-d.e~f}"
	    "{}{flag");
	assert_null(v.description);
	assert_int_equal(v.ntags, 0);
	view_release(&v);

	/* An id from Split cannot reshape the link: no new path segment,
	 * query or fragment. */
	ctx.ws_id = "../w?x=1";
	ctx.env_id = "e#frag";
	ctx.flag_url = "https://x/{workspace_id}/{environment_id}/{flag_id}/d";
	assert_int_equal(view_from_split(&v, &ctx, "i/../j", "f", NULL, NULL,
	    0, NULL, NULL, 0), 0);
	assert_string_equal(v.url, "https://x/..%2Fw%3Fx%3D1/e%23frag/"
	    "i%2F..%2Fj/d");
	view_release(&v);
	ctx.ws_id = spec_ctx.ws_id;
	ctx.env_id = spec_ctx.env_id;

	ctx.flag_url = "";
	assert_int_equal(view_from_split(&v, &ctx, NULL, "f", NULL, NULL, 0,
	    NULL, NULL, 0), 0);
	assert_string_equal(v.url, "");
	view_release(&v);

	/* A missing id substitutes as nothing. */
	ctx.flag_url = "u/{flag_id}/x";
	assert_int_equal(view_from_split(&v, &ctx, NULL, "f", NULL, NULL, 0,
	    NULL, NULL, 0), 0);
	assert_string_equal(v.url, "u//x");
	view_release(&v);
}

struct bad_def {
	const char *def;
	const char *err;
};

static const struct bad_def bad_defs[] = {
	{ "[1]", "flag 'new_checkout': definition is not an object" },
	{ "{\"killed\": \"no\", \"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'killed' is not a boolean" },
	{ "{\"treatments\": [], \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'defaultTreatment' is "
	  "missing" },
	{ "{\"treatments\": [], \"defaultTreatment\": 3, \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'defaultTreatment' is not "
	  "a string" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"trafficAllocation\": 101, \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'trafficAllocation' is not "
	  "an integer from 0 to 100" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"trafficAllocation\": 50.5, \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'trafficAllocation' is not "
	  "an integer from 0 to 100" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"trafficAllocation\": -1, \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'trafficAllocation' is not "
	  "an integer from 0 to 100" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"lastUpdateTime\": \"yesterday\", \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'lastUpdateTime' is not a "
	  "non-negative integer" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\"}",
	  "flag 'new_checkout': definition field 'defaultRule' is missing" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": {}}",
	  "flag 'new_checkout': definition field 'defaultRule' is not an "
	  "array" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": [{\"treatment\": \"a\", \"size\": 100}, 7]}",
	  "flag 'new_checkout': definition field 'defaultRule[1]' is not an "
	  "object" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": [{\"size\": 100}]}",
	  "flag 'new_checkout': definition field 'defaultRule[0].treatment' "
	  "is missing" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": [{\"treatment\": \"a\", \"size\": \"100\"}]}",
	  "flag 'new_checkout': definition field 'defaultRule[0].size' is "
	  "not an integer from 0 to 100" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": [{\"treatment\": \"a\"}]}",
	  "flag 'new_checkout': definition field 'defaultRule[0].size' is "
	  "missing" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": [], \"rules\": {}}",
	  "flag 'new_checkout': definition field 'rules' is not an array" },
	{ "{\"treatments\": [], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": [], \"rules\": [{}, \"x\"]}",
	  "flag 'new_checkout': definition field 'rules[1]' is not an "
	  "object" },
	{ "{\"defaultTreatment\": \"a\", \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'treatments' is missing" },
	{ "{\"treatments\": \"on\", \"defaultTreatment\": \"a\","
	  " \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'treatments' is not an "
	  "array" },
	{ "{\"treatments\": [\"on\"], \"defaultTreatment\": \"a\","
	  " \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'treatments[0]' is not an "
	  "object" },
	{ "{\"treatments\": [{\"name\": \"on\"}, {\"keys\": []}],"
	  " \"defaultTreatment\": \"a\", \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'treatments[1].name' is "
	  "missing" },
	{ "{\"treatments\": [{\"name\": \"on\", \"keys\": \"k\"}],"
	  " \"defaultTreatment\": \"a\", \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'treatments[0].keys' is not "
	  "an array" },
	{ "{\"treatments\": [{\"name\": \"on\", \"segments\": 1}],"
	  " \"defaultTreatment\": \"a\", \"defaultRule\": []}",
	  "flag 'new_checkout': definition field 'treatments[0].segments' is "
	  "not an array" },
};

static void
test_malformed(void **state)
{
	struct flag_view v;
	char err[256];
	size_t i;

	(void)state;
	view_init(&v);
	/* A failed build leaves the view as it was. */
	assert_int_equal(build(&v, &spec_ctx, spec_def, NULL, 0), 0);
	for (i = 0; i < sizeof(bad_defs) / sizeof(bad_defs[0]); i++) {
		strcpy(err, "stale");
		assert_int_equal(build(&v, &spec_ctx, bad_defs[i].def, err,
		    sizeof(err)), FS_EPROTO);
		assert_string_equal(err, bad_defs[i].err);
		assert_string_equal(v.default_treatment, "off");
		assert_int_equal(v.ndefault_rule, 2);
	}
	/* A short err buffer is cut, never overrun; none at all is fine. */
	assert_int_equal(build(&v, &spec_ctx, bad_defs[9].def, err, 10),
	    FS_EPROTO);
	assert_string_equal(err, "flag 'new");
	assert_int_equal(build(&v, &spec_ctx, bad_defs[9].def, NULL, 0),
	    FS_EPROTO);
	view_release(&v);
}

static uint64_t
hash_of(const char *text)
{
	struct flag_view v;
	uint64_t h;

	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, text, NULL, 0), 0);
	h = v.rules_hash;
	view_release(&v);
	return h;
}

static void
test_rules_hash(void **state)
{
	const char *base, *keys, *order, *segs, *rule, *none, *empty;

	(void)state;
	base = "{\"treatments\": [{\"name\": \"on\", \"keys\": [\"a\"]},"
	    " {\"name\": \"off\"}], \"defaultTreatment\": \"off\","
	    " \"defaultRule\": [], \"rules\": [{\"buckets\": [{\"treatment\":"
	    " \"on\", \"size\": 100}]}]}";
	/* Same count of targets, another key. */
	keys = "{\"treatments\": [{\"name\": \"on\", \"keys\": [\"b\"]},"
	    " {\"name\": \"off\"}], \"defaultTreatment\": \"off\","
	    " \"defaultRule\": [], \"rules\": [{\"buckets\": [{\"treatment\":"
	    " \"on\", \"size\": 100}]}]}";
	/* The key moved from a key to a segment list. */
	segs = "{\"treatments\": [{\"name\": \"on\", \"segments\": [\"a\"]},"
	    " {\"name\": \"off\"}], \"defaultTreatment\": \"off\","
	    " \"defaultRule\": [], \"rules\": [{\"buckets\": [{\"treatment\":"
	    " \"on\", \"size\": 100}]}]}";
	rule = "{\"treatments\": [{\"name\": \"on\", \"keys\": [\"a\"]},"
	    " {\"name\": \"off\"}], \"defaultTreatment\": \"off\","
	    " \"defaultRule\": [], \"rules\": [{\"buckets\": [{\"treatment\":"
	    " \"off\", \"size\": 100}]}]}";
	order = "{\"treatments\": [{\"name\": \"off\"}, {\"name\": \"on\","
	    " \"keys\": [\"a\"]}], \"defaultTreatment\": \"off\","
	    " \"defaultRule\": [], \"rules\": [{\"buckets\": [{\"treatment\":"
	    " \"on\", \"size\": 100}]}]}";
	none = "{\"treatments\": [{\"name\": \"on\"}],"
	    " \"defaultTreatment\": \"off\", \"defaultRule\": []}";
	empty = "{\"treatments\": [{\"name\": \"on\", \"keys\": [],"
	    " \"segments\": []}], \"defaultTreatment\": \"off\","
	    " \"defaultRule\": [], \"rules\": []}";

	assert_true(hash_of(base) == hash_of(base));
	assert_true(hash_of(base) != hash_of(keys));
	assert_true(hash_of(base) != hash_of(segs));
	assert_true(hash_of(base) != hash_of(rule));
	/* Moving an untargeted treatment is not a rules change. */
	assert_true(hash_of(base) == hash_of(order));
	assert_true(hash_of(none) != 0);
	/* Absent lists and empty lists say the same thing. */
	assert_true(hash_of(none) == hash_of(empty));
	/* Fields outside rules and targets do not count. */
	assert_true(hash_of(spec_def) == hash_of(
	    "{\"treatments\": [{\"name\": \"on\"}, {\"name\": \"off\"}],"
	    " \"defaultTreatment\": \"on\", \"defaultRule\": [],"
	    " \"killed\": true}"));
}

static void
test_format_time(void **state)
{
	char t[32];

	(void)state;
	view_format_time(INT64_C(1700000500000), t);
	assert_string_equal(t, "2023-11-14T22:21:40Z");
	view_format_time(INT64_C(1700000500999), t);
	assert_string_equal(t, "2023-11-14T22:21:40Z");
	view_format_time(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	view_format_time(-1, t);
	assert_string_equal(t, "1969-12-31T23:59:59Z");
	view_format_time(INT64_C(1709164800000), t);
	assert_string_equal(t, "2024-02-29T00:00:00Z");

	/* the digits written by hand are strftime's, years 1 to 9999 and
	 * around them */
	{
		static const int64_t edges[] = {
			INT64_C(-62135596800000), INT64_C(-62135596800001),
			INT64_C(253402300799999), INT64_C(253402300800000),
			INT64_C(-62167219200000), INT64_C(-62167219200001),
			INT64_C(951782400000), INT64_C(4102444800000),
		};
		uint64_t x = 88172645463325252ULL;
		char want[32];
		struct tm tm;
		time_t sec;
		int64_t ms;
		size_t i;

		for (i = 0; i < 20000; i++) {
			if (i < sizeof(edges) / sizeof(edges[0])) {
				ms = edges[i];
			} else {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				ms = (int64_t)(x % UINT64_C(340000000000000)) -
				    INT64_C(70000000000000);
			}
			sec = (time_t)(ms / 1000 - (ms % 1000 < 0));
			assert_non_null(gmtime_r(&sec, &tm));
			assert_true(strftime(want, sizeof(want),
			    "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
			view_format_time(ms, t);
			assert_string_equal(t, want);
		}
	}
}

static void
assert_views_equal(const struct flag_view *a, const struct flag_view *b)
{
	size_t i;

	assert_string_equal(a->project, b->project);
	assert_string_equal(a->environment, b->environment);
	assert_string_equal(a->flag, b->flag);
	assert_string_equal(a->flag_id, b->flag_id);
	assert_string_equal(a->ws_id, b->ws_id);
	assert_string_equal(a->env_id, b->env_id);
	assert_int_equal(a->defined, b->defined);
	assert_int_equal(a->killed, b->killed);
	assert_string_equal(a->default_treatment, b->default_treatment);
	assert_int_equal(a->traffic_allocation, b->traffic_allocation);
	assert_int_equal(a->ndefault_rule, b->ndefault_rule);
	for (i = 0; i < a->ndefault_rule; i++) {
		assert_string_equal(a->default_rule[i].treatment,
		    b->default_rule[i].treatment);
		assert_int_equal(a->default_rule[i].size,
		    b->default_rule[i].size);
	}
	assert_int_equal(a->rules, b->rules);
	assert_true(a->rules_hash == b->rules_hash);
	assert_int_equal(a->ntreatments, b->ntreatments);
	for (i = 0; i < a->ntreatments; i++)
		assert_string_equal(a->treatments[i], b->treatments[i]);
	assert_true(a->last_updated == b->last_updated);
	assert_string_equal(a->url, b->url);
	assert_int_equal(a->ntags, b->ntags);
	for (i = 0; i < a->ntags; i++)
		assert_string_equal(a->tags[i], b->tags[i]);
	assert_string_equal(a->description, b->description);
}

static void
encode(const struct flag_view *v, struct buf *b)
{
	buf_init(b, 0);
	assert_int_equal(view_encode(v, b), 0);
	assert_true(b->len > 1);
}

static void
test_record_round_trip(void **state)
{
	struct flag_view v, d;
	struct buf b1, b2;

	(void)state;
	view_init(&v);
	view_init(&d);
	assert_int_equal(build(&v, &spec_ctx, rules_def, NULL, 0), 0);
	encode(&v, &b1);
	assert_int_equal(b1.data[0], 1);
	assert_int_equal(view_decode(&d, b1.data, b1.len), 0);
	assert_views_equal(&v, &d);
	encode(&d, &b2);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	/* Decoding into a used view replaces it without leaking. */
	assert_int_equal(view_decode(&d, b2.data, b2.len), 0);
	assert_views_equal(&v, &d);
	buf_release(&b1);
	buf_release(&b2);
	view_release(&d);

	/* NULL strings stay NULL; an undefined view survives too. */
	view_release(&v);
	assert_int_equal(view_from_split(&v, &spec_ctx, NULL, "bare", NULL,
	    NULL, 0, NULL, NULL, 0), 0);
	encode(&v, &b1);
	assert_int_equal(view_decode(&d, b1.data, b1.len), 0);
	assert_null(d.flag_id);
	assert_null(d.description);
	assert_null(d.default_treatment);
	assert_false(d.defined);
	assert_string_equal(d.flag, "bare");
	assert_int_equal(d.ntags, 0);
	encode(&d, &b2);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.data, b2.data, b1.len);
	buf_release(&b1);
	buf_release(&b2);
	view_release(&d);
	view_release(&v);

	/* More arrays than the decoder's one block holds: the rest is
	 * allocated on its own, and released right (ASan watches). */
	{
		static const char *many[400];
		size_t i;

		for (i = 0; i < 400; i++)
			many[i] = i % 2 ? "t" : "";
		json_object *def = parse(spec_def);

		assert_int_equal(view_from_split(&v, &spec_ctx, "id", "many",
		    "", many, 400, def, NULL, 0), 0);
		json_object_put(def);
		/* so does the block a view is built in */
		assert_non_null(v.arena);
		assert_true((uintptr_t)v.flag >= (uintptr_t)v.arena &&
		    (uintptr_t)v.flag < (uintptr_t)v.arena + v.arena_len);
		assert_true((uintptr_t)v.tags < (uintptr_t)v.arena ||
		    (uintptr_t)v.tags >= (uintptr_t)v.arena + v.arena_len);
		assert_string_equal(v.tags[399], "t");
		encode(&v, &b1);
		assert_int_equal(view_decode(&d, b1.data, b1.len), 0);
		assert_views_equal(&v, &d);
		assert_non_null(d.arena);
		assert_true((uintptr_t)d.tags < (uintptr_t)d.arena ||
		    (uintptr_t)d.tags >= (uintptr_t)d.arena + d.arena_len ||
		    (uintptr_t)d.tags[399] < (uintptr_t)d.arena ||
		    (uintptr_t)d.tags[399] >= (uintptr_t)d.arena +
		    d.arena_len);
		encode(&d, &b2);
		assert_int_equal(b1.len, b2.len);
		assert_memory_equal(b1.data, b2.data, b1.len);
		buf_release(&b1);
		buf_release(&b2);
		view_release(&d);
		view_release(&v);
	}
}

static void
test_record_differs(void **state)
{
	struct flag_view a, b;
	struct buf ba, bb;

	(void)state;
	view_init(&a);
	view_init(&b);
	assert_int_equal(build(&a, &spec_ctx, spec_def, NULL, 0), 0);
	assert_int_equal(build(&b, &spec_ctx, spec_def, NULL, 0), 0);
	encode(&a, &ba);
	encode(&b, &bb);
	assert_int_equal(ba.len, bb.len);
	assert_memory_equal(ba.data, bb.data, ba.len);
	/* One bucket size is enough to change the record. */
	b.default_rule[0].size = 26;
	buf_release(&bb);
	encode(&b, &bb);
	assert_int_equal(ba.len, bb.len);
	assert_memory_not_equal(ba.data, bb.data, ba.len);
	/* Appending keeps what out held. */
	buf_reset(&bb);
	assert_int_equal(buf_puts(&bb, "key:"), 0);
	assert_int_equal(view_encode(&a, &bb), 0);
	assert_int_equal(bb.len, ba.len + 4);
	assert_memory_equal(bb.data + 4, ba.data, ba.len);
	buf_release(&ba);
	buf_release(&bb);
	view_release(&a);
	view_release(&b);
}

static void
test_record_encode_cap(void **state)
{
	struct flag_view v;
	struct buf b;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, spec_def, NULL, 0), 0);
	buf_init(&b, 40);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(view_encode(&v, &b), EFBIG);
	/* A record that does not fit leaves nothing behind. */
	assert_int_equal(b.len, 3);
	assert_string_equal(buf_str(&b), "abc");
	buf_release(&b);
	view_release(&v);
}

static void
test_record_corrupt(void **state)
{
	struct flag_view v, d;
	struct buf b;
	unsigned char *rec;
	size_t i;

	(void)state;
	view_init(&v);
	view_init(&d);
	assert_int_equal(build(&v, &spec_ctx, rules_def, NULL, 0), 0);
	encode(&v, &b);
	/* Every strict prefix is truncated; decode from a heap copy of
	 * exactly that length so ASan sees any read past it. */
	for (i = 0; i < b.len; i++) {
		rec = malloc(i ? i : 1);
		assert_non_null(rec);
		memcpy(rec, b.data, i);
		assert_int_equal(view_decode(&d, rec, i), FS_EPROTO);
		assert_null(d.project);
		free(rec);
	}
	/* Trailing garbage. */
	assert_int_equal(buf_putc(&b, 0), 0);
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	b.len--;
	/* Another version. */
	b.data[0] = 2;
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	b.data[0] = 1;
	/* A project length far past the end. */
	memcpy(b.data + 1, "\xfe\xff\xff\x7f", 4);
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	buf_release(&b);
	view_release(&v);
}

/*
 * A record's string read back byte for byte at every length, and refused
 * with a NUL at any of its places: the decoder copies and checks a string
 * eight bytes at a time with the last eight overlapping, four for strings
 * of 4 to 7 bytes and one for the shortest.  The description is the
 * record's last field, so a heap copy of exactly the record's length lets
 * ASan see a read past its end.
 */
static void
test_record_str_nul(void **state)
{
	struct flag_view v, d;
	struct buf b;
	char desc[48];
	unsigned char *rec;
	size_t len, j;

	(void)state;
	view_init(&d);
	for (len = 0; len < sizeof(desc) - 1; len++) {
		for (j = 0; j < len; j++)
			desc[j] = (char)('a' + (j * 7 + len) % 26);
		desc[len] = '\0';
		view_init(&v);
		assert_int_equal(view_from_split(&v, &spec_ctx, "flag-1",
		    "new_checkout", desc, spec_tags, 1, NULL, NULL, 0), 0);
		encode(&v, &b);
		assert_non_null(rec = malloc(b.len));
		memcpy(rec, b.data, b.len);
		assert_int_equal(view_decode(&d, rec, b.len), 0);
		assert_string_equal(d.description, desc);
		assert_string_equal(d.flag, "new_checkout");
		for (j = 0; j < len; j++) {
			rec[b.len - len + j] = '\0';
			assert_int_equal(view_decode(&d, rec, b.len),
			    FS_EPROTO);
			/* the last good view stays on error */
			assert_string_equal(d.description, desc);
			rec[b.len - len + j] = (unsigned char)desc[j];
		}
		assert_int_equal(view_decode(&d, rec, b.len), 0);
		free(rec);
		buf_release(&b);
		view_release(&v);
	}
	view_release(&d);
}

/*
 * Views whose strings and arrays do not all fit their block (hundreds of
 * tags, a URL of its own) built, encoded, decoded and released: a view
 * all in its block is freed by its block alone, and one that is not must
 * still free the rest (the sanitizer build's leak check sees it).
 */
static void
test_release_spilled(void **state)
{
	static const size_t counts[] = { 0, 1, 40, 120, 400 };
	static const struct view_context plain_ctx = {
		.project = "Default", .environment = "Production",
		.ws_id = "ws-1", .env_id = "env-1", .flag_url = NULL,
	};
	const struct view_context *ctx;
	struct flag_view v, d;
	struct buf b1, b2;
	json_object *def;
	char **tags, desc[64];
	size_t i, c, k;

	(void)state;
	def = parse(spec_def);
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		assert_non_null(tags = calloc(counts[c] + 1, sizeof(*tags)));
		for (i = 0; i < counts[c]; i++) {
			snprintf(desc, sizeof(desc), "t%zu", i);
			assert_non_null(tags[i] = strdup(desc));
		}
		for (k = 0; k < 2; k++) {
			ctx = k ? &spec_ctx : &plain_ctx;
			view_init(&v);
			view_init(&d);
			assert_int_equal(view_from_split(&v, ctx, "flag-1",
			    "new_checkout", "d", (const char *const *)tags,
			    counts[c], def, NULL, 0), 0);
			encode(&v, &b1);
			assert_int_equal(view_decode(&d, b1.data, b1.len), 0);
			if (ctx->flag_url != NULL)
				assert_views_equal(&v, &d);
			assert_true(d.url == NULL || ctx->flag_url != NULL);
			assert_int_equal(d.ntags, counts[c]);
			encode(&d, &b2);
			assert_int_equal(b1.len, b2.len);
			assert_memory_equal(b1.data, b2.data, b1.len);
			/* a second decode into d releases the first */
			assert_int_equal(view_decode(&d, b2.data, b2.len), 0);
			buf_release(&b1);
			buf_release(&b2);
			view_release(&v);
			view_release(&d);
		}
		for (i = 0; i < counts[c]; i++)
			free(tags[i]);
		free(tags);
	}
	json_object_put(def);
}

static int
view_strdup_test(char **dst, const char *s)
{
	return (*dst = strdup(s)) == NULL ? ENOMEM : 0;
}

static void
test_record_bad_values(void **state)
{
	/* version, a string of 3 holding a NUL */
	static const unsigned char bad_str[] = { 1, 3, 0, 0, 0, 'a', 0, 'b' };
	struct flag_view v, d;
	struct buf b;
	size_t at;

	(void)state;
	view_init(&v);
	view_init(&d);
	/* All six leading strings NULL: "defined" sits after 1 + 6 * 4. */
	encode(&v, &b);
	at = 1 + 6 * 4;
	assert_int_equal(b.data[at], 0);
	b.data[at] = 1;
	assert_int_equal(view_decode(&d, b.data, b.len), 0);
	assert_true(d.defined);
	view_release(&d);
	b.data[at] = 2;
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	b.data[at + 1] = 1;
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	b.data[at] = 0;
	assert_int_equal(view_decode(&d, b.data, b.len), 0);
	assert_true(d.killed);
	view_release(&d);
	b.data[at + 1] = 0xff;
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	buf_release(&b);

	assert_int_equal(view_decode(&d, bad_str, sizeof(bad_str)),
	    FS_EPROTO);
	/* A NUL inside a string of an otherwise whole record. */
	assert_int_equal(view_strdup_test(&v.project, "abc"), 0);
	encode(&v, &b);
	assert_memory_equal(b.data + 1, "\3\0\0\0abc", 7);
	assert_int_equal(view_decode(&d, b.data, b.len), 0);
	assert_string_equal(d.project, "abc");
	view_release(&d);
	b.data[6] = '\0';
	assert_int_equal(view_decode(&d, b.data, b.len), FS_EPROTO);
	buf_release(&b);
	view_release(&v);
	assert_int_equal(view_decode(&d, "", 0), FS_EPROTO);
	assert_null(d.project);
}

static void
test_record_fuzz(void **state)
{
	struct flag_view v, d;
	struct buf b, re;
	unsigned char *rec;
	size_t i, pos;
	int n, rc, ok = 0, bad = 0;

	(void)state;
	view_init(&v);
	view_init(&d);
	assert_int_equal(build(&v, &spec_ctx, rules_def, NULL, 0), 0);
	encode(&v, &b);
	if ((rec = malloc(b.len)) == NULL)
		fail();
	srand(20231114);
	for (n = 0; n < 20000; n++) {
		memcpy(rec, b.data, b.len);
		for (i = 0; i < (size_t)(1 + rand() % 4); i++) {
			pos = (size_t)rand() % b.len;
			rec[pos] ^= (unsigned char)(1 + rand() % 255);
		}
		rc = view_decode(&d, rec, b.len);
		if (rc == 0) {
			/* What decodes must encode again. */
			buf_init(&re, 0);
			assert_int_equal(view_encode(&d, &re), 0);
			buf_release(&re);
			view_release(&d);
			ok++;
		} else {
			assert_int_equal(rc, FS_EPROTO);
			assert_null(d.project);
			bad++;
		}
	}
	/* Both outcomes must have been exercised. */
	assert_true(ok > 0);
	assert_true(bad > 0);
	free(rec);
	buf_release(&b);
	view_release(&v);
}


/* view_write_json() and view_to_json() printed by json-c: the same bytes. */
static void
assert_text_same(const struct flag_view *v, const char *const *issues,
    size_t n)
{
	static const int vflags[] = { 0, VIEW_JSON_NO_TAGS,
	    VIEW_JSON_NO_ISSUES, VIEW_JSON_NO_TAGS | VIEW_JSON_NO_ISSUES };
	struct jsonw_text w;
	struct buf b;
	json_object *o;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < sizeof(vflags) / sizeof(vflags[0]); i++) {
		o = view_to_json(v, issues, n, vflags[i]);
		assert_non_null(o);
		buf_reset(&b);
		jsonw_text_init(&w, &b, 0);
		assert_int_equal(view_write_json(v, issues, n, vflags[i], &w), 0);
		assert_string_equal(buf_str(&b), json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		buf_reset(&b);
		jsonw_text_init(&w, &b, JSONW_SLASH);
		assert_int_equal(view_write_json(v, issues, n, vflags[i], &w), 0);
		assert_string_equal(buf_str(&b), json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	buf_release(&b);
}

/* A string written in place, at every fill of the buffer, and up to a
 * cap: the same bytes, and EFBIG leaves the buffer as it was. */
static void
test_text_str_fills(void **state)
{
	char s[80], want[200];
	struct jsonw_text w;
	struct buf b;
	size_t pre, n, cap;
	int rc;

	(void)state;
	for (pre = 0; pre < 70; pre++)
		for (n = 0; n < 70; n++)
			for (cap = pre + n + 1; cap <= pre + n + 3; cap++) {
				memset(s, 'a', n);
				s[n] = '\0';
				buf_init(&b, cap);
				memset(want, 'x', pre);
				want[pre] = '\0';
				assert_int_equal(buf_puts(&b, want), 0);
				jsonw_text_init(&w, &b, JSONW_SLASH);
				jsonw_text_str(&w, s);
				rc = w.rc;
				if (cap < pre + n + 2) {
					assert_int_equal(rc, EFBIG);
					assert_int_equal(b.len, pre);
				} else {
					assert_int_equal(rc, 0);
					snprintf(want + pre, sizeof(want) - pre,
					    "\"%s\"", s);
				}
				assert_string_equal(buf_str(&b), want);
				buf_release(&b);
			}
}

static void
test_text_same_as_tree(void **state)
{
	static const char odd[] = "q\" b\\ s/ \b\f\n\r\t \x01\x1f\x7f \xc3\xa9";
	const char *const odd_issues[] = { odd, "SHOP-1" };
	const char *const odd_tags[] = { odd, "", "t/2" };
	struct view_context ctx = spec_ctx;
	struct flag_view v;
	json_object *s;
	char byte[2], err[256];
	struct buf b;
	int c;

	(void)state;
	view_init(&v);
	assert_int_equal(build(&v, &spec_ctx, spec_def, err, sizeof(err)), 0);
	assert_text_same(&v, spec_issues, 2);
	assert_text_same(&v, NULL, 0);
	assert_int_equal(build(&v, &spec_ctx, rules_def, err, sizeof(err)), 0);
	assert_text_same(&v, spec_issues, 2);
	assert_int_equal(build(&v, &spec_ctx, NULL, err, sizeof(err)), 0);
	assert_text_same(&v, spec_issues, 1);
	ctx.flag_url = NULL;
	ctx.project = odd;
	assert_int_equal(view_from_split(&v, &ctx, odd, odd, odd, odd_tags, 3,
	    NULL, err, sizeof(err)), 0);
	assert_text_same(&v, odd_issues, 2);
	v.defined = true;
	v.killed = true;
	v.last_updated = -5;
	assert_text_same(&v, odd_issues, 2);
	view_release(&v);

	/* integers as json-c prints them */
	{
		static const int64_t nums[] = { 0, 1, -1, 9, 10, 99, 100,
		    -100, 1700000000000LL, INT64_MAX, INT64_MIN };
		struct jsonw_text w;
		size_t i;

		buf_init(&b, 0);
		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			buf_reset(&b);
			jsonw_text_init(&w, &b, 0);
			jsonw_text_int(&w, nums[i]);
			s = json_object_new_int64(nums[i]);
			assert_string_equal(buf_str(&b),
			    json_object_to_json_string(s));
			json_object_put(s);
			buf_reset(&b);
			jsonw_text_init(&w, &b, 0);
			jsonw_text_uint(&w, (uint64_t)nums[i]);
			s = json_object_new_uint64((uint64_t)nums[i]);
			assert_string_equal(buf_str(&b),
			    json_object_to_json_string(s));
			json_object_put(s);
		}
		buf_release(&b);
	}

	/* every byte escaped as json-c escapes it, with and without '/' */
	buf_init(&b, 0);
	for (c = 1; c < 256; c++) {
		byte[0] = (char)c;
		byte[1] = '\0';
		s = json_object_new_string(byte);
		buf_reset(&b);
		assert_int_equal(buf_putc(&b, '"'), 0);
		assert_int_equal(jsonw_escape(&b, byte, 1, JSONW_SLASH), 0);
		assert_int_equal(buf_putc(&b, '"'), 0);
		assert_string_equal(buf_str(&b), json_object_to_json_string_ext(s,
		    JSON_C_TO_STRING_PLAIN));
		buf_reset(&b);
		assert_int_equal(buf_putc(&b, '"'), 0);
		assert_int_equal(jsonw_escape(&b, byte, 1, 0), 0);
		assert_int_equal(buf_putc(&b, '"'), 0);
		assert_string_equal(buf_str(&b), json_object_to_json_string_ext(s,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(s);
	}
	buf_release(&b);
}

/* Definitions the scanned reader must read as json-c does: keys given
 * twice (json-c keeps the last value), nulls, targets. */
static const char *const twice_defs[] = {
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultTreatment\": \"off\", \"defaultRule\": []}",
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultRule\": [], \"killed\": true, \"killed\": null}",
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultRule\": [], \"killed\": null, \"killed\": true}",
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultRule\": [], \"trafficAllocation\": 5,"
	" \"trafficAllocation\": null}",
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultTreatment\": null, \"defaultRule\": []}",
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultRule\": [{\"treatment\": \"on\", \"size\": 5, \"size\": 50,"
	" \"treatment\": \"off\"}], \"lastUpdateTime\": 1,"
	" \"lastUpdateTime\": 2}",
	"{\"treatments\": [{\"name\": \"on\", \"keys\": [\"a\"], \"keys\": []},"
	" {\"name\": \"off\", \"keys\": [], \"name\": \"x\","
	" \"segments\": null, \"segments\": [\"s\"]}],"
	" \"defaultTreatment\": \"on\", \"defaultRule\": [],"
	" \"rules\": [{\"a\": 1, \"a\": 2}], \"rules\": [{\"b\": 1}]}",
	"{\"treatments\": [{\"name\": \"on\", \"keys\": null}],"
	" \"treatments\": [{\"name\": \"off\", \"keys\": [\"k\"]}],"
	" \"defaultTreatment\": \"on\", \"defaultRule\": [], \"rules\": null}",
	"{\"treatments\": [{\"name\": \"on\"}], \"defaultTreatment\": \"on\","
	" \"defaultRule\": [], \"killed\": 1}",
	"{\"treatments\": [{\"name\": \"on\", \"name\": 7}],"
	" \"defaultTreatment\": \"on\", \"defaultRule\": []}",
	"[]",
	"\"x\"",
};

/* Builds v from text scanned (jscan.h) rather than as a json-c tree;
 * -1 when the scanner leaves text to json-c. */
static int
build_scanned(struct flag_view *v, const char *text, char *err,
    size_t errlen)
{
	struct jscan scan;
	struct jnode def;
	char *copy;
	int rc;

	assert_non_null(copy = strdup(text));
	jscan_init(&scan);
	rc = jscan_parse(&scan, copy, strlen(copy));
	if (rc == 0) {
		def.json = NULL;
		def.scan = &scan;
		def.tok = 0;
		rc = view_from_node(v, &spec_ctx, "flag-1", "new_checkout",
		    "New checkout flow", spec_tags, 1, &def, err, errlen);
	} else {
		assert_int_equal(rc, JSCAN_FALLBACK);
		rc = -1;
	}
	jscan_release(&scan);
	free(copy);
	return rc;
}

/* False when the scanner leaves text to json-c (doubles, say): then
 * there is nothing to compare. */
static bool
assert_scanned_as_tree(const char *text)
{
	struct flag_view a, b;
	struct buf ra, rb;
	char ea[256], eb[256];
	int rca, rcb;

	view_init(&a);
	view_init(&b);
	strcpy(ea, "");
	strcpy(eb, "");
	rca = build(&a, &spec_ctx, text, ea, sizeof(ea));
	if ((rcb = build_scanned(&b, text, eb, sizeof(eb))) == -1) {
		view_release(&a);
		return false;
	}
	if (rca != rcb || strcmp(ea, eb) != 0)
		fail_msg("%s: tree %d '%s', scanned %d '%s'", text, rca, ea,
		    rcb, eb);
	buf_init(&ra, 0);
	buf_init(&rb, 0);
	assert_int_equal(view_encode(&a, &ra), 0);
	assert_int_equal(view_encode(&b, &rb), 0);
	if (ra.len != rb.len || memcmp(ra.data, rb.data, ra.len) != 0)
		fail_msg("%s: the scanned view differs from the tree's", text);
	buf_release(&ra);
	buf_release(&rb);
	view_release(&a);
	view_release(&b);
	return true;
}

/* A scanned definition gives the view and the messages a tree gives. */
static void
test_scanned_as_tree(void **state)
{
	size_t i, taken = 0;

	(void)state;
	assert_true(assert_scanned_as_tree(spec_def));
	assert_true(assert_scanned_as_tree(rules_def));
	for (i = 0; i < sizeof(bad_defs) / sizeof(bad_defs[0]); i++)
		taken += assert_scanned_as_tree(bad_defs[i].def);
	/* all but the double trafficAllocation */
	assert_int_equal(taken, sizeof(bad_defs) / sizeof(bad_defs[0]) - 1);
	for (i = 0; i < sizeof(twice_defs) / sizeof(twice_defs[0]); i++)
		assert_true(assert_scanned_as_tree(twice_defs[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_spec_json_exact),
		cmocka_unit_test(test_json_flags),
		cmocka_unit_test(test_rules_counted),
		cmocka_unit_test(test_one_rule_words),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_undefined),
		cmocka_unit_test(test_url_substitution),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rules_hash),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_differs),
		cmocka_unit_test(test_record_encode_cap),
		cmocka_unit_test(test_record_corrupt),
		cmocka_unit_test(test_record_bad_values),
		cmocka_unit_test(test_release_spilled),
		cmocka_unit_test(test_record_str_nul),
		cmocka_unit_test(test_record_fuzz),
		cmocka_unit_test(test_text_str_fills),
		cmocka_unit_test(test_text_same_as_tree),
		cmocka_unit_test(test_scanned_as_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
