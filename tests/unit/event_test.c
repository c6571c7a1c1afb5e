/* event_test.c - the change event document, byte for byte. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
