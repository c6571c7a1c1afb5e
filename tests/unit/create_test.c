/* create_test.c - the creation step's rules (create.h): which names may be
 * created where, which part of Split's naming rule a name breaks, and the
 * wait after a refusal. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "create.h"
#include "maxlen.h"

#define MIN_MS	(60 * 1000LL)

static void
test_backoff_schedule(void **state)
{
	(void)state;
	assert_int_equal(create_backoff_ms(0), 10 * MIN_MS);
	assert_int_equal(create_backoff_ms(1), 10 * MIN_MS);
	assert_int_equal(create_backoff_ms(2), 20 * MIN_MS);
	assert_int_equal(create_backoff_ms(3), 40 * MIN_MS);
	assert_int_equal(create_backoff_ms(7), 640 * MIN_MS);
	assert_int_equal(create_backoff_ms(8), 1280 * MIN_MS);
	/* 2560 min would pass a day: capped there, and stays there */
	assert_int_equal(create_backoff_ms(9), 24 * 60 * MIN_MS);
	assert_int_equal(create_backoff_ms(10), 24 * 60 * MIN_MS);
	assert_int_equal(create_backoff_ms(1000), 24 * 60 * MIN_MS);
}

static void
expect_problem(const char *name, const char *part)
{
	char why[256];
	const char *w = create_name_problem(name, why, sizeof(why));

	assert_non_null(w);
	if (strstr(w, part) == NULL)
		fail_msg("'%s': \"%s\" lacks \"%s\"", name, w, part);
	/* every refusal states the whole rule too */
	assert_non_null(strstr(w, "a letter first, then only letters, "
	    "digits, '-' and '_', at most 255 bytes"));
}

static void
test_name_problem(void **state)
{
	char why[256], longest[FS_FLAG_MAX + 2];

	(void)state;
	assert_null(create_name_problem("new_flag_x", why, sizeof(why)));
	assert_null(create_name_problem("A-9_b", why, sizeof(why)));
	expect_problem("9bad", "starts with '9', not a letter");
	expect_problem("_x", "starts with '_', not a letter");
	expect_problem("9bad name", "starts with '9'");
	expect_problem("bad name", "holds a space, not a letter, digit");
	expect_problem("dot.ted", "holds '.', not a letter");
	expect_problem("caf\xc3\xa9", "holds byte 0xc3");
	expect_problem("", "an empty name");
	memset(longest, 'a', FS_FLAG_MAX);
	longest[FS_FLAG_MAX] = '\0';
	assert_null(create_name_problem(longest, why, sizeof(why)));
	longest[FS_FLAG_MAX] = 'a';
	longest[FS_FLAG_MAX + 1] = '\0';
	expect_problem(longest, "a name of 256 bytes");
}

static struct config_project one[] = {
	{ .name = "Default", .environment = "Production" },
};
static struct config_project two[] = {
	{ .name = "Default", .environment = "Production" },
	{ .name = "Pay/EU", .environment = "prod" },
};

static void
test_where(void **state)
{
	struct config cfg;
	const char *flag = NULL, *p;
	char why[256];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.projects = one;
	cfg.nprojects = 1;
	/* a bare name: the only project */
	p = create_where(&cfg, "new_flag_x", &flag, why, sizeof(why));
	assert_string_equal(p, "Default");
	assert_string_equal(flag, "new_flag_x");
	/* project/flag of that project */
	p = create_where(&cfg, "Default/other", &flag, why, sizeof(why));
	assert_string_equal(p, "Default");
	assert_string_equal(flag, "other");
	/* a project that is not configured */
	assert_null(create_where(&cfg, "Nope/x", &flag, why, sizeof(why)));
	assert_string_equal(why, "no project 'Nope' is configured");
	/* the naming rule, on the flag part only */
	assert_null(create_where(&cfg, "Default/9x", &flag, why,
	    sizeof(why)));
	assert_non_null(strstr(why, "starts with '9'"));

	cfg.projects = two;
	cfg.nprojects = 2;
	/* several projects: a bare name cannot say where */
	assert_null(create_where(&cfg, "new_flag_x", &flag, why,
	    sizeof(why)));
	assert_string_equal(why, "2 projects are configured: name it "
	    "project/flag");
	/* a project name may hold '/': the last one splits */
	p = create_where(&cfg, "Pay/EU/new_flag_x", &flag, why, sizeof(why));
	assert_string_equal(p, "Pay/EU");
	assert_string_equal(flag, "new_flag_x");
	assert_null(create_where(&cfg, "Pay/new_flag_x", &flag, why,
	    sizeof(why)));
	assert_string_equal(why, "no project 'Pay' is configured");
}

/* Only the exact text flagsync writes gives a key away. */
static void
test_description_key(void **state)
{
	char key[FS_ISSUE_MAX + 1];

	(void)state;
	assert_string_equal(create_description_key("Created from SHOP-3 by "
	    "flagsync", key, sizeof(key)), "SHOP-3");
	assert_null(create_description_key("Created from SHOP-3 by flagsync; "
	    "see PAY-1", key, sizeof(key)));
	assert_null(create_description_key("Fixes SHOP-3", key, sizeof(key)));
	assert_null(create_description_key("Created from  by flagsync", key,
	    sizeof(key)));
	assert_null(create_description_key("Created from SHOP-3 and PAY-1 by "
	    "flagsync", key, sizeof(key)));
	assert_null(create_description_key("", key, sizeof(key)));
	assert_null(create_description_key(NULL, key, sizeof(key)));
	/* a key longer than the buffer is not cut */
	assert_null(create_description_key("Created from SHOP-12345 by "
	    "flagsync", key, 6));
}

static void
test_list(void **state)
{
	struct create_list l;

	(void)state;
	create_list_init(&l);
	assert_int_equal(create_list_add(&l, "Default", "a", "SHOP-1"), 0);
	assert_int_equal(create_list_add(&l, "Default", "b", "SHOP-2"), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].flag, "b");
	assert_string_equal(l.v[1].issue, "SHOP-2");
	create_list_release(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_name_problem),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_description_key),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
