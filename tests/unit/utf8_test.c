/* utf8_test.c - repairing and escaping UTF-8 from outside. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "utf8.h"

static char *
vis(const char *s, size_t len, size_t max)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(utf8_vis(s, len, max, &b), 0);
	return buf_detach(&b);
}

static void
expect_vis(const char *s, size_t len, size_t max, const char *want)
{
	char *got = vis(s, len, max);

	assert_string_equal(got, want);
	free(got);
}

static void
test_decode_is_strict(void **state)
{
	static const struct {
		const char *s;
		size_t	 len;
	} bad[] = {
		{ "\x80", 1 },			/* continuation alone */
		{ "\xc0\xaf", 2 },		/* overlong '/' */
		{ "\xe0\x80\xaf", 3 },		/* overlong */
		{ "\xed\xa0\x80", 3 },		/* surrogate */
		{ "\xf4\x90\x80\x80", 4 },	/* past U+10FFFF */
		{ "\xe2\x82", 2 },		/* cut short */
		{ "\xff", 1 },
	};
	uint32_t cp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(utf8_decode((const unsigned char *)bad[i].s,
		    bad[i].len, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\xe2\x82\xac",
	    3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80",
	    4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_true(utf8_valid("caf\xc3\xa9", 5));
	assert_false(utf8_valid("caf\xff", 4));
}

static void
test_repair(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(utf8_repair("a\xffz\xc3\xa9\xed\xa0\x80", 8, &b), 0);
	assert_string_equal(buf_str(&b), "a\xef\xbf\xbdz\xc3\xa9"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_true(utf8_valid(b.data, b.len));
	buf_reset(&b);
	assert_int_equal(utf8_repair("", 0, &b), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void
test_vis(void **state)
{
	(void)state;
	/* ESC [ 2 J, BEL, CR, TAB, NL, DEL */
	expect_vis("a\x1b[2J\x07\r\t\n\x7f" "b", 11, 0,
	    "a\\x1b[2J\\x07\\x0d\\x09\\x0a\\x7f" "b");
	expect_vis("back\\slash", 10, 0, "back\\\\slash");
	/* C1 CSI in UTF-8, an invalid byte, bidi override */
	expect_vis("\xc2\x9b" "31m\xff\xe2\x80\xae", 9, 0,
	    "\\xc2\\x9b" "31m\\xff\\u202e");
	/* printable UTF-8 stays */
	expect_vis("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 0,
	    "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* a NUL inside the bytes */
	expect_vis("a\0b", 3, 0, "a\\x00b");
	/* cut before max, never inside an escape or a character */
	expect_vis("abcdef", 6, 4, "abcd...");
	expect_vis("ab\x1b" "cd", 5, 4, "ab...");
	expect_vis("ab\xc3\xa9\xc3\xa9", 6, 5, "ab\xc3\xa9...");
	expect_vis("abcd", 4, 4, "abcd");
	expect_vis("", 0, 0, "");
}

static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(utf8_width(""), 0);
	assert_int_equal(utf8_width("abc"), 3);
	assert_int_equal(utf8_width("Caf\xc3\xa9"), 4);
	assert_int_equal(utf8_width("\\x1b"), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_is_strict),
		cmocka_unit_test(test_repair),
		cmocka_unit_test(test_vis),
		cmocka_unit_test(test_width),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
