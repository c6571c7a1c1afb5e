/*
 * jsonw_test.c - the raw writers of fixed shapes (JSONW_TEXT_KSTR and
 * the others) against the general writer and json-c: the same bytes and
 * the same errors at every fill of the buffer and under every cap.
 */
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
#include <json-c/json.h>

#include "buf.h"
#include "jsonw.h"

/* One written document: its bytes (or NULL when it failed) and rc. */
struct out {
	struct buf b;
	int	 rc;
};

/* A buffer holding pre bytes of 'x', capped at max bytes more (0: no
 * cap), as the writers find it: its room is whatever growth left. */
static void
out_start(struct out *o, size_t max, size_t pre, struct jsonw_text *w,
    int flags)
{
	size_t i;

	buf_init(&o->b, max ? pre + max : 0);
	for (i = 0; i < pre; i++)
		assert_int_equal(buf_putc(&o->b, 'x'), 0);
	jsonw_text_init(w, &o->b, flags);
	jsonw_text_open(w, '{');
	/* a member first: the raw keys under test start with a comma */
	JSONW_TEXT_KEY(w, "a");
	jsonw_text_int(w, 1);
}

static void
out_end(struct out *o, struct jsonw_text *w)
{
	jsonw_text_close(w, '}');
	o->rc = w->rc;
}

/* The same error both ways, and when none the same bytes, length and
 * allocation (what a failed document left is dropped by its callers,
 * event_format() and the tests, and may stop at another byte). */
static void
assert_out_same(struct out *fast, struct out *gen, const char *what)
{
	if (fast->rc != gen->rc || (gen->rc == 0 &&
	    (fast->b.len != gen->b.len || fast->b.cap != gen->b.cap ||
	    strcmp(buf_str(&fast->b), buf_str(&gen->b)) != 0)))
		fail_msg("%s: rc %d len %zu cap %zu \"%s\", general rc %d "
		    "len %zu cap %zu \"%s\"", what, fast->rc, fast->b.len,
		    fast->b.cap, buf_str(&fast->b), gen->rc, gen->b.len,
		    gen->b.cap, buf_str(&gen->b));
	buf_release(&fast->b);
	buf_release(&gen->b);
}

/* ,"key":s raw and by the general calls, at a fill and a cap. */
static void
check_kstr(const char *s, size_t max, size_t pre, int flags)
{
	struct jsonw_text w;
	struct out fast, gen;

	out_start(&fast, max, pre, &w, flags);
	JSONW_TEXT_KSTR(&w, ",\"key\":", s);
	out_end(&fast, &w);
	out_start(&gen, max, pre, &w, flags);
	JSONW_TEXT_KEY(&w, "key");
	jsonw_text_str(&w, s);
	out_end(&gen, &w);
	assert_out_same(&fast, &gen, s ? s : "(null)");
}

/* A string as json-c prints it, quotes included. */
static void
assert_like_jsonc(const char *s, int flags)
{
	struct jsonw_text w;
	json_object *o;
	struct buf b;

	o = json_object_new_string(s);
	assert_non_null(o);
	buf_init(&b, 0);
	jsonw_text_init(&w, &b, flags);
	JSONW_TEXT_KSTR(&w, "", s);
	assert_int_equal(w.rc, 0);
	assert_string_equal(buf_str(&b), json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | (flags & JSONW_SLASH ? 0 :
	    JSON_C_TO_STRING_NOSLASHESCAPE)));
	buf_release(&b);
	json_object_put(o);
}

/* Every byte value, alone and amid plain bytes, at the start, middle
 * and end of strings of 0 to 80 bytes, both escape modes, at every
 * fill of the buffer from 0 to 300 bytes (the growth from 64 to 512
 * puts the end of the room at every place in the string). */
static void
test_kstr_bytes(void **state)
{
	static const int modes[] = { 0, JSONW_SLASH };
	char s[100];
	size_t m, n, k, at[3], pre;
	int c;

	(void)state;
	for (m = 0; m < 2; m++) {
		for (c = 1; c < 256; c++) {
			for (n = 1; n <= 80; n += n < 20 ? 1 : 13) {
				at[0] = 0;
				at[1] = n / 2;
				at[2] = n - 1;
				for (k = 0; k < 3; k++) {
					memset(s, 'p', n);
					s[at[k]] = (char)c;
					s[n] = '\0';
					assert_like_jsonc(s, modes[m]);
					for (pre = 0; pre <= 300; pre +=
					    c % 16 == 0 || c == '/' ? 1 : 37)
						check_kstr(s, 0, pre,
						    modes[m]);
				}
			}
		}
		/* NULL and "" at every fill */
		for (pre = 0; pre <= 300; pre++) {
			check_kstr(NULL, 0, pre, modes[m]);
			check_kstr("", 0, pre, modes[m]);
		}
	}
}

/* Plain and escaped strings of 0 to 200 bytes at every fill, and under
 * every cap around the document's length: EFBIG where the general
 * writer has it, with the same bytes kept. */
static void
test_kstr_fills_and_caps(void **state)
{
	char s[210];
	size_t n, pre, max, len;
	int esc;

	(void)state;
	for (esc = 0; esc < 2; esc++) {
		for (n = 0; n <= 200; n += n < 70 ? 1 : 9) {
			memset(s, 'q', n);
			if (esc && n > 0)
				s[n / 2] = '"';
			s[n] = '\0';
			for (pre = 0; pre <= 140; pre += 3)
				check_kstr(s, 0, pre, 0);
			/* {"a":1 and the key, cap from 1 up */
			len = 6 + 8 + n + 2 + (esc && n > 0) + 1;
			for (max = 1; max <= len + 2; max++)
				check_kstr(s, max, 5, JSONW_SLASH);
		}
	}
}

/* ,"n":N raw and general: json-c's digits, at fills and caps. */
static void
check_kint(int64_t n, size_t max, size_t pre)
{
	struct jsonw_text w;
	struct out fast, gen;
	char what[64];

	snprintf(what, sizeof(what), "%lld", (long long)n);
	out_start(&fast, max, pre, &w, 0);
	JSONW_TEXT_KINT(&w, ",\"n\":", n);
	out_end(&fast, &w);
	out_start(&gen, max, pre, &w, 0);
	JSONW_TEXT_KEY(&w, "n");
	jsonw_text_int(&w, n);
	out_end(&gen, &w);
	assert_out_same(&fast, &gen, what);

	out_start(&fast, max, pre, &w, 0);
	JSONW_TEXT_KUINT(&w, ",\"n\":", (uint64_t)n);
	out_end(&fast, &w);
	out_start(&gen, max, pre, &w, 0);
	JSONW_TEXT_KEY(&w, "n");
	jsonw_text_uint(&w, (uint64_t)n);
	out_end(&gen, &w);
	assert_out_same(&fast, &gen, what);
}

static void
test_knum(void **state)
{
	static const int64_t edges[] = { INT64_MAX, INT64_MIN, INT64_MIN + 1,
	    -1, -9, -10, -99, -100, INT64_C(999999999999999999),
	    INT64_C(1000000000000000000), INT64_C(-1000000000000000000),
	    INT64_C(1700000000000) };
	char num[24];
	int64_t n, p;
	size_t i, pre, max;

	(void)state;
	for (n = -1100; n <= 1100; n++)
		check_kint(n, 0, 0);
	/* every power of ten and its neighbours, both signs */
	for (p = 1; p <= INT64_MAX / 10; p *= 10)
		for (n = -1; n <= 1; n++) {
			check_kint(p * 10 + n, 0, 0);
			check_kint(-(p * 10 + n), 0, 0);
		}
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		for (pre = 0; pre <= 140; pre++)
			check_kint(edges[i], 0, pre);
		for (max = 1; max <= 40; max++)
			check_kint(edges[i], max, 3);
	}
	/* digits alone, as printf prints them */
	assert_int_equal(jsonw_digits_at(num, UINT64_MAX), 20);
	num[20] = '\0';
	assert_string_equal(num, "18446744073709551615");
	assert_int_equal(jsonw_digits_at(num, 0), 1);
	assert_memory_equal(num, "0", 1);
}

/* Arrays of strings, NULL entries among them, raw and general. */
static void
test_vstrv(void **state)
{
	static const char *const sv[] = { "on", NULL, "o\"ff", "", "a/b",
	    "\x01", "\xc3\xa9" };
	struct jsonw_text w;
	struct out fast, gen;
	size_t n, pre, max;

	(void)state;
	for (n = 0; n <= 7; n++) {
		for (pre = 0; pre <= 140; pre++) {
			out_start(&fast, 0, pre, &w, JSONW_SLASH);
			JSONW_TEXT_RAW(&w, ",\"v\":");
			jsonw_text_vstrv(&w, sv, n);
			out_end(&fast, &w);
			out_start(&gen, 0, pre, &w, JSONW_SLASH);
			JSONW_TEXT_KEY(&w, "v");
			jsonw_text_strv(&w, sv, n);
			out_end(&gen, &w);
			assert_out_same(&fast, &gen, "strv");
		}
		for (max = 1; max <= 80; max++) {
			out_start(&fast, max, 2, &w, 0);
			JSONW_TEXT_RAW(&w, ",\"v\":");
			jsonw_text_vstrv(&w, sv, n);
			out_end(&fast, &w);
			out_start(&gen, max, 2, &w, 0);
			JSONW_TEXT_KEY(&w, "v");
			jsonw_text_strv(&w, sv, n);
			out_end(&gen, &w);
			assert_out_same(&fast, &gen, "strv capped");
		}
	}
}

/* A time: its 20 bytes in place, and any other length as a string. */
static void
test_ktime(void **state)
{
	static const char *const times[] = { "2026-11-29T22:50:15Z",
	    "999-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
	    "-1000-01-01T00:00:00Z", "" };
	struct jsonw_text w;
	struct out fast, gen;
	char when[32];
	size_t i, pre, max;

	(void)state;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		snprintf(when, sizeof(when), "%s", times[i]);
		for (pre = 0; pre <= 140; pre++) {
			out_start(&fast, 0, pre, &w, 0);
			JSONW_TEXT_KTIME(&w, ",\"t\":", when);
			out_end(&fast, &w);
			out_start(&gen, 0, pre, &w, 0);
			JSONW_TEXT_KEY(&w, "t");
			jsonw_text_str(&w, when);
			out_end(&gen, &w);
			assert_out_same(&fast, &gen, when);
		}
		for (max = 1; max <= 50; max++) {
			out_start(&fast, max, 1, &w, 0);
			JSONW_TEXT_KTIME(&w, ",\"t\":", when);
			out_end(&fast, &w);
			out_start(&gen, max, 1, &w, 0);
			JSONW_TEXT_KEY(&w, "t");
			jsonw_text_str(&w, when);
			out_end(&gen, &w);
			assert_out_same(&fast, &gen, when);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kstr_bytes),
		cmocka_unit_test(test_kstr_fills_and_caps),
		cmocka_unit_test(test_knum),
		cmocka_unit_test(test_vstrv),
		cmocka_unit_test(test_ktime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
