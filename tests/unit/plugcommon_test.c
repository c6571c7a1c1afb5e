/*
 * plugcommon_test.c - what the bundled plugins share (plugins/common/):
 * the capped answer collector, the reading of header numbers, the
 * string set, and the config words.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "plughttp.h"
#include "plugutil.h"
#include "strset.h"

/* Feeds s to the collector as curl would: the bytes it took. */
static size_t
feed(struct plughttp_answer *a, const char *s)
{
	char copy[64];
	size_t n = strlen(s);

	/* curl's buffer is not a string: no NUL after it */
	memcpy(copy, s, n);
	return plughttp_answer_cb(copy, 1, n, a);
}

static void
test_answer_keeps_pieces(void **state)
{
	struct plughttp_answer a = { .max = 16 };

	(void)state;
	assert_int_equal(feed(&a, "{\"a\":"), 5);
	assert_int_equal(feed(&a, ""), 0);
	assert_int_equal(plughttp_answer_cb("1}", 2, 1, &a), 2);
	assert_string_equal(a.body, "{\"a\":1}");
	assert_int_equal(a.len, 7);
	assert_false(a.cut);
	plughttp_answer_reset(&a);
	assert_null(a.body);
	assert_int_equal(a.len, 0);
	assert_int_equal(a.max, 16);
	free(a.body);
}

/* Up to max is kept; a byte more ends the transfer, keeping the rest. */
static void
test_answer_cap(void **state)
{
	struct plughttp_answer a = { .max = 8 };

	(void)state;
	assert_int_equal(feed(&a, "12345"), 5);
	assert_int_equal(feed(&a, "678"), 3);
	assert_false(a.cut);
	assert_string_equal(a.body, "12345678");
	assert_int_equal(feed(&a, "9"), 0);
	assert_true(a.cut);
	assert_string_equal(a.body, "12345678");
	assert_int_equal(a.len, 8);
	plughttp_answer_reset(&a);
	assert_false(a.cut);

	/* one piece larger than the whole cap, on an empty answer */
	assert_int_equal(feed(&a, "123456789"), 0);
	assert_true(a.cut);
	assert_null(a.body);
	/* size * n, not n, is what counts */
	plughttp_answer_reset(&a);
	assert_int_equal(plughttp_answer_cb("abcdefghi", 3, 3, &a), 0);
	assert_true(a.cut);
	plughttp_answer_reset(&a);
}

static void
test_answered(void **state)
{
	struct plughttp_answer a = { .max = 8 };

	(void)state;
	assert_true(plughttp_answered(CURLE_OK, &a, 200));
	assert_false(plughttp_answered(CURLE_WRITE_ERROR, &a, 200));
	a.cut = 1;
	assert_true(plughttp_answered(CURLE_WRITE_ERROR, &a, 200));
	assert_false(plughttp_answered(CURLE_WRITE_ERROR, &a, 0));
	assert_false(plughttp_answered(CURLE_OPERATION_TIMEDOUT, &a, 200));
}

/* Only a whole answer is read as JSON. */
static void
test_answer_json(void **state)
{
	struct plughttp_answer a = { .max = 8 };
	json_object *doc;

	(void)state;
	assert_null(plughttp_answer_json(&a));
	assert_int_equal(feed(&a, "{\"a\":1}"), 7);
	assert_non_null(doc = plughttp_answer_json(&a));
	assert_true(json_object_is_type(doc, json_type_object));
	json_object_put(doc);
	/* cut: what came parses, yet is not the answer */
	assert_int_equal(feed(&a, "  "), 0);
	assert_true(a.cut);
	assert_null(plughttp_answer_json(&a));
	plughttp_answer_reset(&a);
	assert_int_equal(feed(&a, "{\"a\":"), 5);
	assert_null(plughttp_answer_json(&a));
	plughttp_answer_reset(&a);
}

static void
test_header_field(void **state)
{
	static const char line[] = "Retry-After: 5\r\n";
	const char *v;
	size_t vlen;

	(void)state;
	v = plughttp_header_field(line, strlen(line), "retry-after:", &vlen);
	assert_non_null(v);
	assert_int_equal(vlen, 4);
	assert_memory_equal(v, " 5\r\n", 4);
	v = plughttp_header_field("RETRY-AFTER:7", 13, "retry-after:", &vlen);
	assert_non_null(v);
	assert_int_equal(vlen, 1);
	/* the name alone, another field, a longer name */
	assert_null(plughttp_header_field("retry-after:", 12,
	    "retry-after:", &vlen));
	assert_null(plughttp_header_field("Date: x\r\n", 9, "retry-after:",
	    &vlen));
	assert_null(plughttp_header_field("retry-after-ms: 5\r\n", 19,
	    "retry-after:", &vlen));
	/* len bounds the line: no read past it */
	assert_null(plughttp_header_field("retry-after: 5", 6,
	    "retry-after:", &vlen));

	assert_true(plughttp_header_status("HTTP/1.1 429 x\r\n", 16));
	assert_true(plughttp_header_status("HTTP/2 200\r\n", 12));
	assert_false(plughttp_header_status("HTTP/", 5));
	assert_false(plughttp_header_status("X-HTTP/1.1: y\r\n", 15));
}

static void
test_header_text(void **state)
{
	char text[8];

	(void)state;
	assert_int_equal(plughttp_header_text(" \t 42 \r\n", 8, text,
	    sizeof(text)), 0);
	assert_string_equal(text, "42");
	/* only blanks, nothing */
	assert_int_equal(plughttp_header_text(" \r\n", 3, text,
	    sizeof(text)), -1);
	assert_int_equal(plughttp_header_text("", 0, text, sizeof(text)), -1);
	/* 7 characters fit 8 bytes, 8 do not */
	assert_int_equal(plughttp_header_text(" 1234567\r\n", 10, text,
	    sizeof(text)), 0);
	assert_string_equal(text, "1234567");
	assert_int_equal(plughttp_header_text("12345678\r\n", 10, text,
	    sizeof(text)), -1);
	/* a tab inside or at the end stays: not a number then */
	assert_int_equal(plughttp_header_text("5\t\r\n", 4, text,
	    sizeof(text)), 0);
	assert_string_equal(text, "5\t");
}

static void
test_number(void **state)
{
	long n = 99;

	(void)state;
	assert_int_equal(plughttp_number("120", &n), 0);
	assert_int_equal(n, 120);
	assert_int_equal(plughttp_number("-3", &n), 0);
	assert_int_equal(n, -3);
	n = 99;
	assert_int_equal(plughttp_number("", &n), -1);
	assert_int_equal(plughttp_number("5s", &n), -1);
	assert_int_equal(plughttp_number("5\t", &n), -1);
	assert_int_equal(plughttp_number("Wed, 21 Oct 2015 07:28:00 GMT",
	    &n), -1);
	assert_int_equal(plughttp_number("99999999999999999999999", &n), -1);
	assert_int_equal(n, 99);
}

static void
test_base(void **state)
{
	char *b;

	(void)state;
	assert_non_null(b = plughttp_base("https://x.example/api//"));
	assert_string_equal(b, "https://x.example/api");
	free(b);
	assert_non_null(b = plughttp_base("http://x"));
	assert_string_equal(b, "http://x");
	free(b);
}

static void
test_strset_once_in_order(void **state)
{
	struct strset s = { 0 };
	char name[16];
	size_t i;

	(void)state;
	assert_int_equal(strset_add(&s, "B-2"), 0);
	assert_int_equal(strset_add(&s, "A-1"), 0);
	assert_int_equal(strset_add(&s, "B-2"), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "B-2");
	assert_string_equal(s.v[1], "A-1");
	assert_true(strset_has(&s, "A-1"));
	assert_false(strset_has(&s, "A-"));
	assert_int_equal(strset_find(&s, "A-1"), 1);
	assert_int_equal(strset_find(&s, "C-3"), SIZE_MAX);
	/* grows past any first capacity, copies kept */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "X-%zu", i);
		assert_int_equal(strset_add(&s, name), 0);
	}
	assert_int_equal(s.n, 102);
	assert_string_equal(s.v[101], "X-99");
	strset_free(&s);
	assert_null(s.v);
	assert_int_equal(s.n, 0);
	strset_free(&s);
}

static void
test_strset_del(void **state)
{
	struct strset s = { 0 };

	(void)state;
	assert_int_equal(strset_add(&s, "a"), 0);
	assert_int_equal(strset_add(&s, "b"), 0);
	assert_int_equal(strset_add(&s, "c"), 0);
	strset_del(&s, "b");
	strset_del(&s, "nope");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "a");
	assert_string_equal(s.v[1], "c");
	strset_del(&s, "c");
	strset_del(&s, "a");
	assert_int_equal(s.n, 0);
	assert_int_equal(strset_add(&s, "d"), 0);
	assert_string_equal(s.v[0], "d");
	strset_free(&s);
}

/* Lines as stored: empty ones skipped, repeats kept, no '\n' needed at
 * the end, nothing read past len. */
static void
test_strset_parse(void **state)
{
	static const char text[] = "P:f1\n\nP:f2\nP:f1\nP:f3XYZ";
	struct strset s = { 0 };

	(void)state;
	assert_int_equal(strset_parse(&s, text, sizeof(text) - 1 - 3), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.v[0], "P:f1");
	assert_string_equal(s.v[1], "P:f2");
	assert_string_equal(s.v[2], "P:f1");
	assert_string_equal(s.v[3], "P:f3");
	strset_free(&s);
	assert_int_equal(strset_parse(&s, "\n\n", 2), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(strset_addn(&s, "abc", 2), 0);
	assert_string_equal(s.v[0], "ab");
	strset_free(&s);
}

static void
test_plug_words(void **state)
{
	char err[8], *p;
	int b = -1;

	(void)state;
	assert_int_equal(plug_bool("Yes", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(plug_bool("OFF", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(plug_bool("0", &b), 0);
	assert_int_equal(b, 0);
	b = 7;
	assert_int_equal(plug_bool("maybe", &b), -1);
	assert_int_equal(plug_bool("", &b), -1);
	assert_int_equal(b, 7);

	assert_int_equal(plug_seconds(NULL, 30), 30);
	assert_int_equal(plug_seconds("1", 30), 1);
	assert_int_equal(plug_seconds("3600", 30), 3600);
	assert_int_equal(plug_seconds("3601", 30), 30);
	assert_int_equal(plug_seconds("0", 30), 30);
	assert_int_equal(plug_seconds("5s", 30), 30);
	assert_int_equal(plug_seconds("", 30), 30);

	/* cut to the buffer, and no write at all without one */
	plug_err(err, sizeof(err), "%s %d", "timeout", 12345);
	assert_string_equal(err, "timeout");
	plug_err(NULL, 0, "%s", "x");
	assert_int_equal(plug_oom(err, sizeof(err)), FLAGSYNC_RETRY);
	assert_string_equal(err, "out of ");
	assert_non_null(p = plug_ctx_new(16, err, sizeof(err)));
	assert_memory_equal(p, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_keeps_pieces),
		cmocka_unit_test(test_answer_cap),
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_answer_json),
		cmocka_unit_test(test_header_field),
		cmocka_unit_test(test_header_text),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_strset_once_in_order),
		cmocka_unit_test(test_strset_del),
		cmocka_unit_test(test_strset_parse),
		cmocka_unit_test(test_plug_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
