/* issuestatus_test.c - the issue status record and how a cycle merges it. */
#include "autoconf.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "error.h"
#include "issuestatus.h"

static void
fill(struct issue_status *st, const char *status, const char *cat,
    int64_t resolved, int64_t since)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->summary, "Checkout \xc3\xa9");
	strcpy(st->status, status);
	strcpy(st->category, cat);
	st->resolved = resolved;
	st->category_since = since;
}

static void
test_record_round_trip(void **state)
{
	struct issue_status a, b;
	struct buf rec, again;

	(void)state;
	buf_init(&rec, 0);
	buf_init(&again, 0);
	fill(&a, "Done", "done", 1767225600000LL, -5);
	strcpy(a.key, "SHOP-1");
	a.seen = 1;
	a.missing = true;
	a.missing_since = INT64_MAX;
	assert_int_equal(issuestatus_encode(&a, &rec), 0);
	assert_int_equal(issuestatus_decode("SHOP-1", rec.data, rec.len, &b),
	    0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* equal statuses, equal bytes: nothing is rewritten */
	assert_int_equal(issuestatus_encode(&b, &again), 0);
	assert_int_equal(again.len, rec.len);
	assert_memory_equal(again.data, rec.data, rec.len);
	assert_true(issuestatus_is_done(&b));
	buf_release(&rec);
	buf_release(&again);
}

static void
test_record_damaged(void **state)
{
	struct issue_status a, b;
	struct buf rec;
	size_t cut;

	(void)state;
	buf_init(&rec, 0);
	fill(&a, "To Do", "new", 0, 7);
	assert_int_equal(issuestatus_encode(&a, &rec), 0);
	for (cut = 0; cut < rec.len; cut++)
		assert_int_equal(issuestatus_decode("K-1", rec.data, cut, &b),
		    FS_EDAMAGED);
	rec.data[0] = 9;		/* another version */
	assert_int_equal(issuestatus_decode("K-1", rec.data, rec.len, &b),
	    FS_EDAMAGED);
	rec.data[0] = 1;
	assert_int_equal(buf_putc(&rec, 'x'), 0);	/* trailing bytes */
	assert_int_equal(issuestatus_decode("K-1", rec.data, rec.len, &b),
	    FS_EDAMAGED);
	buf_release(&rec);
}

static void
test_merge_category_since(void **state)
{
	struct issue_status old, jira, out, out2;

	(void)state;
	/* first read: seen and in its category since now */
	fill(&jira, "In Progress", "indeterminate", 0, 0);
	issuestatus_merge(NULL, &jira, "SHOP-1", 1000, &out);
	assert_string_equal(out.key, "SHOP-1");
	assert_int_equal(out.seen, 1000);
	assert_int_equal(out.category_since, 1000);
	assert_false(out.missing);
	/* another status of the same category keeps the time */
	old = out;
	fill(&jira, "In Review", "indeterminate", 0, 0);
	issuestatus_merge(&old, &jira, "SHOP-1", 2000, &out);
	assert_string_equal(out.status, "In Review");
	assert_int_equal(out.category_since, 1000);
	assert_int_equal(out.seen, 1000);
	/* Done: a new category since now, with its resolution date */
	old = out;
	fill(&jira, "Done", "done", 2500, 0);
	issuestatus_merge(&old, &jira, "SHOP-1", 3000, &out);
	assert_int_equal(out.category_since, 3000);
	assert_int_equal(out.resolved, 2500);
	/* Jira's statuscategorychangedate beats the time flagsync saw it */
	fill(&jira, "Done", "done", 2500, 2600);
	issuestatus_merge(&old, &jira, "SHOP-1", 3000, &out2);
	assert_int_equal(out2.category_since, 2600);
}

static void
test_merge_missing(void **state)
{
	struct issue_status old, jira, out, again;

	(void)state;
	fill(&jira, "Done", "done", 2500, 0);
	issuestatus_merge(NULL, &jira, "SHOP-1", 1000, &old);
	/* missing keeps what was known, and since when it is missing */
	issuestatus_merge(&old, NULL, "SHOP-1", 5000, &out);
	assert_true(out.missing);
	assert_int_equal(out.missing_since, 5000);
	assert_string_equal(out.status, "Done");
	assert_int_equal(out.category_since, 1000);
	issuestatus_merge(&out, NULL, "SHOP-1", 9000, &again);
	assert_int_equal(again.missing_since, 5000);
	assert_memory_equal(&again, &out, sizeof(out));
	/* back: no longer missing */
	issuestatus_merge(&again, &jira, "SHOP-1", 9500, &out);
	assert_false(out.missing);
	assert_int_equal(out.missing_since, 0);
	assert_int_equal(out.seen, 1000);
	/* missing from the first read on: nothing known */
	issuestatus_merge(NULL, NULL, "GONE-1", 7000, &out);
	assert_true(out.missing);
	assert_string_equal(out.category, "");
	assert_int_equal(out.category_since, 0);
	assert_int_equal(out.seen, 7000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_damaged),
		cmocka_unit_test(test_merge_category_since),
		cmocka_unit_test(test_merge_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
