/*
 * commit_test.c - commit_apply() against a real LMDB cache: baseline
 * events, nothing written for an unchanged changeset, link replacement per
 * source and scope, deleted flags keep their issues in the event, and a
 * map that fills up mid-commit still yields gap-free events.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "cache.h"
#include "commit.h"
#include "diff.h"
#include "error.h"
#include "linkset.h"
#include "view.h"

struct fixture {
	char	 dir[64];
	struct cache *c;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/commit_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(cache_open(&f->c, f->dir, 0, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	cache_close(f->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	cache_test_initial_map = 0;
	return 0;
}

/* A record for flag with the given killed state and rollout share. */
static void
add_flag(struct changeset *cs, const char *flag, int killed, int on,
    int64_t updated)
{
	struct view_context ctx = { "Default", "Production", "ws1", "env1",
	    NULL };
	struct flag_view v;
	struct buf b;
	char def[512], err[256];
	json_object *j;

	snprintf(def, sizeof(def), "{\"name\":\"%s\",\"killed\":%s,"
	    "\"treatments\":[{\"name\":\"on\"},{\"name\":\"off\"}],"
	    "\"defaultTreatment\":\"off\",\"trafficAllocation\":100,"
	    "\"rules\":[],\"defaultRule\":[{\"treatment\":\"on\",\"size\":%d},"
	    "{\"treatment\":\"off\",\"size\":%d}],\"lastUpdateTime\":%lld}",
	    flag, killed ? "true" : "false", on, 100 - on, (long long)updated);
	j = json_tokener_parse(def);
	assert_non_null(j);
	view_init(&v);
	assert_int_equal(view_from_split(&v, &ctx, "id", flag, "", NULL, 0, j,
	    err, sizeof(err)), 0);
	buf_init(&b, 0);
	assert_int_equal(view_encode(&v, &b), 0);
	assert_int_equal(changeset_add_flag(cs, "Default", flag, b.data,
	    b.len), 0);
	buf_release(&b);
	view_release(&v);
	json_object_put(j);
}

static void
add_links(struct changeset *cs, enum link_source src, const char *project,
    ...)
{
	struct linkset set;
	const char *flag, *issue;
	va_list ap;

	linkset_init(&set);
	va_start(ap, project);
	while ((flag = va_arg(ap, const char *)) != NULL) {
		issue = va_arg(ap, const char *);
		assert_int_equal(linkset_add(&set, "Default", flag, issue), 0);
	}
	va_end(ap);
	assert_int_equal(changeset_add_links(cs, src, project, &set), 0);
	linkset_release(&set);
}

struct evlist {
	char	 text[64][1024];
	size_t	 n;
};

static int
ev_cb(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct evlist *l = arg;
	json_object *o;
	struct json_tokener *tok = json_tokener_new();
	const char *issue = "";
	json_object *v;

	o = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	assert_non_null(o);
	assert_int_equal(json_object_get_int64(json_object_object_get(o,
	    "seq")), (int64_t)seq);
	if (json_object_object_get_ex(o, "issue", &v))
		issue = json_object_get_string(v);
	if (l->n < 64)
		snprintf(l->text[l->n++], sizeof(l->text[0]), "%llu %s %s %s",
		    (unsigned long long)seq, json_object_get_string(
		    json_object_object_get(o, "type")),
		    json_object_get_string(json_object_object_get(o, "flag")),
		    issue);
	json_object_put(o);
	return 0;
}

static void
events_after(struct fixture *f, uint64_t after, struct evlist *l)
{
	struct cache_txn *t;

	memset(l, 0, sizeof(*l));
	assert_int_equal(cache_read_begin(f->c, &t), 0);
	assert_int_equal(cache_event_foreach(t, after, ev_cb, l), 0);
	cache_read_end(t);
}

static void
test_baseline_then_nothing(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct evlist l;
	uint64_t tx1, tx2;
	size_t ms;

	changeset_init(&cs);
	cs.time = 1700000000000;
	add_flag(&cs, "a", 0, 25, 1);
	add_flag(&cs, "b", 1, 0, 2);
	add_links(&cs, LINK_SRC_SPLIT_TAG, "Default", "a", "SHOP-1", NULL);
	assert_int_equal(changeset_add_env(&cs, "Default", "Production"), 0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(r.nevents, 3);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.last_seq, 3);
	events_after(f, 0, &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.text[0], "1 flag.created a ");
	assert_string_equal(l.text[1], "2 flag.created b ");
	assert_string_equal(l.text[2], "3 link.added a SHOP-1");

	/* the same changeset again: no event, no transaction */
	assert_int_equal(cache_info(f->c, &ms, &tx1), 0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(r.nevents, 0);
	assert_int_equal(cache_info(f->c, &ms, &tx2), 0);
	assert_int_equal(tx1, tx2);
	changeset_release(&cs);
}

static void
test_changes_and_links(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct evlist l;

	changeset_init(&cs);
	add_flag(&cs, "a", 0, 25, 1);
	add_links(&cs, LINK_SRC_SPLIT_TAG, "Default", "a", "SHOP-1", NULL);
	add_links(&cs, LINK_SRC_FILE, NULL, "a", "SHOP-1", "a", "SHOP-2",
	    NULL);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(r.nevents, 3);	/* created, SHOP-1, SHOP-2 */

	/* killed + rollout in one save; the tag goes, the file keeps SHOP-1 */
	changeset_init(&cs);
	add_flag(&cs, "a", 1, 50, 2);
	add_links(&cs, LINK_SRC_SPLIT_TAG, "Default", NULL);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	events_after(f, 3, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.text[0], "4 flag.killed a ");
	assert_string_equal(l.text[1], "5 flag.rollout_changed a ");

	/* the file drops SHOP-1: now nobody holds it */
	changeset_init(&cs);
	add_links(&cs, LINK_SRC_FILE, NULL, "a", "SHOP-2", NULL);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	events_after(f, 5, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.text[0], "6 link.removed a SHOP-1");

	/* local edits add and remove */
	changeset_init(&cs);
	assert_int_equal(changeset_add_edit(&cs, "Default", "a", "OPS-1",
	    true), 0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	changeset_init(&cs);
	assert_int_equal(changeset_add_edit(&cs, "Default", "a", "OPS-1",
	    false), 0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	events_after(f, 6, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.text[0], "7 link.added a OPS-1");
	assert_string_equal(l.text[1], "8 link.removed a OPS-1");
}

static void
test_deleted_keeps_issues(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct cache_txn *t;
	const char *json;
	size_t len;
	json_object *o;
	struct json_tokener *tok;

	changeset_init(&cs);
	add_flag(&cs, "gone", 0, 100, 1);
	add_links(&cs, LINK_SRC_SPLIT_TAG, "Default", "gone", "PAY-9", NULL);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);

	changeset_init(&cs);
	assert_int_equal(changeset_add_flag(&cs, "Default", "gone", NULL, 0),
	    0);
	add_links(&cs, LINK_SRC_SPLIT_TAG, "Default", NULL);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(r.nevents, 2);	/* deleted, link.removed */
	assert_int_equal(r.counts[EV_FLAG_DELETED], 1);

	assert_int_equal(cache_read_begin(f->c, &t), 0);
	assert_int_equal(cache_event_get(t, r.first_seq, &json, &len), 0);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	assert_string_equal(json_object_get_string(json_object_object_get(o,
	    "type")), "flag.deleted");
	assert_string_equal(json_object_to_json_string_ext(
	    json_object_object_get(o, "issues"), JSON_C_TO_STRING_PLAIN),
	    "[\"PAY-9\"]");
	assert_null(json_object_object_get(o, "after"));
	json_object_put(o);
	assert_int_equal(cache_flag_get(t, "Default", "gone",
	    (const void **)&json, &len), FS_ENOTFOUND);
	cache_read_end(t);
}

static void
test_map_full_rerun(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct evlist l;
	char name[32], err[256];
	size_t i, ms;
	uint64_t tx;

	/* reopen with a tiny map so the commit must grow it and rerun */
	cache_close(f->c);
	cache_test_initial_map = 256 * 1024;
	strcat(f->dir, "");
	{
		char dir2[80];

		snprintf(dir2, sizeof(dir2), "%s/small", f->dir);
		assert_int_equal(cache_open(&f->c, dir2, 0, err, sizeof(err)),
		    0);
	}
	changeset_init(&cs);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "flag_%04zu", i);
		add_flag(&cs, name, 0, 50, 1);
	}
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(r.nevents, 3000);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.last_seq, 3000);
	assert_int_equal(cache_info(f->c, &ms, &tx), 0);
	assert_true(ms > 256 * 1024);
	events_after(f, 2990, &l);
	assert_int_equal(l.n, 10);
	assert_string_equal(l.text[9], "3000 flag.created flag_2999 ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_baseline_then_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_and_links,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_keeps_issues,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full_rerun,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
