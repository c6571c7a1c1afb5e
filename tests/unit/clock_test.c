/* clock_test.c - the time parser and the tests' injected now. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"

static void
test_parse_forms(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(clock_parse_ms("1767225600000", &ms), 0);
	assert_int_equal(ms, 1767225600000LL);
	assert_int_equal(clock_parse_ms("2026-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 1767225600000LL);
	assert_int_equal(clock_parse_ms("2026-01-01T00:00:00.250Z", &ms), 0);
	assert_int_equal(ms, 1767225600250LL);
	/* Jira's form: ms and a zone without a colon */
	assert_int_equal(clock_parse_ms("2026-01-01T01:00:00.5+0100", &ms), 0);
	assert_int_equal(ms, 1767225600500LL);
	assert_int_equal(clock_parse_ms("2025-12-31T21:00:00.000-03:00", &ms),
	    0);
	assert_int_equal(ms, 1767225600000LL);
}

static void
test_parse_refuses(void **state)
{
	const char *bad[] = { "", "soon", "2026-01-01", "2026-02-30T00:00:00Z",
	    "2026-01-01T00:00:00", "2026-01-01T00:00:00+1", "2026-01-01T25:00:00Z",
	    "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zx", "12a" };
	size_t i;
	int64_t ms;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(clock_parse_ms(bad[i], &ms), EINVAL);
}

static void
test_injected_now(void **state)
{
	int64_t real;

	(void)state;
	unsetenv("FLAGSYNC_TEST_NOW");
	real = clock_now_ms();
	assert_true(real > 1600000000000LL);
#ifdef FLAGSYNC_TEST_HOOKS
	setenv("FLAGSYNC_TEST_NOW", "2030-06-01T12:00:00Z", 1);
	assert_int_equal(clock_now_ms(), 1906545600000LL);
	setenv("FLAGSYNC_TEST_NOW", "1906545600001", 1);
	assert_int_equal(clock_now_ms(), 1906545600001LL);
	/* unreadable: the real clock */
	setenv("FLAGSYNC_TEST_NOW", "tomorrow", 1);
	assert_true(clock_now_ms() >= real);
	assert_true(clock_now_ms() < 1906545600000LL);
#else
	/* without test hooks the variable is never read */
	setenv("FLAGSYNC_TEST_NOW", "2030-06-01T12:00:00Z", 1);
	assert_true(clock_now_ms() < 1906545600000LL);
#endif
	unsetenv("FLAGSYNC_TEST_NOW");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_injected_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
