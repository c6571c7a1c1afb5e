/* scrub_test.c - the secret scrubber: secrets, Basic form, URL userinfo. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "scrub.h"

#define TOKEN	"ATATT3xFfGF0kq9Zr7Tq2mWvXy81HbNcLp4dEs"
#define EMAIL	"bot@example.com"
/* base64("bot@example.com:" TOKEN), padding dropped */
#define BASIC	"Ym90QGV4YW1wbGUuY29tOkFUQVRUM3hGZkdGMGtxOVpyN1RxMm1Xdlh5" \
		"ODFIYk5jTHA0ZEVz"

static int
setup(void **state)
{
	(void)state;
	scrub_forget();
	if (scrub_add(TOKEN) != 0 || scrub_add_basic(EMAIL, TOKEN) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	scrub_forget();
	return 0;
}

static void
expect(const char *in, const char *want)
{
	char out[512];

	assert_string_equal(scrub_copy(out, sizeof(out), in), want);
}

static void
test_secrets(void **state)
{
	(void)state;
	expect("token " TOKEN " twice " TOKEN, "token *** twice ***");
	expect("Authorization: Basic " BASIC "==", "Authorization: Basic ***==");
	expect("nothing here", "nothing here");
	expect("", "");
	/* text cut short in the middle of a secret */
	expect("it was ATATT3xFfGF0", "it was ***");
	/* a prefix shorter than SCRUB_MIN is not taken for one */
	expect("ATA", "ATA");
	/* short secrets are not registered at all */
	assert_int_equal(scrub_add("abc"), 0);
	expect("abc", "abc");
	assert_true(scrub_is_secret(TOKEN));
	assert_false(scrub_is_secret("ATATT3"));
}

static void
test_userinfo(void **state)
{
	(void)state;
	expect("GET https://user:pass@host/x failed",
	    "GET https://***@host/x failed");
	expect("http://u@h", "http://***@h");
	expect("https://host/a@b", "https://host/a@b");
	expect("mailto bot@example.com", "mailto bot@example.com");
	expect("\"https://a:b@c\" and 'http://d:e@f'",
	    "\"https://***@c\" and 'http://***@f'");
}

static void
test_bounds(void **state)
{
	char out[8], same[64];
	struct buf b;

	(void)state;
	/* cut after scrubbing: never a piece of the secret */
	assert_string_equal(scrub_copy(out, sizeof(out), TOKEN TOKEN),
	    "******");
	snprintf(same, sizeof(same), "x %s y", TOKEN);
	assert_string_equal(scrub_copy(same, sizeof(same), same), "x *** y");
	buf_init(&b, 0);
	assert_int_equal(scrub_buf(&b, "a " TOKEN, 2 + strlen(TOKEN)), 0);
	assert_string_equal(buf_str(&b), "a ***");
	buf_release(&b);
}

static void
test_looks_secret(void **state)
{
	(void)state;
	assert_true(scrub_looks_secret(TOKEN));
	assert_true(scrub_looks_secret("0123456789abcdef0123456789abcdef"));
	assert_false(scrub_looks_secret("60"));
	assert_false(scrub_looks_secret("Production"));
	assert_false(scrub_looks_secret("https://api.split.io/internal/api/v2"));
	assert_false(scrub_looks_secret("/etc/flagsync/split-admin-key2024"));
	assert_false(scrub_looks_secret("a value with spaces 1234567890"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_looks_secret, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
