/* event_test.c - the change event document, byte for byte. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "diff.h"
#include "event.h"
#include "view.h"

#define EV_TIME		INT64_C(1795992615000)	/* 2026-11-29T22:50:15Z */

static const char before_def[] =
	"{\"treatments\": [{\"name\": \"on\"}, {\"name\": \"off\"}],"
	" \"defaultTreatment\": \"off\", \"trafficAllocation\": 100,"
	" \"defaultRule\": [{\"treatment\": \"on\", \"size\": 25},"
	" {\"treatment\": \"off\", \"size\": 75}],"
	" \"lastUpdateTime\": 1700000500000}";

static const char after_def[] =
	"{\"treatments\": [{\"name\": \"on\"}, {\"name\": \"off\"}],"
	" \"defaultTreatment\": \"off\", \"trafficAllocation\": 100,"
	" \"defaultRule\": [{\"treatment\": \"on\", \"size\": 50},"
	" {\"treatment\": \"off\", \"size\": 50}],"
	" \"lastUpdateTime\": 1700001100000}";

/* The views above as JSON, without the closing issues. */
#define BEFORE_VIEW "{\"project\":\"Default\",\"environment\":\"Production\"," \
	"\"flag\":\"new_checkout\",\"active\":true,\"killed\":false," \
	"\"default_treatment\":\"off\",\"traffic_allocation\":100," \
	"\"default_rule\":[{\"treatment\":\"on\",\"size\":25}," \
	"{\"treatment\":\"off\",\"size\":75}],\"rules\":0," \
	"\"rollout\":{\"percentage\":75,\"treatment\":\"off\"}," \
	"\"treatments\":[\"on\",\"off\"]," \
	"\"last_updated\":\"2023-11-14T22:21:40Z\"," \
	"\"url\":\"https://app.split.io/ws/ws-1/splits/new_checkout\"," \
	"\"tags\":[\"checkout\"],\"description\":\"New checkout flow\","
#define AFTER_VIEW "{\"project\":\"Default\",\"environment\":\"Production\"," \
	"\"flag\":\"new_checkout\",\"active\":true,\"killed\":false," \
	"\"default_treatment\":\"off\",\"traffic_allocation\":100," \
	"\"default_rule\":[{\"treatment\":\"on\",\"size\":50}," \
	"{\"treatment\":\"off\",\"size\":50}],\"rules\":0," \
	"\"rollout\":{\"percentage\":50,\"treatment\":\"off\"}," \
	"\"treatments\":[\"on\",\"off\"]," \
	"\"last_updated\":\"2023-11-14T22:31:40Z\"," \
	"\"url\":\"https://app.split.io/ws/ws-1/splits/new_checkout\"," \
	"\"tags\":[\"checkout\"],\"description\":\"New checkout flow\","

static const char *const tags[] = { "checkout" };
static const char *const issues_after[] = { "SHOP-1", "SHOP-7" };
static const char *const issues_before[] = { "SHOP-2" };

struct fixture {
	struct flag_view before;
	struct flag_view after;
	struct buf out;
};

static void
make_view(struct flag_view *v, const char *text)
{
	const struct view_context ctx = {
		.project = "Default",
		.environment = "Production",
		.ws_id = "ws-1",
		.env_id = "env-1",
		.flag_url = "https://app.split.io/ws/{workspace_id}/splits/{flag}",
	};
	json_object *def;

	def = json_tokener_parse(text);
	assert_non_null(def);
	view_init(v);
	assert_int_equal(view_from_split(v, &ctx, "flag-1", "new_checkout",
	    "New checkout flow", tags, 1, def, NULL, 0), 0);
	json_object_put(def);
}

static int
setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	make_view(&f->before, before_def);
	make_view(&f->after, after_def);
	buf_init(&f->out, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	view_release(&f->before);
	view_release(&f->after);
	buf_release(&f->out);
	free(f);
	return 0;
}

static struct event
flag_event(const struct fixture *f, enum event_type type)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.seq = 42;
	ev.time = EV_TIME;
	ev.type = type;
	ev.project = "Default";
	ev.environment = "Production";
	ev.flag = "new_checkout";
	ev.issues = issues_after;
	ev.nissues = 2;
	ev.before = &f->before;
	ev.after = &f->after;
	ev.before_issues = issues_before;
	ev.nbefore_issues = 1;
	return ev;
}

static void
test_flag_event(void **state)
{
	struct fixture *f = *state;
	struct event ev = flag_event(f, EV_FLAG_ROLLOUT_CHANGED);
	json_object *o;

	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":42,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"flag.rollout_changed\",\"project\":\"Default\","
	    "\"environment\":\"Production\",\"flag\":\"new_checkout\","
	    "\"issues\":[\"SHOP-1\",\"SHOP-7\"],"
	    "\"before\":" BEFORE_VIEW "\"issues\":[\"SHOP-2\"]},"
	    "\"after\":" AFTER_VIEW "\"issues\":[\"SHOP-1\",\"SHOP-7\"]}}");
	/* One line, and valid JSON. */
	assert_null(strchr(buf_str(&f->out), '\n'));
	o = json_tokener_parse(buf_str(&f->out));
	assert_non_null(o);
	assert_string_equal(json_object_get_string(json_object_object_get(
	    json_object_object_get(o, "after"), "url")),
	    "https://app.split.io/ws/ws-1/splits/new_checkout");
	json_object_put(o);
}

static void
test_created_event(void **state)
{
	struct fixture *f = *state;
	struct event ev = flag_event(f, EV_FLAG_CREATED);

	ev.before = NULL;
	ev.before_issues = NULL;
	ev.nbefore_issues = 0;
	ev.seq = UINT64_C(18446744073709551615);
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":18446744073709551615,"
	    "\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"flag.created\",\"project\":\"Default\","
	    "\"environment\":\"Production\",\"flag\":\"new_checkout\","
	    "\"issues\":[\"SHOP-1\",\"SHOP-7\"],\"before\":null,"
	    "\"after\":" AFTER_VIEW "\"issues\":[\"SHOP-1\",\"SHOP-7\"]}}");
}

static void
test_deleted_event(void **state)
{
	struct fixture *f = *state;
	struct event ev = flag_event(f, EV_FLAG_DELETED);

	/* A deleted flag's issues are those from before. */
	ev.issues = issues_before;
	ev.nissues = 1;
	ev.after = NULL;
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":42,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"flag.deleted\",\"project\":\"Default\","
	    "\"environment\":\"Production\",\"flag\":\"new_checkout\","
	    "\"issues\":[\"SHOP-2\"],"
	    "\"before\":" BEFORE_VIEW "\"issues\":[\"SHOP-2\"]},"
	    "\"after\":null}");
}

static void
test_link_event(void **state)
{
	static const char *const sources[] = { "split-tag", "file" };
	struct fixture *f = *state;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.seq = 7;
	ev.time = EV_TIME;
	ev.type = EV_LINK_ADDED;
	ev.project = "Default";
	ev.environment = "Production";
	ev.flag = "new_checkout";
	ev.issue = "SHOP-7";
	ev.sources = sources;
	ev.nsources = 2;
	ev.issues = issues_after;
	ev.nissues = 2;
	/* Views and the flag's issues given to a link event are not part
	 * of it: it is about one link. */
	ev.before = &f->before;
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":7,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"link.added\",\"project\":\"Default\","
	    "\"environment\":\"Production\",\"flag\":\"new_checkout\","
	    "\"issue\":\"SHOP-7\",\"sources\":[\"split-tag\",\"file\"]}");

	buf_reset(&f->out);
	ev.type = EV_LINK_REMOVED;
	ev.nsources = 0;
	ev.sources = NULL;
	ev.issues = NULL;
	ev.nissues = 0;
	ev.environment = NULL;
	ev.replay = 1;
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":7,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"link.removed\",\"project\":\"Default\","
	    "\"environment\":null,\"flag\":\"new_checkout\","
	    "\"issue\":\"SHOP-7\",\"sources\":[],\"replay\":true}");
}

/* A finding event: its type, issue or null, since, detail, no "before". */
static void
test_finding_event(void **state)
{
	struct fixture *f = *state;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.seq = 9;
	ev.time = EV_TIME;
	ev.type = EV_FINDING_OPENED;
	ev.project = "Default";
	ev.environment = NULL;
	ev.flag = "ghost";
	ev.finding = "flag-gone";
	ev.issue = "OPS-9";
	ev.since = EV_TIME - 86400000;
	ev.detail = "OPS-9 still links ghost, which is deleted";
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":9,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"finding.opened\",\"project\":\"Default\","
	    "\"environment\":null,\"flag\":\"ghost\","
	    "\"finding\":\"flag-gone\",\"issue\":\"OPS-9\","
	    "\"since\":\"2026-11-28T22:50:15Z\","
	    "\"detail\":\"OPS-9 still links ghost, which is deleted\","
	    "\"after\":null}");

	buf_reset(&f->out);
	ev.type = EV_FINDING_CLOSED;
	ev.issue = NULL;
	ev.detail = NULL;
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":9,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"finding.closed\",\"project\":\"Default\","
	    "\"environment\":null,\"flag\":\"ghost\","
	    "\"finding\":\"flag-gone\",\"issue\":null,"
	    "\"since\":\"2026-11-28T22:50:15Z\",\"detail\":null,"
	    "\"after\":null}");
}

static void
test_replay(void **state)
{
	struct fixture *f = *state;
	struct event ev = flag_event(f, EV_FLAG_UPDATED);
	const char *s;
	size_t len;

	ev.replay = 1;
	ev.before = NULL;
	ev.after = NULL;
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_string_equal(buf_str(&f->out),
	    "{\"seq\":42,\"time\":\"2026-11-29T22:50:15Z\","
	    "\"type\":\"flag.updated\",\"project\":\"Default\","
	    "\"environment\":\"Production\",\"flag\":\"new_checkout\","
	    "\"issues\":[\"SHOP-1\",\"SHOP-7\"],\"before\":null,"
	    "\"after\":null,\"replay\":true}");
	/* Without replay the key is absent, not false. */
	buf_reset(&f->out);
	ev.replay = 0;
	assert_int_equal(event_format(&ev, &f->out), 0);
	s = buf_str(&f->out);
	len = strlen(s);
	assert_null(strstr(s, "replay"));
	assert_string_equal(s + len - strlen("\"after\":null}"),
	    "\"after\":null}");
}

static void
test_append_and_errors(void **state)
{
	struct fixture *f = *state;
	struct event ev = flag_event(f, EV_FLAG_KILLED);
	struct buf small;

	/* event_format appends. */
	assert_int_equal(buf_puts(&f->out, "prefix "), 0);
	assert_int_equal(event_format(&ev, &f->out), 0);
	assert_memory_equal(f->out.data, "prefix {\"seq\":42,", 17);

	ev.type = EV_COUNT;
	assert_int_equal(event_format(&ev, &f->out), EINVAL);

	ev.type = EV_FLAG_KILLED;
	buf_init(&small, 64);
	assert_int_equal(event_format(&ev, &small), EFBIG);
	assert_int_equal(small.len, 0);
	buf_release(&small);
}

/* The event as the json-c tree event_format() replaced would print it:
 * the reference for the text written raw. */
static char *
ref_event(const struct event *ev)
{
	json_object *o, *a;
	char when[32];
	char *s;
	size_t i;

	o = json_object_new_object();
	view_format_time(ev->time, when);
	json_object_object_add(o, "seq", json_object_new_uint64(ev->seq));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "type",
	    json_object_new_string(event_type_name(ev->type)));
	json_object_object_add(o, "project", ev->project ?
	    json_object_new_string(ev->project) : NULL);
	json_object_object_add(o, "environment", ev->environment ?
	    json_object_new_string(ev->environment) : NULL);
	json_object_object_add(o, "flag", ev->flag ?
	    json_object_new_string(ev->flag) : NULL);
	a = json_object_new_array();
	for (i = 0; i < ev->nissues; i++)
		json_object_array_add(a, ev->issues[i] ?
		    json_object_new_string(ev->issues[i]) : NULL);
	json_object_object_add(o, "issues", a);
	json_object_object_add(o, "before", ev->before ? view_to_json(
	    ev->before, ev->before_issues, ev->nbefore_issues, 0) : NULL);
	json_object_object_add(o, "after", ev->after ? view_to_json(
	    ev->after, ev->issues, ev->nissues, 0) : NULL);
	if (ev->replay)
		json_object_object_add(o, "replay",
		    json_object_new_boolean(1));
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	assert_non_null(s);
	return s;
}

/*
 * A flag event with strings to escape (every kind, and long ones) as
 * json-c prints it, at every fill of the buffer before it (its room
 * ends at every place in the document), and under every cap: EFBIG
 * with nothing of it kept until the cap holds it all.
 */
static void
test_odd_event_fills(void **state)
{
	static const char odd[] = "q\" b\\ s/ \b\f\n\r\t \x01\x1f\x7f "
	    "\xc3\xa9 and more than a short string, past sixty-four bytes";
	const char *const odd_issues[] = { odd, NULL, "SHOP-1", "" };
	const char *const odd_tags[] = { odd, "", "t/2" };
	struct view_context ctx = {
		.project = odd,
		.environment = "Prod/EU",
		.ws_id = "ws\"1",
		.env_id = "env-1",
		.flag_url = "https://app.split.io/{workspace_id}/{flag}",
	};
	struct fixture *f = *state;
	struct flag_view odd_view;
	struct event ev = flag_event(f, EV_FLAG_UPDATED);
	json_object *def;
	struct buf b;
	char *want;
	size_t pre, wlen, max;

	def = json_tokener_parse(after_def);
	assert_non_null(def);
	view_init(&odd_view);
	assert_int_equal(view_from_split(&odd_view, &ctx, "id", odd, odd,
	    odd_tags, 3, def, NULL, 0), 0);
	json_object_put(def);
	ev.project = odd;
	ev.flag = NULL;
	ev.issues = odd_issues;
	ev.nissues = 4;
	ev.after = &odd_view;
	ev.replay = 1;
	want = ref_event(&ev);
	wlen = strlen(want);
	for (pre = 0; pre <= wlen + 70; pre++) {
		buf_init(&b, 0);
		assert_int_equal(buf_resize(&b, pre), 0);
		memset(b.data, 'x', pre);
		assert_int_equal(event_format(&ev, &b), 0);
		assert_int_equal(b.len, pre + wlen);
		assert_string_equal(b.data + pre, want);
		buf_release(&b);
	}
	for (max = 1; max <= wlen + 2; max++) {
		buf_init(&b, max);
		assert_int_equal(buf_puts(&b, "p"), 0);
		if (max < wlen + 1) {
			assert_int_equal(event_format(&ev, &b), EFBIG);
			assert_string_equal(buf_str(&b), "p");
		} else {
			assert_int_equal(event_format(&ev, &b), 0);
			assert_string_equal(buf_str(&b) + 1, want);
		}
		buf_release(&b);
	}
	free(want);
	view_release(&odd_view);
}

/* What view_format_time() printed before it had its own calendar:
 * gmtime_r() and strftime(), seconds rounded toward minus infinity. */
static void
ref_format_time(int64_t ms, char out[32])
{
	struct tm tm;
	time_t t;

	t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

static void
assert_time_same(int64_t ms)
{
	char got[32], want[32];

	view_format_time(ms, got);
	ref_format_time(ms, want);
	if (strcmp(got, want) != 0)
		fail_msg("%lld ms: \"%s\", want \"%s\"", (long long)ms, got,
		    want);
}

/* The calendar against libc's, from before year 1000 to after 9999:
 * every day's edges, leap days, negative times and the rounding of ms. */
static void
test_format_time(void **state)
{
	static const int64_t fixed[] = { 0, 1, -1, 999, -999, 1000, -1000,
	    -1001, 86399999, 86400000, -86400000, -86400001,
	    951782400000, 951868799999, 951868800000,	/* 2000-02-29 */
	    4107456000000, 4107542400000,		/* 2100-02-28, 03-01 */
	    -30610224000000, -30610224000001,		/* 1000-01-01 */
	    253402300799999, 253402300800000,		/* after 9999 */
	    -62167219200000, -62167219200001,		/* year 0 */
	    INT64_MAX, INT64_MIN, INT64_MAX / 1000 * 1000,
	    INT64_C(1795992615000) };
	int64_t day, ms;
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		assert_time_same(fixed[i]);
	srand(10);
	/* years 900 to 10100, every 7th day (every day from 1900 to
	 * 2200): its first and last ms, and one ms at random in it */
	for (day = -390000; day <= 2970000;
	    day += day >= -25567 && day < 84000 ? 1 : 7) {
		ms = day * 86400000;
		assert_time_same(ms);
		assert_time_same(ms - 1);
		assert_time_same(ms + rand() % 86400000);
	}
	view_format_time(INT64_C(1795992615000), out);
	assert_string_equal(out, "2026-11-29T22:50:15Z");
	view_format_time(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flag_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_created_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deleted_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_link_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_finding_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_and_errors, setup,
		    teardown),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test_setup_teardown(test_odd_event_fills, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
