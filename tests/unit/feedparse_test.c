/* feedparse_test.c - the streaming splitChanges reader. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "feedparse.h"

/* What the callback saw, one line per change: "name A|invalid". */
struct seen {
	struct buf out;
	int	 stop_after;	/* return an error after so many, or 0 */
	int	 n;
};

static int
seen_cb(void *arg, const struct feed_change *c)
{
	struct seen *s = arg;

	assert_int_equal(buf_printf(&s->out, "%s %c%s%s\n", c->name,
	    c->archived ? 'A' : '-', c->invalid ? "|" : "",
	    c->invalid ? c->invalid : ""), 0);
	if (s->stop_after && ++s->n == s->stop_after)
		return ENOSPC;
	return 0;
}

/* Parses text in pieces of step bytes; returns the rc. */
static int
parse_steps(const char *text, size_t len, size_t step, struct seen *s,
    int64_t *since, int64_t *till, char *err, size_t errlen)
{
	struct feedparse fp;
	size_t off;
	int rc = 0;

	feedparse_init(&fp, seen_cb, s);
	for (off = 0; off < len && rc == 0; off += step)
		rc = feedparse_push(&fp, text + off,
		    len - off < step ? len - off : step);
	if (rc == 0)
		rc = feedparse_finish(&fp, since, till);
	snprintf(err, errlen, "%s", fp.err);
	return rc;
}

static const char sample[] =
    "{\"splits\": [\n"
    " {\"trafficTypeName\": \"user\", \"name\": \"new_checkout\", "
    "\"status\": \"ACTIVE\", \"killed\": false, \"changeNumber\": 1700000000001,"
    " \"conditions\": [{\"matcherGroup\": {\"matchers\": [{\"name\": \"x\","
    " \"status\": \"ARCHIVED\"}]}, \"partitions\": [{\"treatment\": \"on\","
    " \"size\": 25}, {\"treatment\": \"off\", \"size\": 75}]}],"
    " \"configurations\": {\"on\": \"{\\\"k\\\":\\\"v\\\"}\"}, \"sets\": []},\n"
    " {\"name\": \"old_banner\", \"status\": \"ARCHIVED\", \"seed\": -1.5e3},\n"
    " {\"status\": \"ACTIVE\", \"name\": \"caf\\u00e9_\\ud83d\\ude00\"}\n"
    "], \"since\": -1, \"till\": 1700000000002}";

static const char sample_seen[] =
    "new_checkout -\nold_banner A\ncaf\xc3\xa9_\xf0\x9f\x98\x80 -\n";

/* Every way of cutting the answer gives the same result. */
static void
test_every_split_point(void **state)
{
	struct seen s;
	int64_t since = 0, till = 0;
	char err[256];
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(sample); step++) {
		memset(&s, 0, sizeof(s));
		buf_init(&s.out, 0);
		assert_int_equal(parse_steps(sample, sizeof(sample) - 1, step,
		    &s, &since, &till, err, sizeof(err)), 0);
		assert_string_equal(buf_str(&s.out), sample_seen);
		assert_int_equal(since, -1);
		assert_int_equal(till, 1700000000002LL);
		buf_release(&s.out);
	}
}

static void
expect_bad(const char *text, const char *why)
{
	struct seen s;
	int64_t since, till;
	char err[256];

	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	assert_int_equal(parse_steps(text, strlen(text), 3, &s, &since, &till,
	    err, sizeof(err)), FS_EPROTO);
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", text, err, why);
	buf_release(&s.out);
}

static void
test_not_the_shape(void **state)
{
	(void)state;
	expect_bad("", "empty answer");
	expect_bad("[]", "not a JSON object");
	expect_bad("{\"splits\": [], \"since\": 1", "truncated");
	expect_bad("{\"splits\": [], \"since\": 1, \"till\": 2} x",
	    "data after");
	expect_bad("{\"splits\": {}, \"since\": 1, \"till\": 2}",
	    "'splits' is not an array");
	expect_bad("{\"splits\": [1], \"since\": 1, \"till\": 2}",
	    "not an object");
	expect_bad("{\"splits\": [], \"since\": 1}", "no 'since' and 'till'");
	expect_bad("{\"since\": 1, \"till\": 2}", "no 'splits'");
	expect_bad("{\"splits\": [], \"since\": \"1\", \"till\": 2}",
	    "is a string");
	expect_bad("{\"splits\": [], \"since\": 1.5, \"till\": 2}",
	    "not a change number");
	expect_bad("{\"splits\": [], \"since\": -2, \"till\": 2}",
	    "not a change number");
	expect_bad("{\"splits\": [], \"since\": 99999999999999999999, "
	    "\"till\": 2}", "not a change number");
	expect_bad("{\"splits\": [], \"since\": 01, \"till\": 2}",
	    "not a JSON number");
	expect_bad("{\"splits\": [], \"since\": 1, \"till\": tru}",
	    "not a JSON value");
	expect_bad("{\"splits\": [], \"since\": 1 \"till\": 2}", "expected ','");
	expect_bad("{\"splits\" [], \"since\": 1, \"till\": 2}", "expected ':'");
	expect_bad("{\"a\": \"\\x\"}", "bad escape");
	expect_bad("{\"a\": \"\\u12g4\"}", "bad \\u escape");
	expect_bad("{\"a\": \"x\ny\"}", "control character");
	expect_bad("{\"a\": [}", "unexpected '}'");
	expect_bad("{,}", "expected a member name");
}

static void
test_depth_capped(void **state)
{
	char text[FEEDPARSE_DEPTH * 8 + 64];
	size_t n = 0;
	int i;

	(void)state;
	n += (size_t)sprintf(text + n, "{\"x\":");
	for (i = 0; i < FEEDPARSE_DEPTH; i++)
		text[n++] = '[';
	text[n] = '\0';
	expect_bad(text, "nested deeper than 64");
}

/* One bad flag is reported as such; the answer still parses. */
static void
test_bad_items_named(void **state)
{
	static const char text[] = "{\"splits\": ["
	    "{\"name\": 5, \"status\": \"ACTIVE\"},"
	    "{\"name\": \"no_status\"},"
	    "{\"name\": \"nul\\u0000x\", \"status\": \"ACTIVE\"},"
	    "{\"name\": \"bad\xff\", \"status\": \"ACTIVE\"},"
	    "{\"name\": \"\", \"status\": \"ACTIVE\"},"
	    "{\"name\": \"ok\", \"status\": \"ACTIVE\"}"
	    "], \"since\": 5, \"till\": 5}";
	char longtext[1024], err[256];
	struct seen s;
	int64_t since, till;

	(void)state;
	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	assert_int_equal(parse_steps(text, strlen(text), 7, &s, &since, &till,
	    err, sizeof(err)), 0);
	assert_string_equal(buf_str(&s.out),
	    " -|it has no string 'name'\n"
	    "no_status -|it has no string 'status'\n"
	    "nul -|its name holds a NUL character\n"
	    "bad\xff -|its name is not valid UTF-8\n"
	    " -|its name is empty\n"
	    "ok -\n");
	buf_release(&s.out);

	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	snprintf(longtext, sizeof(longtext), "{\"splits\": [{\"name\": "
	    "\"%0300d\", \"status\": \"ACTIVE\"}], \"since\": 1, \"till\": 2}",
	    7);
	assert_int_equal(parse_steps(longtext, strlen(longtext), 11, &s,
	    &since, &till, err, sizeof(err)), 0);
	assert_non_null(strstr(buf_str(&s.out), "|its name is longer than 255"));
	buf_release(&s.out);
}

/* A callback's error stops the parse and comes back. */
static void
test_callback_error(void **state)
{
	struct seen s;
	int64_t since, till;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	buf_init(&s.out, 0);
	s.stop_after = 2;
	assert_int_equal(parse_steps(sample, sizeof(sample) - 1, 64, &s,
	    &since, &till, err, sizeof(err)), ENOSPC);
	assert_string_equal(buf_str(&s.out), "new_checkout -\nold_banner A\n");
	buf_release(&s.out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_not_the_shape),
		cmocka_unit_test(test_depth_capped),
		cmocka_unit_test(test_bad_items_named),
		cmocka_unit_test(test_callback_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
