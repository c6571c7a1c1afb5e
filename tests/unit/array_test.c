/* array_test.c - the one checked array-growth helper. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "array.h"

static void
test_grows_and_keeps_contents(void **state)
{
	int *v = NULL;
	size_t cap = 0, i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(ARRAY_GROW(v, cap, i + 1), 0);
		assert_true(cap >= i + 1);
		v[i] = (int)i;
	}
	for (i = 0; i < 1000; i++)
		assert_int_equal(v[i], (int)i);
	free(v);
}

static void
test_no_work_when_room(void **state)
{
	int *v = NULL, *before;
	size_t cap = 0;

	(void)state;
	assert_int_equal(ARRAY_GROW(v, cap, 3), 0);
	assert_int_equal(cap, 16);
	before = v;
	assert_int_equal(ARRAY_GROW(v, cap, 16), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(ARRAY_GROW(v, cap, 0), 0);
	free(v);
}

/* A count whose byte size wraps must be refused, not allocated short. */
static void
test_refuses_overflow(void **state)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX / 4), EOVERFLOW);
	assert_null(v);
	assert_int_equal(cap, 0);
	assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX), EOVERFLOW);
	assert_int_equal(ARRAY_GROW(v, cap, 4), 0);
	v[3] = 7;
	/* a failed growth leaves the array as it was */
	assert_int_equal(ARRAY_GROW(v, cap, SIZE_MAX / 2 + 2), EOVERFLOW);
	assert_int_equal(cap, 16);
	assert_int_equal(v[3], 7);
	free(v);
}

static void
test_zero_size(void **state)
{
	void *v = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(array_grow(&v, &cap, 1, 0), EINVAL);
	assert_null(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_and_keeps_contents),
		cmocka_unit_test(test_no_work_when_room),
		cmocka_unit_test(test_refuses_overflow),
		cmocka_unit_test(test_zero_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
