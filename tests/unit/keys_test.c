/* keys_test.c - issue keys as tags and as whole tokens in text. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "keys.h"

struct found {
	struct buf	 list;		/* keys joined by ' ' */
	int		 calls;
	int		 stop_after;	/* 0: never stop */
};

static int
collect(void *arg, const char *key)
{
	struct found *f = arg;

	if (f->list.len > 0)
		assert_int_equal(buf_putc(&f->list, ' '), 0);
	assert_int_equal(buf_puts(&f->list, key), 0);
	f->calls++;
	if (f->stop_after > 0 && f->calls == f->stop_after)
		return 7;
	return 0;
}

/* Scans text with pattern (NULL: the default) and checks the keys found. */
static void
check_scan(const char *pattern, const char *text, const char *want)
{
	struct keys k;
	struct found f;
	char err[128];

	assert_int_equal(keys_init(&k, pattern, err, sizeof(err)), 0);
	memset(&f, 0, sizeof(f));
	buf_init(&f.list, 0);
	assert_int_equal(keys_scan(&k, text, collect, &f), 0);
	assert_string_equal(buf_str(&f.list), want);
	buf_release(&f.list);
	keys_release(&k);
}

static void
test_scan_default(void **state)
{
	(void)state;
	check_scan(NULL, "Fixes SHOP-1, PAY-22.", "SHOP-1 PAY-22");
	check_scan(NULL, "(SHOP-7)", "SHOP-7");
	check_scan(NULL, "SHOP-1/SHOP-2", "SHOP-1 SHOP-2");
	check_scan(NULL, "SHOP-1", "SHOP-1");
	check_scan(NULL, "SHOP-1 SHOP-1", "SHOP-1 SHOP-1");
	check_scan(NULL, "see SHOP-12345678901 now", "SHOP-12345678901");
	check_scan(NULL, "AB-1\nCD-2\tEF-3", "AB-1 CD-2 EF-3");
	check_scan(NULL, "ABCDEFGHIJ-1", "ABCDEFGHIJ-1");
	check_scan(KEYS_DEFAULT_PATTERN, "[PAY-3]", "PAY-3");
}

static void
test_scan_not_tokens(void **state)
{
	(void)state;
	check_scan(NULL, "SHOP-1_x", "");
	/* The letter before SHOP-1 makes it part of another key. */
	check_scan(NULL, "ASHOP-1", "ASHOP-1");
	check_scan(NULL, "aSHOP-1", "");
	check_scan(NULL, "_SHOP-1", "");
	check_scan(NULL, "9SHOP-1", "");
	check_scan(NULL, "SHOP-12Y", "");
	check_scan(NULL, "XSHOP-12Y", "");
	check_scan(NULL, "shop-2", "");
	check_scan(NULL, "Shop-2", "");
	check_scan(NULL, "SHOP-", "");
	check_scan(NULL, "S-1", "");
	check_scan(NULL, "ABCDEFGHIJK-1", "");
	check_scan(NULL, "", "");
	check_scan(NULL, "no keys here", "");
}

static void
test_scan_after_rejected(void **state)
{
	(void)state;
	/* A rejected candidate does not hide a key right after it. */
	check_scan(NULL, "XSHOP-12 SHOP-3", "XSHOP-12 SHOP-3");
	check_scan(NULL, "xSHOP-12 SHOP-3", "SHOP-3");
	check_scan(NULL, "SHOP-12Y SHOP-3", "SHOP-3");
	check_scan(NULL, "SHOP-1_ PAY-2", "PAY-2");
	check_scan(NULL, "a-SHOP-1", "SHOP-1");
	check_scan(NULL, "fooBAR-1 BAZ-2x QUX-3", "QUX-3");
}

static void
test_scan_utf8(void **state)
{
	(void)state;
	check_scan(NULL, "Voir «SHOP-1» — PAY-2…", "SHOP-1 PAY-2");
	check_scan(NULL, "émoji 🚀SHOP-9🚀", "SHOP-9");
	/* Only ASCII letters and digits join a key to its neighbours. */
	check_scan(NULL, "éSHOP-1é", "SHOP-1");
	check_scan(NULL, "ÅSHOP-1x ÅPAY-2", "PAY-2");
}

static void
test_scan_custom_pattern(void **state)
{
	(void)state;
	check_scan("OPS-[0-9]+", "OPS-1, SHOP-2 and OPS-33.", "OPS-1 OPS-33");
	check_scan("OPS-[0-9]+", "XOPS-1 OPS-2x", "");
	/* A '^' anchors to the start of the text only (REG_NOTBOL). */
	check_scan("^OPS-[0-9]+", "OPS-1 OPS-2", "OPS-1");
	check_scan("^OPS-[0-9]+", "x OPS-2", "");
	/* Leftmost-longest picks the longer alternative. */
	check_scan("A-1|A-12", "A-12 A-1", "A-12 A-1");
	/* The search resumes inside a rejected candidate, not after it. */
	check_scan("[A-Z]+-[0-9]+( [A-Z]+-[0-9]+)?", "xAB-1 CD-2", "CD-2");
	check_scan("[A-Z]+-[0-9]+( [A-Z]+-[0-9]+)?", "AB-1 CD-2", "AB-1 CD-2");
}

static void
test_scan_max_len(void **state)
{
	char text[256], key64[KEYS_MAX_LEN + 1], key65[KEYS_MAX_LEN + 2];
	char want[256];

	(void)state;
	memset(key64, 'A', sizeof(key64));
	memcpy(key64 + KEYS_MAX_LEN - 2, "-1", 3);
	memset(key65, 'B', sizeof(key65));
	memcpy(key65 + KEYS_MAX_LEN - 1, "-1", 3);
	assert_int_equal(strlen(key64), KEYS_MAX_LEN);
	assert_int_equal(strlen(key65), KEYS_MAX_LEN + 1);
	snprintf(text, sizeof(text), "%s %s CD-2", key65, key64);
	snprintf(want, sizeof(want), "%s CD-2", key64);
	check_scan("[A-Z]+-[0-9]+", text, want);
}

static int
ignore_key(void *arg, const char *key)
{
	(void)arg;
	(void)key;
	return 0;
}

static int
count_long(void *arg, const char *text, size_t len)
{
	size_t *seen = arg;

	assert_int_equal(text[0], 'B');
	*seen += len;
	return 0;
}

/* Keys too long to be keys are reported, not silently dropped. */
static void
test_long_keys_reported(void **state)
{
	char key65[KEYS_MAX_LEN + 2], text[256];
	struct keys k;
	size_t seen = 0;

	(void)state;
	memset(key65, 'B', sizeof(key65));
	memcpy(key65 + KEYS_MAX_LEN - 1, "-1", 3);
	assert_int_equal(keys_init(&k, "[A-Z]+-[0-9]+", NULL, 0), 0);
	assert_true(keys_is_long_key(&k, key65));
	assert_false(keys_is_key(&k, key65));
	assert_false(keys_is_long_key(&k, "AB-1"));
	assert_false(keys_is_long_key(&k, "ab-1 and more text than a key "
	    "may hold, much more than sixty-four bytes of it"));
	snprintf(text, sizeof(text), "AB-1 %s CD-2 %s", key65, key65);
	assert_int_equal(keys_scan_ex(&k, text, ignore_key, count_long,
	    &seen), 0);
	assert_int_equal(seen, 2 * (KEYS_MAX_LEN + 1));
	assert_int_equal(KEYS_MAX_LEN, FS_ISSUE_MAX);
	keys_release(&k);
}

static void
test_scan_stop(void **state)
{
	struct keys k;
	struct found f;

	(void)state;
	assert_int_equal(keys_init(&k, NULL, NULL, 0), 0);
	memset(&f, 0, sizeof(f));
	buf_init(&f.list, 0);
	f.stop_after = 2;
	assert_int_equal(keys_scan(&k, "A1-1 B2-2 C3-3", collect, &f), 7);
	assert_int_equal(f.calls, 2);
	assert_string_equal(buf_str(&f.list), "A1-1 B2-2");
	buf_release(&f.list);
	keys_release(&k);
}

static void
test_is_key(void **state)
{
	struct keys k;
	char err[128];
	char long_key[KEYS_MAX_LEN + 8];

	(void)state;
	assert_int_equal(keys_init(&k, NULL, err, sizeof(err)), 0);
	assert_true(keys_is_key(&k, "SHOP-1"));
	assert_true(keys_is_key(&k, "XSHOP-12"));
	assert_true(keys_is_key(&k, "AB-12345678901"));
	assert_false(keys_is_key(&k, "shop-1"));
	assert_false(keys_is_key(&k, "SHOP-1 "));
	assert_false(keys_is_key(&k, " SHOP-1"));
	assert_false(keys_is_key(&k, "SHOP-1x"));
	assert_false(keys_is_key(&k, "SHOP-"));
	assert_false(keys_is_key(&k, "S-1"));
	assert_false(keys_is_key(&k, "SHOP-1,SHOP-2"));
	assert_false(keys_is_key(&k, ""));
	keys_release(&k);
	assert_false(k.compiled);
	/* Releasing twice is harmless. */
	keys_release(&k);

	assert_int_equal(keys_init(&k, "[A-Z]+-[0-9]+", err, sizeof(err)), 0);
	memset(long_key, 'A', sizeof(long_key));
	memcpy(long_key + KEYS_MAX_LEN - 2, "-1", 3);
	assert_true(keys_is_key(&k, long_key));
	memcpy(long_key + KEYS_MAX_LEN - 1, "-1", 3);
	assert_false(keys_is_key(&k, long_key));
	keys_release(&k);

	assert_int_equal(keys_init(&k, "A-1|A-12", err, sizeof(err)), 0);
	assert_true(keys_is_key(&k, "A-12"));
	assert_true(keys_is_key(&k, "A-1"));
	assert_false(keys_is_key(&k, "A-123"));
	keys_release(&k);
}

static void
test_init_bad_pattern(void **state)
{
	struct keys k;
	char err[128], want[128];
	regex_t re;
	int rc;

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(keys_init(&k, "[A-Z", err, sizeof(err)),
	    FS_ECONFIG);
	assert_false(k.compiled);
	rc = regcomp(&re, "[A-Z", REG_EXTENDED);
	assert_int_not_equal(rc, 0);
	regerror(rc, &re, want, sizeof(want));
	regfree(&re);
	assert_string_equal(err, want);
	assert_true(strlen(err) > 0);
	/* A failed init leaves nothing to release, and releasing is safe. */
	keys_release(&k);
	assert_false(keys_is_key(&k, "SHOP-1"));

	assert_int_equal(keys_init(&k, "(", err, 4), FS_ECONFIG);
	assert_true(strlen(err) <= 3);
	assert_int_equal(keys_init(&k, "(", NULL, 0), FS_ECONFIG);
}

/* The default pattern spelt so that keys_init() does not see it: the
 * same keys, found by regexec(). */
#define KEYS_REGEX_DEFAULT	"(" KEYS_DEFAULT_PATTERN ")"

/* What one scan found: keys and long matches, in order, and its result. */
struct scanned {
	struct buf	 list;
	int		 calls;
	int		 stop_after;
	int		 rc;
};

static int
scanned_key(void *arg, const char *key)
{
	struct scanned *s = arg;

	assert_int_equal(buf_printf(&s->list, "[%s]", key), 0);
	if (++s->calls == s->stop_after)
		return 9;
	return 0;
}

static int
scanned_long(void *arg, const char *text, size_t len)
{
	struct scanned *s = arg;

	assert_int_equal(buf_printf(&s->list, "{%.*s}", (int)len, text), 0);
	if (++s->calls == s->stop_after)
		return 8;
	return 0;
}

static void
scan_both(const struct keys *hand, const struct keys *re, const char *text,
    int stop_after)
{
	struct scanned a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	buf_init(&a.list, 0);
	buf_init(&b.list, 0);
	a.stop_after = b.stop_after = stop_after;
	a.rc = keys_scan_ex(hand, text, scanned_key, scanned_long, &a);
	b.rc = keys_scan_ex(re, text, scanned_key, scanned_long, &b);
	if (strcmp(buf_str(&a.list), buf_str(&b.list)) != 0 || a.rc != b.rc)
		fail_msg("'%s': by hand %s (%d), regex %s (%d)", text,
		    buf_str(&a.list), a.rc, buf_str(&b.list), b.rc);
	assert_int_equal(keys_is_key(hand, text), keys_is_key(re, text));
	assert_int_equal(keys_is_long_key(hand, text),
	    keys_is_long_key(re, text));
	buf_release(&a.list);
	buf_release(&b.list);
}

/* Pieces descriptions are made of: near-keys, word characters, UTF-8
 * (a capital after an "é" follows no word character), long runs. */
static const char *const key_pieces[] = {
	"A", "Z", "AB", "SHOP", "XSHOP", "ABCDEFGHIJ", "ABCDEFGHIJK", "a",
	"shop", "_", "0", "12", "9", "-", "--", " ", ",", ".", "(", ")",
	"\xc3\xa9", "\xe2\x80\x94", "\n", "Y", "x",
	"1234567890123456789012345678901234567890123456789012345678901",
};

static uint32_t
keys_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* The hand matcher finds what the regex finds, key for key. */
static void
test_builtin_as_regex(void **state)
{
	struct keys hand, re;
	char text[512];
	size_t len, n;
	uint32_t seed = 1;
	int i, j;
	const char *fixed[] = {
		"SHOP-1", "XSHOP-12Y", "shop-2", "SHOP-1x", "S-1", "SHOP-",
		"-SHOP-1-", "SHOP-1-2", "AB-12-CD-3", "\xc3\xa9SHOP-4\xc3\xa9",
		"ABCDEFGHIJ-1", "ABCDEFGHIJK-1", "XABCDEFGHIJ-1", "AB1-1",
		"1AB-1", "_AB-1", "A_B-1", "", "-", "AB-1 CD-2,EF-3.GH-4",
		"SHOP-1234567890123456789012345678901234567890123456789012345678"
		"90123", "X SHOP-12345678901234567890123456789012345678901234567"
		"8901234567890 Y",
	};

	(void)state;
	assert_int_equal(keys_init(&hand, NULL, NULL, 0), 0);
	assert_int_equal(keys_init(&re, KEYS_REGEX_DEFAULT, NULL, 0), 0);
	assert_true(hand.builtin);
	assert_false(re.builtin);
	for (i = 0; i < (int)(sizeof(fixed) / sizeof(fixed[0])); i++)
		for (j = 0; j < 3; j++)
			scan_both(&hand, &re, fixed[i], j);
	for (i = 0; i < 20000; i++) {
		len = 0;
		n = 1 + keys_rand(&seed) % 24;
		while (n-- > 0) {
			const char *p = key_pieces[keys_rand(&seed) %
			    (sizeof(key_pieces) / sizeof(key_pieces[0]))];

			if (len + strlen(p) >= sizeof(text))
				break;
			memcpy(text + len, p, strlen(p));
			len += strlen(p);
		}
		text[len] = '\0';
		scan_both(&hand, &re, text, (int)(keys_rand(&seed) % 4));
	}
	keys_release(&hand);
	keys_release(&re);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_default),
		cmocka_unit_test(test_scan_not_tokens),
		cmocka_unit_test(test_scan_after_rejected),
		cmocka_unit_test(test_scan_utf8),
		cmocka_unit_test(test_scan_custom_pattern),
		cmocka_unit_test(test_scan_max_len),
		cmocka_unit_test(test_long_keys_reported),
		cmocka_unit_test(test_scan_stop),
		cmocka_unit_test(test_is_key),
		cmocka_unit_test(test_init_bad_pattern),
		cmocka_unit_test(test_builtin_as_regex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
