/*
 * commit_test.c - commit_apply() against a real LMDB cache: baseline
 * events, nothing written for an unchanged changeset, link replacement per
 * source and scope, deleted flags keep their issues in the event, and a
 * map that fills up mid-commit still yields gap-free events.
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
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

/* The JSON document of event seq (caller puts it). */
static json_object *
event_doc(struct fixture *f, uint64_t seq)
{
	struct json_tokener *tok;
	struct cache_txn *t;
	const char *json;
	json_object *o;
	size_t len;

	assert_int_equal(cache_read_begin(f->c, &t), 0);
	assert_int_equal(cache_event_get(t, seq, &json, &len), 0);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	cache_read_end(t);
	assert_non_null(o);
	return o;
}

/* The status record of source, or NULL when there is none. */
static json_object *
status_doc(struct fixture *f, const char *source)
{
	struct json_tokener *tok;
	struct cache_txn *t;
	const char *json;
	json_object *o = NULL;
	size_t len;

	assert_int_equal(cache_read_begin(f->c, &t), 0);
	if (cache_status_get(t, source, &json, &len) == 0) {
		tok = json_tokener_new();
		o = json_tokener_parse_ex(tok, json, (int)len);
		json_tokener_free(tok);
		assert_non_null(o);
	}
	cache_read_end(t);
	return o;
}

/*
 * A link event is about one link: it carries "issue" and "sources" and
 * not the flag's whole issue list, which made a flag with N issues write
 * N link events of N keys each.
 */
static void
test_link_events_bounded(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	json_object *o;
	uint64_t seq;

	changeset_init(&cs);
	add_flag(&cs, "a", 0, 25, 1);
	add_links(&cs, LINK_SRC_FILE, NULL, "a", "SHOP-1", "a", "SHOP-2",
	    "a", "SHOP-3", NULL);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(r.nevents, 4);
	o = event_doc(f, 1);
	/* flag events keep the flag's issues (here: none yet) */
	assert_non_null(json_object_object_get(o, "issues"));
	json_object_put(o);
	for (seq = 2; seq <= 4; seq++) {
		o = event_doc(f, seq);
		assert_string_equal(json_object_get_string(
		    json_object_object_get(o, "type")), "link.added");
		assert_non_null(json_object_object_get(o, "issue"));
		assert_string_equal(json_object_to_json_string_ext(
		    json_object_object_get(o, "sources"),
		    JSON_C_TO_STRING_PLAIN), "[\"file\"]");
		if (json_object_object_get_ex(o, "issues", NULL))
			fail_msg("link event %llu lists the flag's issues: %s",
			    (unsigned long long)seq,
			    json_object_to_json_string(o));
		json_object_put(o);
	}
}

/* The time of event seq, as stored. */
static const char *
event_time(struct fixture *f, uint64_t seq, char *out, size_t len)
{
	json_object *o = event_doc(f, seq);

	snprintf(out, len, "%s", json_object_get_string(
	    json_object_object_get(o, "time")));
	json_object_put(o);
	return out;
}

/* A clock stepped back never stamps an event before its predecessor,
 * so `events --since TIME` cannot skip one. */
static void
test_event_times_monotonic(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	char t1[32], t2[32], t3[32];

	changeset_init(&cs);
	cs.time = 1800000010000;	/* 2027-01-15T08:00:10Z */
	add_flag(&cs, "a", 0, 25, 1);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);

	changeset_init(&cs);
	cs.time = 1800000008000;	/* two seconds earlier */
	add_flag(&cs, "a", 1, 25, 2);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);

	changeset_init(&cs);
	cs.time = 1800000020000;	/* later again */
	add_flag(&cs, "a", 0, 25, 3);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);

	event_time(f, 1, t1, sizeof(t1));
	event_time(f, 2, t2, sizeof(t2));
	event_time(f, 3, t3, sizeof(t3));
	assert_string_equal(t1, "2027-01-15T08:00:10Z");
	if (strcmp(t2, t1) < 0)
		fail_msg("event 2 at %s, before event 1 at %s", t2, t1);
	assert_string_equal(t3, "2027-01-15T08:00:20Z");
}

static volatile sig_atomic_t cancel_flag;

/* A stop asked for during a large commit ends it after a whole batch: what
 * was committed is complete, and the next commit does the rest. */
static void
test_cancel_between_batches(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct cache_txn *t;
	char name[32];
	const void *rec;
	size_t i, len, n = COMMIT_BATCH + 10;

	changeset_init(&cs);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "flag_%05zu", i);
		add_flag(&cs, name, 0, 50, 1);
	}
	cancel_flag = 1;
	cs.cancel = &cancel_flag;
	assert_int_equal(commit_apply(f->c, &cs, &r), FS_ECANCELED);
	assert_int_equal(r.nevents, COMMIT_BATCH);
	assert_int_equal(r.last_seq, COMMIT_BATCH);
	assert_int_equal(cache_read_begin(f->c, &t), 0);
	snprintf(name, sizeof(name), "flag_%05zu", (size_t)COMMIT_BATCH - 1);
	assert_int_equal(cache_flag_get(t, "Default", name, &rec, &len), 0);
	snprintf(name, sizeof(name), "flag_%05zu", (size_t)COMMIT_BATCH);
	assert_int_equal(cache_flag_get(t, "Default", name, &rec, &len),
	    FS_ENOTFOUND);
	cache_read_end(t);

	/* the next cycle finishes: only the rest makes events */
	cancel_flag = 0;
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(r.nevents, 10);
	assert_int_equal(r.first_seq, COMMIT_BATCH + 1);
}

/* One add_flag-made record, under any names. */
static void
add_flag_named(struct changeset *cs, const char *project, const char *flag)
{
	struct changeset tmp;
	const void *rec;
	struct buf b;

	changeset_init(&tmp);
	add_flag(&tmp, "x", 0, 25, 1);
	buf_init(&b, 0);
	assert_int_equal(changeset_record(&tmp, &tmp.flags[0], &b, &rec), 0);
	assert_int_equal(changeset_add_flag(cs, project, flag, rec,
	    tmp.flags[0].len), 0);
	buf_release(&b);
	changeset_release(&tmp);
}

/*
 * Names the cache cannot take (empty, or longer than maxlen.h allows) are
 * skipped, counted in the status of their source, and everything else
 * commits: a 10,000-byte name in links.yaml once failed every cycle.
 */
static void
test_bad_names_skipped(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct linkset set;
	struct cache_txn *t;
	json_object *o;
	char *huge, big[300];
	const void *rec;
	uint32_t mask;
	size_t len;

	huge = malloc(10001);
	assert_non_null(huge);
	memset(huge, 'h', 10000);
	huge[10000] = '\0';
	memset(big, 'b', sizeof(big));
	big[sizeof(big) - 1] = '\0';

	changeset_init(&cs);
	add_flag(&cs, "good", 0, 25, 1);
	add_flag_named(&cs, "Default", big);	/* 299 > FS_FLAG_MAX */
	add_flag_named(&cs, "Default", "");
	add_flag_named(&cs, huge, "f");
	assert_int_equal(changeset_add_status(&cs, "split:Default",
	    "{\"ok\":true,\"error\":null,\"flags\":4}"), 0);
	linkset_init(&set);
	assert_int_equal(linkset_add(&set, "Default", "good", "SHOP-1"), 0);
	assert_int_equal(linkset_add(&set, "Default", huge, "SHOP-2"), 0);
	assert_int_equal(linkset_add(&set, "Default", "good", big), 0);
	assert_int_equal(changeset_add_links(&cs, LINK_SRC_FILE, NULL, &set),
	    0);
	linkset_release(&set);
	assert_int_equal(changeset_add_status(&cs, "file",
	    "{\"ok\":true,\"error\":null,\"links\":3}"), 0);
	assert_int_equal(changeset_add_edit(&cs, "Default", "good", huge,
	    true), 0);
	assert_int_equal(changeset_add_edit(&cs, "Default", "good", "OPS-1",
	    true), 0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	free(huge);

	/* created good, link SHOP-1, link OPS-1 */
	assert_int_equal(r.nevents, 3);
	assert_int_equal(r.skipped, 6);
	assert_int_equal(cache_read_begin(f->c, &t), 0);
	assert_int_equal(cache_flag_get(t, "Default", "good", &rec, &len), 0);
	assert_int_equal(cache_link_get(t, "Default", "good", "SHOP-1",
	    &mask), 0);
	assert_int_equal(cache_link_get(t, "Default", "good", "OPS-1",
	    &mask), 0);
	cache_read_end(t);

	o = status_doc(f, "split:Default");
	assert_non_null(o);
	assert_true(json_object_get_boolean(json_object_object_get(o, "ok")));
	assert_int_equal(json_object_get_int(json_object_object_get(o,
	    "skipped_count")), 2);
	assert_int_equal(json_object_array_length(json_object_object_get(o,
	    "skipped")), 2);
	assert_non_null(strstr(json_object_get_string(json_object_object_get(
	    o, "note")), "2 items skipped"));
	assert_null(json_object_object_get(o, "error"));
	json_object_put(o);
	o = status_doc(f, "file");
	assert_non_null(o);
	assert_int_equal(json_object_get_int(json_object_object_get(o,
	    "skipped_count")), 2);
	json_object_put(o);
}

/*
 * A commit that fails says so in the status of every source it carried:
 * `status` must not go on showing them ok.  Here the spill file the
 * records wait in cannot be read back.
 */
static void
test_failed_commit_marks_status(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	json_object *o, *e;
	int fd;

	changeset_init(&cs);
	assert_int_equal(changeset_spill(&cs, f->dir), 0);
	add_flag(&cs, "a", 0, 25, 1);
	assert_int_equal(changeset_add_status(&cs, "split:Default",
	    "{\"ok\":true,\"error\":null,\"flags\":1}"), 0);
	/* the spill file becomes write-only: reading the record fails */
	fd = open("/dev/null", O_WRONLY);
	assert_true(fd >= 0);
	assert_true(dup2(fd, cs.spill_fd) == cs.spill_fd);
	close(fd);
	assert_int_not_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(r.nevents, 0);
	assert_true(r.error[0] != '\0');
	o = status_doc(f, "split:Default");
	assert_non_null(o);
	assert_false(json_object_get_boolean(json_object_object_get(o,
	    "ok")));
	e = json_object_object_get(o, "error");
	assert_non_null(strstr(json_object_get_string(e),
	    "cannot commit to the cache"));
	json_object_put(o);
}

/*
 * A query killed inside its read transaction leaves a reader slot that
 * pins old pages; each cycle's commit frees such slots, not only the
 * writer's open.
 */
static void
test_stale_readers_cleared(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	int p[2], dead = -1, st;
	char c = 0, err[256];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		struct cache *rc;
		struct cache_txn *t;

		close(p[0]);
		if (cache_open(&rc, f->dir, CACHE_RDONLY, err,
		    sizeof(err)) != 0 || cache_read_begin(rc, &t) != 0)
			_exit(1);
		(void)write(p[1], "r", 1);
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);

	changeset_init(&cs);
	add_flag(&cs, "a", 0, 25, 1);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	changeset_release(&cs);
	assert_int_equal(cache_readers_clear(f->c, &dead), 0);
	if (dead != 0)
		fail_msg("%d stale reader slot(s) left after a commit", dead);
}


/* The flag in the cache is the one its record names. */
static void
assert_stored(struct fixture *f, const char *flag, bool present)
{
	struct cache_txn *t;
	struct flag_view v;
	const void *rec;
	size_t len;

	assert_int_equal(cache_read_begin(f->c, &t), 0);
	if (!present) {
		assert_int_equal(cache_flag_get(t, "Default", flag, &rec, &len),
		    FS_ENOTFOUND);
		cache_read_end(t);
		return;
	}
	assert_int_equal(cache_flag_get(t, "Default", flag, &rec, &len), 0);
	view_init(&v);
	assert_int_equal(view_decode(&v, rec, len), 0);
	cache_read_end(t);
	assert_string_equal(v.flag, flag);
	view_release(&v);
}

/* n flags named prefix00000... into cs. */
static void
add_flags(struct changeset *cs, const char *prefix, int n)
{
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%05d", prefix, i);
		add_flag(cs, name, 0, 25, 1);
	}
}

/*
 * Records wait in a write buffer before they reach the spill file; a
 * rollback to a mark before or after the last write keeps exactly the
 * records added before the mark, and the commit reads every one back.
 */
static void
test_spill_buffer_rollback(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct cs_mark m;
	int64_t written;

	/* mark after the first write: only the buffer is cut */
	changeset_init(&cs);
	assert_int_equal(changeset_spill(&cs, f->dir), 0);
	add_flags(&cs, "a", 9000);
	written = cs.spill_written;
	assert_true(written > 0);
	changeset_mark(&cs, &m);
	add_flags(&cs, "b", 300);
	changeset_rollback(&cs, &m);
	assert_int_equal(cs.spill_written, written);
	add_flags(&cs, "c", 200);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(r.nevents, 9200);
	assert_int_equal(r.counts[EV_FLAG_CREATED], 9200);
	changeset_release(&cs);
	assert_stored(f, "a00000", true);
	assert_stored(f, "a08999", true);
	assert_stored(f, "b00000", false);
	assert_stored(f, "c00199", true);

	/* mark before a write: what was written past it is dropped too */
	changeset_init(&cs);
	assert_int_equal(changeset_spill(&cs, f->dir), 0);
	add_flags(&cs, "d", 100);
	changeset_mark(&cs, &m);
	add_flags(&cs, "e", 9000);
	assert_true(cs.spill_written > m.spill_len);
	changeset_rollback(&cs, &m);
	add_flags(&cs, "g", 50);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(r.nevents, 150);
	assert_int_equal(r.counts[EV_FLAG_CREATED], 150);
	changeset_release(&cs);
	assert_stored(f, "d00099", true);
	assert_stored(f, "e00000", false);
	assert_stored(f, "g00000", true);
	assert_stored(f, "g00049", true);
}

/* Issue status records: written with the cycle, unchanged bytes write
 * nothing, NULL deletes, a rollback drops what a failed source added. */
static int
istatus_count(void *arg, const char *issue, const void *rec, size_t len)
{
	(void)issue;
	(void)rec;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_issue_status_records(void **state)
{
	struct fixture *f = *state;
	struct commit_result r;
	struct changeset cs;
	struct cs_mark m;
	struct cache_txn *t;
	const void *rec;
	size_t len, ms;
	uint64_t tx1, tx2;
	int n = 0;

	changeset_init(&cs);
	cs.time = 1000;
	assert_int_equal(changeset_add_issue_status(&cs, "SHOP-1", "ab", 2),
	    0);
	assert_int_equal(changeset_add_issue_status(&cs, "SHOP-2", "cd", 2),
	    0);
	assert_int_equal(changeset_add_issue_status(&cs, "SHOP-3", NULL, 1),
	    EINVAL);
	changeset_mark(&cs, &m);
	assert_int_equal(changeset_add_issue_status(&cs, "SHOP-9", "zz", 2),
	    0);
	changeset_rollback(&cs, &m);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(r.nevents, 0);
	assert_int_equal(cache_read_begin(f->c, &t), 0);
	assert_int_equal(cache_istatus_get(t, "SHOP-1", &rec, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(rec, "ab", 2);
	assert_int_equal(cache_istatus_get(t, "SHOP-9", &rec, &len),
	    FS_ENOTFOUND);
	assert_int_equal(cache_istatus_foreach(t, istatus_count, &n), 0);
	assert_int_equal(n, 2);
	cache_read_end(t);

	/* the same records again: no transaction */
	assert_int_equal(cache_info(f->c, &ms, &tx1), 0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(cache_info(f->c, &ms, &tx2), 0);
	assert_int_equal(tx1, tx2);
	changeset_release(&cs);

	/* a deletion, and one of a record never written */
	changeset_init(&cs);
	assert_int_equal(changeset_add_issue_status(&cs, "SHOP-1", NULL, 0),
	    0);
	assert_int_equal(changeset_add_issue_status(&cs, "NOPE-1", NULL, 0),
	    0);
	assert_int_equal(commit_apply(f->c, &cs, &r), 0);
	assert_int_equal(cache_read_begin(f->c, &t), 0);
	assert_int_equal(cache_istatus_get(t, "SHOP-1", &rec, &len),
	    FS_ENOTFOUND);
	assert_int_equal(cache_istatus_get(t, "SHOP-2", &rec, &len), 0);
	cache_read_end(t);
	changeset_release(&cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_issue_status_records,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_baseline_then_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_and_links,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_keeps_issues,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full_rerun,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_events_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_times_monotonic,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_between_batches,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names_skipped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_marks_status,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spill_buffer_rollback,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_readers_cleared,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
