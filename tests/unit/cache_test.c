/* cache_test.c - the LMDB cache, on real files in a temporary directory. */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "cache.h"
#include "error.h"

struct fixture {
	char		 dir[PATH_MAX];
	struct cache	*c;
};

/* Helpers. */

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *fx;
	const char *tmp;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(fx->dir, sizeof(fx->dir), "%s/cache_test.XXXXXX", tmp);
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	cache_close(fx->c);
	cache_test_initial_map = 0;
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static int
dir_entries(const char *dir)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
open_write(struct fixture *fx)
{
	char err[512];

	assert_int_equal(cache_open(&fx->c, fx->dir, 0, err, sizeof(err)), 0);
	assert_non_null(fx->c);
}

static uint64_t
txnid(struct cache *c)
{
	uint64_t id;

	assert_int_equal(cache_info(c, NULL, &id), 0);
	return id;
}

static size_t
mapsize(struct cache *c)
{
	size_t sz;

	assert_int_equal(cache_info(c, &sz, NULL), 0);
	return sz;
}

/* Writes "schema" = value into meta with raw LMDB calls. */
static void
raw_schema(const char *dir, uint32_t value)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 6, "schema" }, v = { sizeof(value), &value };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Write callbacks: a list of operations run in one transaction. */

enum op_kind { OP_FLAG, OP_FLAG_DEL, OP_LINK, OP_EVENT, OP_STATUS,
    OP_PRUNE, OP_CURSOR, OP_CURSOR_DEL, OP_DEAD, OP_KV, OP_KV_DEL };

struct op {
	enum op_kind	 kind;
	const char	*a, *b, *c;	/* project/flag/issue, source, or
					 * instance/kv key */
	const char	*data;		/* record or JSON */
	uint64_t	 n;		/* mask, seq or prune bound */
	int		 want;		/* expected return */
};

struct ops {
	const struct op	*op;
	size_t		 n;
	int		 ret;		/* what the callback returns at the end */
};

static int
op_run(struct cache_txn *t, const struct op *o)
{
	size_t len = o->data ? strlen(o->data) : 0;

	switch (o->kind) {
	case OP_FLAG:
		return cache_flag_put(t, o->a, o->b, o->data, len);
	case OP_FLAG_DEL:
		return cache_flag_del(t, o->a, o->b);
	case OP_LINK:
		return cache_link_set(t, o->a, o->b, o->c, (uint32_t)o->n);
	case OP_EVENT:
		return cache_event_put(t, o->n, o->data, len);
	case OP_STATUS:
		return cache_status_put(t, o->a, o->data, len);
	case OP_PRUNE:
		return cache_event_prune(t, o->n);
	case OP_CURSOR:
		return cache_cursor_put(t, o->a, o->n);
	case OP_CURSOR_DEL:
		return cache_cursor_del(t, o->a);
	case OP_DEAD:
		return cache_dead_put(t, o->a, o->n, o->data, len);
	case OP_KV:
		return cache_kv_put(t, o->a, o->b, o->data, len);
	case OP_KV_DEL:
		return cache_kv_del(t, o->a, o->b);
	}
	return EINVAL;
}

static int
ops_fn(struct cache_txn *t, void *arg)
{
	const struct ops *ops = arg;
	size_t i;

	for (i = 0; i < ops->n; i++)
		assert_int_equal(op_run(t, &ops->op[i]), ops->op[i].want);
	return ops->ret;
}

static void
run_ops(struct cache *c, const struct op *op, size_t n)
{
	struct ops ops = { op, n, 0 };

	assert_int_equal(cache_write(c, ops_fn, &ops), 0);
}

#define RUN(c, ...) do {						\
	const struct op ops_[] = { __VA_ARGS__ };			\
	run_ops((c), ops_, sizeof(ops_) / sizeof(ops_[0]));		\
} while (0)

#define FLAG(p, f, r)		{ OP_FLAG, p, f, NULL, r, 0, 0 }
#define FLAG_DEL(p, f, w)	{ OP_FLAG_DEL, p, f, NULL, NULL, 0, w }
#define LINK(p, f, i, m)	{ OP_LINK, p, f, i, NULL, m, 0 }
#define EVENT(s, j, w)		{ OP_EVENT, NULL, NULL, NULL, j, s, w }
#define STATUS(s, j)		{ OP_STATUS, s, NULL, NULL, j, 0, 0 }
#define PRUNE(u)		{ OP_PRUNE, NULL, NULL, NULL, NULL, u, 0 }
#define CURSOR(i, s)		{ OP_CURSOR, i, NULL, NULL, NULL, s, 0 }
#define CURSOR_DEL(i, w)	{ OP_CURSOR_DEL, i, NULL, NULL, NULL, 0, w }
#define DEAD(i, s, j)		{ OP_DEAD, i, NULL, NULL, j, s, 0 }
#define KV(i, k, v)		{ OP_KV, i, k, NULL, v, 0, 0 }
#define KV_DEL(i, k, w)		{ OP_KV_DEL, i, k, NULL, NULL, 0, w }

/* Collectors for foreach callbacks: entries joined into a string. */

struct seen {
	char	text[4096];
	int	count;
	int	stop_at;	/* return 99 on this entry (1-based); 0 never */
};

static int
seen_add(struct seen *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
seen_add(struct seen *s, const char *fmt, ...)
{
	size_t len = strlen(s->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->text + len, sizeof(s->text) - len, fmt, ap);
	va_end(ap);
	s->count++;
	return s->count == s->stop_at ? 99 : 0;
}

static int
seen_flag(void *arg, const char *project, const char *flag, const void *rec,
    size_t len)
{
	return seen_add(arg, "%s/%s=%.*s;", project, flag, (int)len,
	    (const char *)rec);
}

static int
seen_link(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	return seen_add(arg, "%s/%s/%s=%u;", project, flag, issue,
	    (unsigned)mask);
}

static int
seen_issue(void *arg, const char *issue)
{
	return seen_add(arg, "%s;", issue);
}

static int
seen_event(void *arg, uint64_t seq, const char *json, size_t len)
{
	return seen_add(arg, "%llu=%.*s;", (unsigned long long)seq, (int)len,
	    json);
}

static int
seen_status(void *arg, const char *source, const char *json, size_t len)
{
	return seen_add(arg, "%s=%.*s;", source, (int)len, json);
}

static int
seen_cursor(void *arg, const char *instance, uint64_t seq)
{
	return seen_add(arg, "%s=%llu;", instance, (unsigned long long)seq);
}

static int
seen_dead(void *arg, const char *instance, uint64_t seq, const char *json,
    size_t len)
{
	return seen_add(arg, "%s/%llu=%.*s;", instance,
	    (unsigned long long)seq, (int)len, json);
}

static int
seen_kv(void *arg, const char *key, const void *val, size_t len)
{
	return seen_add(arg, "%s=%.*s;", key, (int)len, (const char *)val);
}

/* Opening. */

static void
test_open_create(void **state)
{
	struct fixture *fx = *state;
	char sub[PATH_MAX + 16], path[PATH_MAX + 32], err[512];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/state", fx->dir);
	assert_int_equal(cache_open(&fx->c, sub, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777 & ~(mode_t)0750, 0);
	snprintf(path, sizeof(path), "%s/data.mdb", sub);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/lock.mdb", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_true(mapsize(fx->c) >= CACHE_INITIAL_MAP);

	/* Reopening an existing cache in write mode works too, and gives
	 * the group back the access a umask of 022 took away: read on
	 * data.mdb, read-write on lock.mdb (LMDB readers), nothing more. */
	cache_close(fx->c);
	fx->c = NULL;
	snprintf(path, sizeof(path), "%s/lock.mdb", sub);
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", sub);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cache_open(&fx->c, sub, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	snprintf(path, sizeof(path), "%s/lock.mdb", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
}

static void
test_rdonly_sees_data(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	const void *rec;
	size_t len;
	char err[512];
	struct ops none = { NULL, 0, 0 };

	open_write(fx);
	RUN(fx->c, FLAG("Default", "new_checkout", "on"));
	cache_close(fx->c);
	fx->c = NULL;

	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_flag_get(t, "Default", "new_checkout", &rec,
	    &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(rec, "on", 2);
	/* A read transaction refuses writes. */
	assert_int_equal(cache_flag_put(t, "Default", "x", "y", 1), EACCES);
	cache_read_end(t);
	assert_int_equal(cache_write(fx->c, ops_fn, &none), EACCES);
}

static void
test_rdonly_empty_dir(void **state)
{
	struct fixture *fx = *state;
	char err[512], want[PATH_MAX + 64], missing[PATH_MAX + 16];
	struct stat st;

	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), FS_ENOTFOUND);
	assert_null(fx->c);
	snprintf(want, sizeof(want),
	    "no cache in %s yet: run 'flagsync sync' first", fx->dir);
	assert_string_equal(err, want);
	assert_int_equal(dir_entries(fx->dir), 0);

	/* Nor is a missing directory created. */
	snprintf(missing, sizeof(missing), "%s/nope", fx->dir);
	assert_int_equal(cache_open(&fx->c, missing, CACHE_RDONLY, err,
	    sizeof(err)), FS_ENOTFOUND);
	assert_int_equal(stat(missing, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_rdonly_no_meta(void **state)
{
	struct fixture *fx = *state;
	MDB_env *env;
	char err[512];

	/* An LMDB environment without our databases. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, fx->dir, 0, 0600), 0);
	mdb_env_close(env);
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), FS_ENOTFOUND);
	assert_non_null(strstr(err, "run 'flagsync sync' first"));
}

static void
test_schema_mismatch(void **state)
{
	struct fixture *fx = *state;
	char err[512];

	raw_schema(fx->dir, 99);
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), FS_ESCHEMA);
	assert_null(fx->c);
	assert_non_null(strstr(err, "schema 99"));
	assert_non_null(strstr(err, "schema 1"));
	err[0] = '\0';
	assert_int_equal(cache_open(&fx->c, fx->dir, 0, err, sizeof(err)),
	    FS_ESCHEMA);
	assert_non_null(strstr(err, "schema 99"));
}

static void
test_schema_kept(void **state)
{
	struct fixture *fx = *state;
	char err[512];

	/* A cache carrying our schema opens read-only. */
	raw_schema(fx->dir, CACHE_SCHEMA);
	open_write(fx);
	cache_close(fx->c);
	fx->c = NULL;
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), 0);
}

/* hint: what the message must say besides "Permission denied" */
static int
eacces_check(const char *dir, const char *hint)
{
	struct cache *c = NULL;
	char err[512];
	int rc;

	rc = cache_open(&c, dir, CACHE_RDONLY, err, sizeof(err));
	if (rc != EACCES)
		return 1;
	if (c != NULL)
		return 2;
	if (strstr(err, "Permission denied") == NULL ||
	    strstr(err, "write access to lock.mdb") == NULL ||
	    strstr(err, hint) == NULL)
		return 3;
	return 0;
}

static void
test_eacces(void **state)
{
	struct fixture *fx = *state;
	char lock[PATH_MAX + 16];
	int status;
	pid_t pid;

	open_write(fx);
	cache_close(fx->c);
	fx->c = NULL;
	snprintf(lock, sizeof(lock), "%s/lock.mdb", fx->dir);
	if (geteuid() != 0) {
		assert_int_equal(chmod(lock, 0440), 0);
		/* the owner is no one to send to a group */
		assert_int_equal(eacces_check(fx->dir, "lock.mdb"), 0);
		return;
	}
	/* Root can open anything: check as nobody, who is not in the
	 * group. */
	assert_int_equal(chmod(fx->dir, 0755), 0);
	assert_int_equal(chmod(lock, 0640), 0);
	if ((pid = fork()) == 0) {
		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(10);
		_exit(eacces_check(fx->dir, "ask to be added to the"));
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_bad_args(void **state)
{
	struct fixture *fx = *state;
	struct cache *c = NULL;
	struct cache_txn *t;
	uint64_t seq;
	size_t len;
	const char *json;

	assert_int_equal(cache_open(&c, NULL, 0, NULL, 0), EINVAL);
	assert_int_equal(cache_open(&c, "", 0, NULL, 0), EINVAL);
	assert_int_equal(cache_open(NULL, fx->dir, 0, NULL, 0), EINVAL);
	assert_int_equal(cache_read_begin(NULL, &t), EINVAL);
	assert_int_equal(cache_write(NULL, ops_fn, NULL), EINVAL);
	assert_int_equal(cache_info(NULL, NULL, NULL), EINVAL);
	assert_int_equal(cache_event_last(NULL, &seq), EINVAL);
	assert_int_equal(cache_status_get(NULL, "x", &json, &len), EINVAL);
	cache_close(NULL);
	cache_read_end(NULL);

	open_write(fx);
	assert_int_equal(cache_write(fx->c, NULL, NULL), EINVAL);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_flag_foreach(t, NULL, NULL, NULL), EINVAL);
	assert_int_equal(cache_event_get(t, 1, NULL, &len), EINVAL);
	cache_read_end(t);
}

/* Flags. */

static void
test_flags(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	const void *rec;
	size_t len;

	open_write(fx);
	RUN(fx->c,
	    FLAG("AB", "a", "3"),
	    FLAG("A", "b", "2"),
	    FLAG("A", "a", "1"),
	    FLAG("B", "z", "4"),
	    FLAG("A", "c", ""));
	RUN(fx->c,
	    FLAG("A", "c", "5"),
	    FLAG_DEL("B", "z", 0),
	    FLAG_DEL("B", "z", FS_ENOTFOUND),
	    FLAG_DEL("B", "y", FS_ENOTFOUND));

	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_flag_get(t, "A", "a", &rec, &len), 0);
	assert_int_equal(len, 1);
	assert_memory_equal(rec, "1", 1);
	assert_int_equal(cache_flag_get(t, "B", "z", &rec, &len),
	    FS_ENOTFOUND);
	assert_int_equal(cache_flag_get(t, "A", "zz", &rec, &len),
	    FS_ENOTFOUND);

	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_flag_foreach(t, "A", seen_flag, &s), 0);
	assert_string_equal(s.text, "A/a=1;A/b=2;A/c=5;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_flag_foreach(t, "AB", seen_flag, &s), 0);
	assert_string_equal(s.text, "AB/a=3;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_flag_foreach(t, NULL, seen_flag, &s), 0);
	assert_string_equal(s.text, "A/a=1;A/b=2;A/c=5;AB/a=3;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_flag_foreach(t, "B", seen_flag, &s), 0);
	assert_int_equal(s.count, 0);

	/* A non-zero return stops the walk and comes back. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cache_flag_foreach(t, NULL, seen_flag, &s), 99);
	assert_string_equal(s.text, "A/a=1;A/b=2;");
	cache_read_end(t);
}

static int
flag_add_fn(struct cache_txn *t, void *arg)
{
	const void *old;
	size_t len;

	(void)arg;
	assert_int_equal(cache_flag_add(t, "P", "f", "one", 3, &old, &len),
	    0);
	assert_null(old);
	assert_int_equal(len, 0);
	/* there is one now: it stays, and comes back */
	assert_int_equal(cache_flag_add(t, "P", "f", "two", 3, &old, &len),
	    EEXIST);
	assert_int_equal(len, 3);
	assert_memory_equal(old, "one", 3);
	assert_int_equal(cache_flag_add(t, "P", "g", NULL, 0, &old, &len),
	    EINVAL);
	assert_int_equal(cache_flag_add(t, "", "g", "x", 1, &old, &len),
	    EINVAL);
	return 0;
}

/* New records go in through one cursor a transaction: in order (a
 * listing), out of order, beside existing ones, across page splits and
 * after a delete and a put through other calls, each lands where a
 * search finds it. */
static int
flag_add_order_fn(struct cache_txn *t, void *arg)
{
	char name[32], rec[300];
	const void *old;
	size_t len;
	int i, k;

	(void)arg;
	memset(rec, 'r', sizeof(rec));
	for (k = 0; k < 2; k++)
		for (i = k; i < 400; i += 2) {	/* evens, then odds */
			snprintf(name, sizeof(name), "f%03d", i);
			assert_int_equal(cache_flag_add(t, "P", name, rec,
			    sizeof(rec), &old, &len), 0);
		}
	assert_int_equal(cache_flag_del(t, "P", "f399"), 0);
	assert_int_equal(cache_flag_put(t, "P", "f398", "x", 1), 0);
	assert_int_equal(cache_flag_add(t, "P", "f398", rec, 1, &old, &len),
	    EEXIST);
	assert_int_equal(len, 1);
	assert_int_equal(cache_flag_add(t, "P", "f399", "y", 1, &old, &len),
	    0);
	assert_int_equal(cache_flag_add(t, "A", "f", "z", 1, &old, &len), 0);
	return 0;
}

static int
count_flag(void *arg, const char *project, const char *flag,
    const void *rec, size_t len)
{
	(void)project;
	(void)flag;
	(void)rec;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_flag_add_order(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	char name[32];
	const void *rec;
	size_t len;
	int i, n = 0;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, flag_add_order_fn, NULL), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	for (i = 0; i < 398; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		assert_int_equal(cache_flag_get(t, "P", name, &rec, &len), 0);
		assert_int_equal(len, 300);
	}
	assert_int_equal(cache_flag_get(t, "P", "f398", &rec, &len), 0);
	assert_memory_equal(rec, "x", 1);
	assert_int_equal(cache_flag_get(t, "P", "f399", &rec, &len), 0);
	assert_memory_equal(rec, "y", 1);
	assert_int_equal(cache_flag_get(t, "A", "f", &rec, &len), 0);
	assert_int_equal(cache_flag_foreach(t, "P", count_flag, &n), 0);
	assert_int_equal(n, 400);
	cache_read_end(t);
}

/* cache_flag_add() stores a new flag's record only. */
static void
test_flag_add(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	const void *rec;
	size_t len;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, flag_add_fn, NULL), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_flag_get(t, "P", "f", &rec, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(rec, "one", 3);
	assert_int_equal(cache_flag_get(t, "P", "g", &rec, &len),
	    FS_ENOTFOUND);
	cache_read_end(t);
}

static int
bad_keys_fn(struct cache_txn *t, void *arg)
{
	char big[600];
	const void *rec;
	size_t len;

	(void)arg;
	memset(big, 'x', sizeof(big));
	big[509] = '\0';	/* 509 + 1 + 1 = 511: the largest key */
	assert_int_equal(cache_flag_put(t, big, "f", "r", 1), 0);
	assert_int_equal(cache_flag_get(t, big, "f", &rec, &len), 0);
	big[509] = 'x';
	big[510] = '\0';	/* 512 */
	assert_int_equal(cache_flag_put(t, big, "f", "r", 1), EINVAL);
	memset(big, 'x', sizeof(big));
	big[599] = '\0';
	assert_int_equal(cache_flag_get(t, big, "f", &rec, &len), EINVAL);
	assert_int_equal(cache_flag_put(t, "", "f", "r", 1), EINVAL);
	assert_int_equal(cache_flag_put(t, "p", "", "r", 1), EINVAL);
	assert_int_equal(cache_flag_put(t, NULL, "f", "r", 1), EINVAL);
	assert_int_equal(cache_flag_put(t, "p", "f", NULL, 1), EINVAL);
	assert_int_equal(cache_link_set(t, "p", "f", "", 1), EINVAL);
	assert_int_equal(cache_status_put(t, "", "{}", 2), EINVAL);
	assert_int_equal(cache_flag_foreach(t, "", seen_flag, NULL), EINVAL);
	return 0;
}

static void
test_bad_keys(void **state)
{
	struct fixture *fx = *state;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, bad_keys_fn, NULL), 0);
}

/*
 * Every key builder around LMDB's 511-byte limit, with the first part
 * alone taking 509 to 513 bytes: a first part of exactly 511 once wrote
 * the separator first and then copied the next part past the buffer.
 */
static int
key_edges_fn(struct cache_txn *t, void *arg)
{
	char big[600], want[64];
	const void *rec;
	const char *js;
	struct seen s;
	uint64_t seq;
	uint32_t mask;
	size_t len, n;
	int fits;

	(void)arg;
	for (n = 505; n <= 513; n++) {
		memset(big, 'p', sizeof(big));
		big[n] = '\0';
		snprintf(want, sizeof(want), "first part %zu", n);
		/* PROJECT\0FLAG\0ISSUE with "f" and "I-1": n + 6 bytes */
		memset(&s, 0, sizeof(s));
		fits = n + 6 <= 511;
		if (cache_link_get(t, big, "f", "I-1", &mask) !=
		    (fits ? FS_ENOTFOUND : EINVAL))
			fail_msg("%s: cache_link_get", want);
		if (cache_link_set(t, big, "f", "I-1", 1) !=
		    (fits ? 0 : EINVAL))
			fail_msg("%s: cache_link_set", want);
		/* PROJECT\0FLAG: n + 2 */
		fits = n + 2 <= 511;
		if (cache_flag_put(t, big, "f", "r", 1) != (fits ? 0 : EINVAL))
			fail_msg("%s: cache_flag_put", want);
		if (cache_flag_get(t, big, "f", &rec, &len) !=
		    (fits ? 0 : EINVAL))
			fail_msg("%s: cache_flag_get", want);
		/* PROJECT\0FLAG\0 as a prefix: n + 3 */
		fits = n + 3 <= 511;
		if (cache_link_foreach_flag(t, big, "f", seen_link, &s) !=
		    (fits ? 0 : EINVAL))
			fail_msg("%s: cache_link_foreach_flag", want);
		/* PROJECT\0 as a prefix: n + 1 */
		fits = n + 1 <= 511;
		if (cache_flag_foreach(t, big, seen_flag, &s) !=
		    (fits ? 0 : EINVAL))
			fail_msg("%s: cache_flag_foreach", want);
		/* one part: n */
		fits = n <= 511;
		if (cache_status_put(t, big, "{}", 2) != (fits ? 0 : EINVAL))
			fail_msg("%s: cache_status_put", want);
		if (cache_status_get(t, big, &js, &len) != (fits ? 0 : EINVAL))
			fail_msg("%s: cache_status_get", want);
		/* INSTANCE\0 and 8 bytes of seq: n + 9 */
		fits = n + 9 <= 511;
		if (cache_dead_put(t, big, 1, "{}", 2) != (fits ? 0 : EINVAL))
			fail_msg("%s: cache_dead_put", want);
		/* INSTANCE\0KEY: n + 2 */
		fits = n + 2 <= 511;
		if (cache_kv_put(t, big, "k", "v", 1) != (fits ? 0 : EINVAL))
			fail_msg("%s: cache_kv_put", want);
		if (cache_cursor_put(t, big, 1) != (n <= 511 ? 0 : EINVAL))
			fail_msg("%s: cache_cursor_put", want);
		if (cache_cursor_get(t, big, &seq) != (n <= 511 ? 0 : EINVAL))
			fail_msg("%s: cache_cursor_get", want);
	}
	/* The later parts at the edge too: 1 + 1 + 509 = 511, then 512. */
	memset(big, 'f', sizeof(big));
	big[509] = '\0';
	assert_int_equal(cache_flag_put(t, "p", big, "r", 1), 0);
	assert_int_equal(cache_link_set(t, "p", "f", big, 1), EINVAL);
	big[507] = '\0';	/* p\0f\0 and 507: 511 */
	assert_int_equal(cache_link_set(t, "p", "f", big, 1), 0);
	big[507] = 'f';
	big[508] = '\0';	/* 512 */
	assert_int_equal(cache_link_set(t, "p", "f", big, 1), EINVAL);
	big[508] = 'f';
	big[509] = 'f';
	big[510] = '\0';	/* p\0 and 510: 512 */
	assert_int_equal(cache_flag_put(t, "p", big, "r", 1), EINVAL);
	return 0;
}

static void
test_key_edges(void **state)
{
	struct fixture *fx = *state;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, key_edges_fn, NULL), 0);
}

/* Links. */

/* One source bit at a time: the mask before comes back, both directions
 * follow, and clearing the last bit deletes the link. */
static int
link_update_fn(struct cache_txn *t, void *arg)
{
	uint32_t old = 99;

	(void)arg;
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-7", 0, true,
	    &old), EINVAL);
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-7", 4, false,
	    &old), 0);
	assert_int_equal(old, 0);		/* no link: nothing to clear */
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-7", 4, true,
	    &old), 0);
	assert_int_equal(old, 0);
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-7", 4, true,
	    &old), 0);
	assert_int_equal(old, 4);		/* already set */
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-7", 1, true,
	    &old), 0);
	assert_int_equal(old, 4);
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-8", 2, true,
	    &old), 0);
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-8", 1, false,
	    &old), 0);
	assert_int_equal(old, 2);		/* bit not set: unchanged */
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-8", 2, false,
	    &old), 0);
	assert_int_equal(old, 2);		/* the last bit: deleted */
	assert_int_equal(cache_link_update(t, "A", "f", "SHOP-7", 4, false,
	    &old), 0);
	assert_int_equal(old, 5);
	return 0;
}

static void
test_link_update(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, link_update_fn, NULL), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach(t, NULL, seen_link, &s), 0);
	assert_string_equal(s.text, "A/f/SHOP-7=1;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach_issue(t, "SHOP-7", seen_link, &s),
	    0);
	assert_string_equal(s.text, "A/f/SHOP-7=1;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach_issue(t, "SHOP-8", seen_link, &s),
	    0);
	assert_int_equal(s.count, 0);
	cache_read_end(t);
}

static void
test_links(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	uint32_t mask;
	uint64_t id;

	open_write(fx);
	RUN(fx->c,
	    LINK("A", "f", "SHOP-7", 1),
	    LINK("A", "f", "SHOP-8", 2),
	    LINK("A", "g", "SHOP-7", 1),
	    LINK("AB", "f", "SHOP-7", 1),
	    LINK("A", "f", "SHOP-8", 3));

	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_link_get(t, "A", "f", "SHOP-8", &mask), 0);
	assert_int_equal(mask, 3);
	assert_int_equal(cache_link_get(t, "A", "f", "SHOP-9", &mask),
	    FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach_flag(t, "A", "f", seen_link, &s),
	    0);
	assert_string_equal(s.text, "A/f/SHOP-7=1;A/f/SHOP-8=3;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach_issue(t, "SHOP-7", seen_link, &s),
	    0);
	assert_string_equal(s.text, "A/f/SHOP-7=1;A/g/SHOP-7=1;AB/f/SHOP-7=1;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach(t, "A", seen_link, &s), 0);
	assert_string_equal(s.text,
	    "A/f/SHOP-7=1;A/f/SHOP-8=3;A/g/SHOP-7=1;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach(t, NULL, seen_link, &s), 0);
	assert_int_equal(s.count, 4);
	cache_read_end(t);

	/* Mask 0 removes both directions. */
	RUN(fx->c, LINK("A", "f", "SHOP-7", 0));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_link_get(t, "A", "f", "SHOP-7", &mask),
	    FS_ENOTFOUND);
	assert_int_equal(mask, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_link_foreach_issue(t, "SHOP-7", seen_link, &s),
	    0);
	assert_string_equal(s.text, "A/g/SHOP-7=1;AB/f/SHOP-7=1;");
	cache_read_end(t);

	/* Removing an absent link, or setting the same mask, writes
	 * nothing. */
	id = txnid(fx->c);
	RUN(fx->c,
	    LINK("A", "f", "SHOP-7", 0),
	    LINK("Z", "z", "Z-1", 0),
	    LINK("A", "f", "SHOP-8", 3));
	assert_int_equal(txnid(fx->c), id);
}

static void
test_issue_foreach(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;

	open_write(fx);
	RUN(fx->c,
	    LINK("A", "f", "SHOP-70", 1),
	    LINK("A", "f", "SHOP-7", 1),
	    LINK("A", "g", "SHOP-7", 2),
	    LINK("B", "h", "SHOP-7", 1),
	    LINK("A", "g", "AB-1", 1),
	    LINK("A", "h", "SHOP-7-", 1));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_issue_foreach(t, seen_issue, &s), 0);
	assert_string_equal(s.text, "AB-1;SHOP-7;SHOP-7-;SHOP-70;");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cache_issue_foreach(t, seen_issue, &s), 99);
	assert_string_equal(s.text, "AB-1;SHOP-7;");
	cache_read_end(t);
}

/* Events. */

/* Events go in through one cursor a transaction; a prune in the same
 * transaction takes the pages it stands on, and appends after it, and
 * in the next transaction, still land after the last event. */
static void
test_events_append_prune(void **state)
{
	static char texts[64][256];
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	struct op op[70];
	size_t i, n = 0;

	open_write(fx);
	/* enough events for several pages: the cursor crosses splits */
	for (i = 0; i < 64; i++) {
		snprintf(texts[i], sizeof(texts[i]),
		    "{\"seq\":%zu,\"pad\":\"%0200d\"}", i + 1, 0);
		op[n++] = (struct op)EVENT(i + 1, texts[i], 0);
	}
	op[n++] = (struct op)PRUNE(64);
	op[n++] = (struct op)EVENT(65, "{\"seq\":65}", 0);
	op[n++] = (struct op)EVENT(65, "{\"seq\":65}", EINVAL);
	run_ops(fx->c, op, n);
	RUN(fx->c, EVENT(66, "{\"seq\":66}", 0),
	    EVENT(67, "{\"seq\":67}", 0));

	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach(t, 0, seen_event, &s), 0);
	assert_string_equal(s.text,
	    "65={\"seq\":65};66={\"seq\":66};67={\"seq\":67};");
	cache_read_end(t);
}

static void
test_events(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	uint64_t seq;
	const char *json;
	size_t len;

	open_write(fx);
	RUN(fx->c,
	    EVENT(1, "{\"seq\":1}", 0),
	    EVENT(2, "{\"seq\":2}", 0),
	    EVENT(3, "{\"seq\":3}", 0),
	    EVENT(5, "{\"seq\":5}", EINVAL),
	    EVENT(3, "{\"seq\":3}", EINVAL),
	    EVENT(0, "{}", EINVAL));

	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(cache_event_first(t, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(cache_event_get(t, 2, &json, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(json, "{\"seq\":2}", 9);
	assert_int_equal(cache_event_get(t, 4, &json, &len), FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach(t, 1, seen_event, &s), 0);
	assert_string_equal(s.text, "2={\"seq\":2};3={\"seq\":3};");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach(t, 0, seen_event, &s), 0);
	assert_int_equal(s.count, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach(t, 3, seen_event, &s), 0);
	assert_int_equal(s.count, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach(t, UINT64_MAX, seen_event, &s),
	    0);
	assert_int_equal(s.count, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach_reverse(t, seen_event, &s), 0);
	assert_string_equal(s.text,
	    "3={\"seq\":3};2={\"seq\":2};1={\"seq\":1};");
	cache_read_end(t);

	/* Pruning keeps the last seq, so numbering goes on. */
	RUN(fx->c, PRUNE(2));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_event_first(t, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 3);
	cache_read_end(t);
	RUN(fx->c, PRUNE(10), EVENT(4, "{}", 0), EVENT(1, "{}", EINVAL));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_event_first(t, &seq), 0);
	assert_int_equal(seq, 4);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 4);
	cache_read_end(t);
	RUN(fx->c, PRUNE(4));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_event_first(t, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 4);
	cache_read_end(t);
}

static void
test_events_numeric_order(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct op op[300];
	char json[300][8];
	uint64_t seq;
	struct seen s;
	int i;

	open_write(fx);
	/* 256 and 1 differ in their first byte the other way round in
	 * little-endian: the keys must sort numerically. */
	for (i = 0; i < 300; i++) {
		snprintf(json[i], sizeof(json[i]), "%d", i + 1);
		op[i] = (struct op)EVENT((uint64_t)i + 1, json[i], 0);
	}
	run_ops(fx->c, op, 300);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_event_foreach(t, 250, seen_event, &s), 0);
	assert_int_equal(s.count, 50);
	assert_int_equal(strncmp(s.text, "251=251;252=252;", 16), 0);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 300);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cache_event_foreach_reverse(t, seen_event, &s), 99);
	assert_string_equal(s.text, "300=300;299=299;");
	cache_read_end(t);
}

/* Status. */

static void
test_status(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	const char *json;
	size_t len;
	uint64_t id;

	open_write(fx);
	RUN(fx->c,
	    STATUS("split:Default", "{\"ok\":true}"),
	    STATUS("file", "{\"ok\":false}"));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_status_get(t, "file", &json, &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(json, "{\"ok\":false}", 12);
	assert_int_equal(cache_status_get(t, "jira", &json, &len),
	    FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_status_foreach(t, seen_status, &s), 0);
	assert_string_equal(s.text,
	    "file={\"ok\":false};split:Default={\"ok\":true};");
	cache_read_end(t);

	id = txnid(fx->c);
	RUN(fx->c, STATUS("file", "{\"ok\":false}"));
	assert_int_equal(txnid(fx->c), id);
	RUN(fx->c, STATUS("file", "{\"ok\":true}"));
	assert_int_equal(txnid(fx->c), id + 1);
}

/* cache_write(). */

static void
test_write_nochange(void **state)
{
	struct fixture *fx = *state;
	struct ops none = { NULL, 0, 0 };
	uint64_t id;

	open_write(fx);
	RUN(fx->c,
	    FLAG("A", "f", "rec"),
	    LINK("A", "f", "SHOP-1", 1),
	    STATUS("file", "{}"),
	    EVENT(1, "{}", 0));
	id = txnid(fx->c);
	assert_int_equal(cache_write(fx->c, ops_fn, &none), 0);
	assert_int_equal(txnid(fx->c), id);
	/* The same data again is no change: nothing is committed. */
	RUN(fx->c,
	    FLAG("A", "f", "rec"),
	    LINK("A", "f", "SHOP-1", 1),
	    STATUS("file", "{}"),
	    FLAG_DEL("A", "nope", FS_ENOTFOUND),
	    PRUNE(0));
	assert_int_equal(txnid(fx->c), id);
	/* A real change commits exactly once. */
	RUN(fx->c, FLAG("A", "f", "rec2"));
	assert_int_equal(txnid(fx->c), id + 1);
}

static void
test_write_error_aborts(void **state)
{
	struct fixture *fx = *state;
	const struct op op[] = {
		FLAG("A", "f", "rec"),
		EVENT(1, "{}", 0),
	};
	struct ops ops = { op, 2, 42 };
	struct cache_txn *t;
	const void *rec;
	size_t len;
	uint64_t id, seq;

	open_write(fx);
	id = txnid(fx->c);
	assert_int_equal(cache_write(fx->c, ops_fn, &ops), 42);
	assert_int_equal(txnid(fx->c), id);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_flag_get(t, "A", "f", &rec, &len),
	    FS_ENOTFOUND);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 0);
	cache_read_end(t);
}

/* Deleting while walking a write transaction visits everything once. */
struct sweep {
	struct cache_txn	*t;
	int			 visited;
};

static int
sweep_flag(void *arg, const char *project, const char *flag,
    const void *rec, size_t len)
{
	struct sweep *sw = arg;
	char name[32];

	(void)rec;
	(void)len;
	sw->visited++;
	assert_int_equal(cache_flag_del(sw->t, project, flag), 0);
	/* Adding a key behind the walk is not visited. */
	snprintf(name, sizeof(name), "0%s", flag);
	return cache_flag_put(sw->t, "P", name, "n", 1);
}

static int
sweep_event(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct sweep *sw = arg;

	(void)json;
	(void)len;
	sw->visited++;
	return cache_event_prune(sw->t, seq);
}

static int
sweep_fn(struct cache_txn *t, void *arg)
{
	struct sweep *sw = arg;
	char name[32];
	int i, rc;

	sw->t = t;
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		if ((rc = cache_flag_put(t, "P", name, "x", 1)) != 0)
			return rc;
		if ((rc = cache_event_put(t, (uint64_t)i + 1, "{}", 2)) != 0)
			return rc;
	}
	sw->visited = 0;
	if ((rc = cache_flag_foreach(t, "P", sweep_flag, sw)) != 0)
		return rc;
	assert_int_equal(sw->visited, 200);
	sw->visited = 0;
	if ((rc = cache_event_foreach_reverse(t, sweep_event, sw)) != 0)
		return rc;
	/* Pruning up to 200 from the top removes everything at once. */
	assert_int_equal(sw->visited, 1);
	return 0;
}

static void
test_walk_while_writing(void **state)
{
	struct fixture *fx = *state;
	struct sweep sw;
	struct cache_txn *t;
	struct seen s;
	uint64_t seq;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, sweep_fn, &sw), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_flag_foreach(t, "P", seen_flag, &s), 0);
	assert_int_equal(s.count, 200);
	assert_int_equal(strncmp(s.text, "P/0f000=n;", 10), 0);
	assert_int_equal(cache_event_first(t, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(cache_event_last(t, &seq), 0);
	assert_int_equal(seq, 200);
	cache_read_end(t);
}

/* Map growth. */

#define BIG_REC		(16 * 1024)
#define BIG_PER_TXN	64			/* 1 MiB per transaction */
#define BIG_TXNS	10

struct big {
	int	batch;
	int	calls;
	int	mapped;		/* hide LMDB errors behind our own code */
};

static void
big_rec(char *rec, int batch, int i)
{
	memset(rec, 'a' + (batch * 7 + i) % 26, BIG_REC);
	snprintf(rec, BIG_REC, "%d/%d", batch, i);
}

static int
big_fn(struct cache_txn *t, void *arg)
{
	struct big *b = arg;
	char name[32], *rec;
	int i, rc = 0;

	b->calls++;
	if ((rec = malloc(BIG_REC)) == NULL)
		return ENOMEM;
	for (i = 0; i < BIG_PER_TXN && rc == 0; i++) {
		snprintf(name, sizeof(name), "big-%02d-%03d", b->batch, i);
		big_rec(rec, b->batch, i);
		rc = cache_flag_put(t, "P", name, rec, BIG_REC);
	}
	free(rec);
	return rc != 0 && b->mapped ? FS_EPROTO : rc;
}

/* Writes BIG_TXNS MiB; returns how often big_fn ran. */
static int
big_write(struct cache *c, int first_batch)
{
	struct big b = { 0, 0, 0 };
	int calls = 0;

	for (b.batch = first_batch; b.batch < first_batch + BIG_TXNS;
	    b.batch++) {
		b.calls = 0;
		assert_int_equal(cache_write(c, big_fn, &b), 0);
		calls += b.calls;
	}
	return calls;
}

/* 0 when every record of the batches is there. */
static int
big_check_n(struct cache *c, int first_batch, int nbatch)
{
	struct cache_txn *t;
	char name[32], *want;
	const void *rec;
	size_t len;
	int batch, i, bad = 0;

	if ((want = malloc(BIG_REC)) == NULL)
		return -1;
	if (cache_read_begin(c, &t) != 0) {
		free(want);
		return -2;
	}
	for (batch = first_batch; batch < first_batch + nbatch; batch++)
		for (i = 0; i < BIG_PER_TXN; i++) {
			snprintf(name, sizeof(name), "big-%02d-%03d", batch, i);
			big_rec(want, batch, i);
			if (cache_flag_get(t, "P", name, &rec, &len) != 0 ||
			    len != BIG_REC || memcmp(rec, want, len) != 0)
				bad++;
		}
	cache_read_end(t);
	free(want);
	return bad;
}

static int
big_check(struct cache *c, int first_batch)
{
	return big_check_n(c, first_batch, BIG_TXNS);
}

static int
big_check_one(struct cache *c, int batch)
{
	return big_check_n(c, batch, 1);
}

static void
test_map_growth(void **state)
{
	struct fixture *fx = *state;
	struct big b = { 99, 0, 0 };
	char err[512], path[PATH_MAX + 16];
	struct stat st;
	int calls;

	cache_test_initial_map = 64 * 1024;
	open_write(fx);
	assert_int_equal(mapsize(fx->c), 64 * 1024);
	calls = big_write(fx->c, 0);
	/* Some attempts filled the map and were run again. */
	assert_true(calls > BIG_TXNS);
	assert_true(mapsize(fx->c) >= 10 * 1024 * 1024);
	assert_int_equal(big_check(fx->c, 0), 0);

	/* Reopening never maps less than the file, even with a tiny
	 * initial map, and keeps every byte. */
	cache_close(fx->c);
	fx->c = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size >= 10 * 1024 * 1024);
	open_write(fx);
	assert_true(mapsize(fx->c) >= (size_t)st.st_size);
	assert_int_equal(cache_write(fx->c, big_fn, &b), 0);
	cache_close(fx->c);
	fx->c = NULL;
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), 0);
	assert_true(mapsize(fx->c) >= (size_t)st.st_size);
	assert_int_equal(big_check(fx->c, 0), 0);
	assert_int_equal(big_check_one(fx->c, 99), 0);
}

static void
test_map_growth_one_txn(void **state)
{
	struct fixture *fx = *state;
	struct big b = { 0, 0, 0 };

	cache_test_initial_map = 64 * 1024;
	open_write(fx);
	assert_int_equal(cache_write(fx->c, big_fn, &b), 0);
	/* 1 MiB from 64 KiB: at least four doublings, each a rerun. */
	assert_true(b.calls >= 5);
	assert_true(mapsize(fx->c) >= 1024 * 1024);
	assert_int_equal(big_check_one(fx->c, 0), 0);
}

static void
test_map_growth_error_mapped(void **state)
{
	struct fixture *fx = *state;
	struct big b = { 0, 0, 1 };

	/* The callback turns MDB_MAP_FULL into its own error: the map
	 * still grows and the callback still reruns. */
	cache_test_initial_map = 64 * 1024;
	open_write(fx);
	assert_int_equal(cache_write(fx->c, big_fn, &b), 0);
	assert_true(b.calls >= 5);
	assert_int_equal(big_check_one(fx->c, 0), 0);
}

/*
 * A read transaction in another thread while the writer must grow the
 * map: the remap waits until the reader is done with its pointers.
 */
struct slow_reader {
	struct cache	*c;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 started;
	atomic_int	 done;
	int		 ok;
};

static void *
slow_reader_main(void *arg)
{
	struct slow_reader *r = arg;
	struct cache_txn *t;
	const void *rec;
	size_t len;
	int i;

	if (cache_read_begin(r->c, &t) != 0)
		return NULL;
	if (cache_flag_get(t, "P", "seed", &rec, &len) != 0)
		goto txn_end;
	pthread_mutex_lock(&r->mtx);
	r->started = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mtx);
	/* Keep reading the mapped record while the writer works. */
	r->ok = 1;
	for (i = 0; i < 20; i++) {
		if (len != 4 || memcmp(rec, "seed", 4) != 0)
			r->ok = 0;
		usleep(10 * 1000);
	}
	atomic_store(&r->done, 1);
txn_end:
	cache_read_end(t);
	return NULL;
}

static void
test_reader_thread(void **state)
{
	struct fixture *fx = *state;
	struct slow_reader r;
	struct big b = { 0, 0, 0 };
	pthread_t th;

	cache_test_initial_map = 64 * 1024;
	open_write(fx);
	RUN(fx->c, FLAG("P", "seed", "seed"));
	memset(&r, 0, sizeof(r));
	r.c = fx->c;
	assert_int_equal(pthread_mutex_init(&r.mtx, NULL), 0);
	assert_int_equal(pthread_cond_init(&r.cond, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, slow_reader_main, &r), 0);
	pthread_mutex_lock(&r.mtx);
	while (!r.started)
		pthread_cond_wait(&r.cond, &r.mtx);
	pthread_mutex_unlock(&r.mtx);
	assert_int_equal(cache_write(fx->c, big_fn, &b), 0);
	/* Growing had to wait for the reader to finish. */
	assert_true(b.calls > 1);
	assert_int_equal(atomic_load(&r.done), 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.ok, 1);
	assert_int_equal(big_check_one(fx->c, 0), 0);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.mtx);
}

/*
 * cache_release_pages() madvise()s the map: a resize must not unmap and
 * remap it meanwhile, so the release is registered like a transaction
 * and the writer's growth waits for it.  madvise() is wrapped (see
 * Makefile.am): in the releasing thread it holds on for 200 ms and
 * watches whether the writer, started meanwhile, got its growing write
 * done under it.
 */
static _Thread_local int release_probe;
static atomic_int release_inside;
static atomic_int writer_done;
static atomic_int grew_under_madvise;

int __real_madvise(void *addr, size_t len, int advice);
int __wrap_madvise(void *addr, size_t len, int advice);

int
__wrap_madvise(void *addr, size_t len, int advice)
{
	int i;

	if (release_probe) {
		atomic_store(&release_inside, 1);
		for (i = 0; i < 20 && !atomic_load(&writer_done); i++)
			usleep(10 * 1000);
		if (atomic_load(&writer_done))
			atomic_store(&grew_under_madvise, 1);
	}
	return __real_madvise(addr, len, advice);
}

static void *
releaser_main(void *arg)
{
	release_probe = 1;
	cache_release_pages(arg);
	release_probe = 0;
	return NULL;
}

static void
test_release_pages_vs_resize(void **state)
{
	struct fixture *fx = *state;
	struct big b = { 0, 0, 0 };
	pthread_t th;

	cache_test_initial_map = 64 * 1024;
	open_write(fx);
	RUN(fx->c, FLAG("P", "seed", "seed"));
	atomic_store(&release_inside, 0);
	atomic_store(&writer_done, 0);
	atomic_store(&grew_under_madvise, 0);
	assert_int_equal(pthread_create(&th, NULL, releaser_main, fx->c), 0);
	while (!atomic_load(&release_inside))
		usleep(1000);
	assert_int_equal(cache_write(fx->c, big_fn, &b), 0);
	atomic_store(&writer_done, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(b.calls > 1);	/* the write did grow the map */
	assert_int_equal(atomic_load(&grew_under_madvise), 0);
	assert_int_equal(big_check_one(fx->c, 0), 0);
}

/*
 * A reader in another process: it keeps its snapshot while the writer
 * grows the map, and its next transaction adopts the new size and sees
 * the new data.  Returns an exit code: 0 when all is well.
 */
static int
reader_child(const char *dir, int ready, int go)
{
	struct cache *c = NULL;
	struct cache_txn *t1, *t2;
	const void *rec;
	size_t len, before;
	char err[512], ch;

	if (cache_open(&c, dir, CACHE_RDONLY, err, sizeof(err)) != 0)
		return 10;
	if (cache_read_begin(c, &t1) != 0)
		return 11;
	if (cache_flag_get(t1, "P", "seed", &rec, &len) != 0)
		return 12;
	if (cache_info(c, &before, NULL) != 0 || before > 1024 * 1024)
		return 13;
	if (write(ready, "r", 1) != 1 || read(go, &ch, 1) != 1 || ch != 'g')
		return 14;
	/* The old snapshot is intact and does not see the new data. */
	if (cache_flag_get(t1, "P", "seed", &rec, &len) != 0 || len != 4 ||
	    memcmp(rec, "seed", 4) != 0)
		return 15;
	if (cache_flag_get(t1, "P", "big-00-000", &rec, &len) !=
	    FS_ENOTFOUND)
		return 16;
	/* Remapping under a live transaction of this thread is refused. */
	if (cache_read_begin(c, &t2) != EDEADLK)
		return 17;
	cache_read_end(t1);
	if (cache_read_begin(c, &t2) != 0)
		return 18;
	cache_read_end(t2);
	if (big_check(c, 0) != 0)
		return 19;
	if (cache_info(c, &len, NULL) != 0 || len <= before)
		return 20;
	cache_close(c);
	return 0;
}

static void
test_reader_process(void **state)
{
	struct fixture *fx = *state;
	int ready[2], go[2], status;
	char ch;
	pid_t pid;

	cache_test_initial_map = 64 * 1024;
	open_write(fx);
	RUN(fx->c, FLAG("P", "seed", "seed"));
	/* The child must not inherit an open environment. */
	cache_close(fx->c);
	fx->c = NULL;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	if ((pid = fork()) == 0) {
		close(ready[0]);
		close(go[1]);
		_exit(reader_child(fx->dir, ready[1], go[0]));
	}
	assert_true(pid > 0);
	close(ready[1]);
	close(go[0]);
	open_write(fx);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	/* The child's open transaction does not block the writer. */
	big_write(fx->c, 0);
	assert_true(mapsize(fx->c) >= 10 * 1024 * 1024);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	close(go[1]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Two writers, as the daemon and 'flagsync link' are: the second one's
 * next write transaction adopts the map the first one grew.
 */
static int
writer_child(const char *dir, int ready, int go)
{
	const struct op op[] = { FLAG("P", "child", "yes") };
	struct ops ops = { op, 1, 0 };
	struct cache *c = NULL;
	char err[512], ch;
	size_t before, after;

	if (cache_open(&c, dir, 0, err, sizeof(err)) != 0)
		return 10;
	if (cache_info(c, &before, NULL) != 0)
		return 11;
	if (write(ready, "r", 1) != 1 || read(go, &ch, 1) != 1 || ch != 'g')
		return 12;
	if (cache_write(c, ops_fn, &ops) != 0)
		return 13;
	if (cache_info(c, &after, NULL) != 0 || after <= before)
		return 14;
	if (big_check(c, 0) != 0)
		return 15;
	cache_close(c);
	return 0;
}

static void
test_writer_process(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	int ready[2], go[2], status;
	const void *rec;
	size_t len;
	char ch;
	pid_t pid;

	cache_test_initial_map = 64 * 1024;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	if ((pid = fork()) == 0) {
		close(ready[0]);
		close(go[1]);
		_exit(writer_child(fx->dir, ready[1], go[0]));
	}
	assert_true(pid > 0);
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	open_write(fx);
	big_write(fx->c, 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(ready[0]);
	close(go[1]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_flag_get(t, "P", "child", &rec, &len), 0);
	assert_int_equal(len, 3);
	cache_read_end(t);
}

/* Output plugin delivery: cursors, dead letters, kv stores. */

static void
test_cursors(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	uint64_t seq, id;

	open_write(fx);
	RUN(fx->c,
	    CURSOR("jira", 5),
	    CURSOR("syslog", 7),
	    CURSOR("jira2", 9),
	    CURSOR("file", UINT64_MAX),
	    CURSOR("jira", 6));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_cursor_get(t, "jira", &seq), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(cache_cursor_get(t, "file", &seq), 0);
	assert_true(seq == UINT64_MAX);
	seq = 42;
	assert_int_equal(cache_cursor_get(t, "jir", &seq), FS_ENOTFOUND);
	assert_int_equal(seq, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_cursor_foreach(t, seen_cursor, &s), 0);
	assert_string_equal(s.text,
	    "file=18446744073709551615;jira=6;jira2=9;syslog=7;");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cache_cursor_foreach(t, seen_cursor, &s), 99);
	assert_string_equal(s.text, "file=18446744073709551615;jira=6;");
	assert_int_equal(cache_cursor_put(t, "jira", 7), EACCES);
	assert_int_equal(cache_cursor_del(t, "jira"), EACCES);
	cache_read_end(t);

	/* The same seq again, or deleting a cursor never set, writes
	 * nothing. */
	id = txnid(fx->c);
	RUN(fx->c, CURSOR("jira", 6), CURSOR_DEL("nope", FS_ENOTFOUND));
	assert_int_equal(txnid(fx->c), id);
	RUN(fx->c,
	    CURSOR_DEL("syslog", 0),
	    CURSOR_DEL("syslog", FS_ENOTFOUND),
	    CURSOR("jira", 7));
	assert_int_equal(txnid(fx->c), id + 1);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_cursor_get(t, "syslog", &seq), FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_cursor_foreach(t, seen_cursor, &s), 0);
	assert_string_equal(s.text,
	    "file=18446744073709551615;jira=7;jira2=9;");
	cache_read_end(t);
}

static uint64_t
dead_count(struct cache_txn *t, const char *instance)
{
	uint64_t n = 12345;

	assert_int_equal(cache_dead_count(t, instance, &n), 0);
	return n;
}

static void
test_dead_letters(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	uint64_t id;

	open_write(fx);
	/* 256 has NUL bytes in its key; "10" sorts before "2" as text. */
	RUN(fx->c,
	    DEAD("a", 10, "{\"seq\":10}"),
	    DEAD("a", 2, "{\"seq\":2}"),
	    DEAD("ab", 1, "{\"seq\":1}"),
	    DEAD("a", 256, "{\"seq\":256}"),
	    DEAD("b", 3, "{\"seq\":3}"),
	    DEAD("a", UINT64_MAX, "max"));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_dead_foreach(t, "a", seen_dead, &s), 0);
	assert_string_equal(s.text, "a/2={\"seq\":2};a/10={\"seq\":10};"
	    "a/256={\"seq\":256};a/18446744073709551615=max;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_dead_foreach(t, "ab", seen_dead, &s), 0);
	assert_string_equal(s.text, "ab/1={\"seq\":1};");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_dead_foreach(t, NULL, seen_dead, &s), 0);
	assert_string_equal(s.text, "a/2={\"seq\":2};a/10={\"seq\":10};"
	    "a/256={\"seq\":256};a/18446744073709551615=max;"
	    "ab/1={\"seq\":1};b/3={\"seq\":3};");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_dead_foreach(t, "c", seen_dead, &s), 0);
	assert_int_equal(s.count, 0);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cache_dead_foreach(t, "a", seen_dead, &s), 99);
	assert_string_equal(s.text, "a/2={\"seq\":2};a/10={\"seq\":10};");
	assert_int_equal(dead_count(t, "a"), 4);
	assert_int_equal(dead_count(t, "ab"), 1);
	assert_int_equal(dead_count(t, "b"), 1);
	assert_int_equal(dead_count(t, "c"), 0);
	assert_int_equal(dead_count(t, NULL), 6);
	assert_int_equal(cache_dead_put(t, "a", 1, "x", 1), EACCES);
	cache_read_end(t);

	/* The same letter again writes nothing; another text replaces. */
	id = txnid(fx->c);
	RUN(fx->c, DEAD("a", 2, "{\"seq\":2}"));
	assert_int_equal(txnid(fx->c), id);
	RUN(fx->c, DEAD("a", 2, "{\"seq\":2,\"again\":1}"));
	assert_int_equal(txnid(fx->c), id + 1);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(dead_count(t, "a"), 4);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(cache_dead_foreach(t, "a", seen_dead, &s), 99);
	assert_string_equal(s.text, "a/2={\"seq\":2,\"again\":1};");
	cache_read_end(t);
}

static void
test_kv(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	const void *val;
	size_t len;
	uint64_t id;

	open_write(fx);
	RUN(fx->c,
	    KV("jira", "SHOP-1", "h1"),
	    KV("jira", "SHOP-10", "h10"),
	    KV("jira", "SHOP-2", "h2"),
	    KV("jiraX", "SHOP-1", "other"),
	    KV("ji", "ra", "short"),
	    KV("jira", "empty", ""),
	    KV("jira", "SHOP-2", "h2b"));
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_kv_get(t, "jira", "SHOP-2", &val, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "h2b", 3);
	assert_int_equal(cache_kv_get(t, "jira", "empty", &val, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(cache_kv_get(t, "jira", "nope", &val, &len),
	    FS_ENOTFOUND);
	assert_int_equal(cache_kv_get(t, "jir", "SHOP-1", &val, &len),
	    FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_kv_foreach(t, "jira", seen_kv, &s), 0);
	assert_string_equal(s.text, "SHOP-1=h1;SHOP-10=h10;SHOP-2=h2b;empty=;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_kv_foreach(t, "jiraX", seen_kv, &s), 0);
	assert_string_equal(s.text, "SHOP-1=other;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_kv_foreach(t, "ji", seen_kv, &s), 0);
	assert_string_equal(s.text, "ra=short;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_kv_foreach(t, "j", seen_kv, &s), 0);
	assert_int_equal(s.count, 0);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(cache_kv_foreach(t, "jira", seen_kv, &s), 99);
	assert_string_equal(s.text, "SHOP-1=h1;");
	assert_int_equal(cache_kv_put(t, "jira", "k", "v", 1), EACCES);
	assert_int_equal(cache_kv_del(t, "jira", "SHOP-1"), EACCES);
	cache_read_end(t);

	id = txnid(fx->c);
	RUN(fx->c,
	    KV("jira", "SHOP-1", "h1"),
	    KV("jira", "empty", ""),
	    KV_DEL("jira", "nope", FS_ENOTFOUND));
	assert_int_equal(txnid(fx->c), id);
	RUN(fx->c,
	    KV_DEL("jira", "SHOP-1", 0),
	    KV_DEL("jira", "SHOP-1", FS_ENOTFOUND));
	assert_int_equal(txnid(fx->c), id + 1);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_kv_get(t, "jira", "SHOP-1", &val, &len),
	    FS_ENOTFOUND);
	assert_int_equal(cache_kv_get(t, "jiraX", "SHOP-1", &val, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(val, "other", 5);
	cache_read_end(t);
}

static void
kv_big_fill(unsigned char *val, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		val[i] = (unsigned char)(i * 131 + i / 4096);
}

static int
kv_limits_fn(struct cache_txn *t, void *arg)
{
	unsigned char *big = arg;
	char key[CACHE_KV_KEY_MAX + 8];
	const void *val;
	size_t len;

	memset(key, 'k', sizeof(key));
	key[CACHE_KV_KEY_MAX] = '\0';
	assert_int_equal(cache_kv_put(t, "p", key, "v", 1), 0);
	assert_int_equal(cache_kv_get(t, "p", key, &val, &len), 0);
	assert_int_equal(len, 1);
	key[CACHE_KV_KEY_MAX] = 'k';
	key[CACHE_KV_KEY_MAX + 1] = '\0';
	assert_int_equal(cache_kv_put(t, "p", key, "v", 1), EINVAL);
	assert_int_equal(cache_kv_get(t, "p", key, &val, &len), EINVAL);
	assert_int_equal(cache_kv_del(t, "p", key), EINVAL);

	assert_int_equal(cache_kv_put(t, "p", "big", big, CACHE_KV_VAL_MAX),
	    0);
	assert_int_equal(cache_kv_put(t, "p", "big", big,
	    CACHE_KV_VAL_MAX + 1), EINVAL);
	assert_int_equal(cache_kv_put(t, "p", "huge", big,
	    CACHE_KV_VAL_MAX + 1), EINVAL);
	assert_int_equal(cache_kv_get(t, "p", "big", &val, &len), 0);
	assert_int_equal(len, CACHE_KV_VAL_MAX);
	assert_int_equal(cache_kv_get(t, "p", "huge", &val, &len),
	    FS_ENOTFOUND);

	assert_int_equal(cache_kv_put(t, "p", "", "v", 1), EINVAL);
	assert_int_equal(cache_kv_put(t, "", "k", "v", 1), EINVAL);
	assert_int_equal(cache_kv_put(t, "p", NULL, "v", 1), EINVAL);
	assert_int_equal(cache_kv_put(t, NULL, "k", "v", 1), EINVAL);
	assert_int_equal(cache_kv_put(t, "p", "k", NULL, 1), EINVAL);
	assert_int_equal(cache_kv_put(t, "p", "nullempty", NULL, 0), 0);
	return 0;
}

/* Split tags flagsync wrote: recorded, listed by scope, forgotten. */

static int
seen_owntag(void *arg, const char *project, const char *flag,
    const char *tag, const char *by)
{
	return seen_add(arg, "%s/%s/%s=%s;", project, flag, tag, by);
}

static int
owntag_fn(struct cache_txn *t, void *arg)
{
	char by[CACHE_OWNTAG_BY_MAX + 2];

	(void)arg;
	assert_int_equal(cache_owntag_put(t, "Default", "f1", "SHOP-1",
	    "create"), 0);
	assert_int_equal(cache_owntag_put(t, "Default", "f1", "SHOP-2",
	    "split"), 0);
	assert_int_equal(cache_owntag_put(t, "Default", "f10", "SHOP-1",
	    "split"), 0);
	assert_int_equal(cache_owntag_put(t, "Other", "f1", "SHOP-1",
	    "split"), 0);
	/* a second writer takes the record over */
	assert_int_equal(cache_owntag_put(t, "Default", "f1", "SHOP-1",
	    "split"), 0);
	assert_int_equal(cache_owntag_put(t, "Default", "f1", "SHOP-9",
	    ""), EINVAL);
	memset(by, 'b', sizeof(by) - 1);
	by[sizeof(by) - 1] = '\0';
	assert_int_equal(cache_owntag_put(t, "Default", "f1", "SHOP-9",
	    by), EINVAL);
	assert_int_equal(cache_owntag_put(t, "Default", "f1", "SHOP-3",
	    "split"), 0);
	assert_int_equal(cache_owntag_del(t, "Default", "f1", "SHOP-3"), 0);
	assert_int_equal(cache_owntag_del(t, "Default", "f1", "SHOP-3"),
	    FS_ENOTFOUND);
	return 0;
}

static void
test_owntags(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, owntag_fn, NULL), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_owntag_get(t, "Default", "f1", "SHOP-1"), 0);
	assert_int_equal(cache_owntag_get(t, "Default", "f1", "SHOP-3"),
	    FS_ENOTFOUND);
	assert_int_equal(cache_owntag_get(t, "Default", "f", "SHOP-1"),
	    FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_owntag_foreach(t, "Default", "f1", seen_owntag,
	    &s), 0);
	assert_string_equal(s.text,
	    "Default/f1/SHOP-1=split;Default/f1/SHOP-2=split;");
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_owntag_foreach(t, "Default", NULL, seen_owntag,
	    &s), 0);
	assert_int_equal(s.count, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_owntag_foreach(t, NULL, NULL, seen_owntag, &s),
	    0);
	assert_int_equal(s.count, 4);
	assert_int_equal(cache_owntag_foreach(t, NULL, "f1", seen_owntag, &s),
	    EINVAL);
	cache_read_end(t);
}

static void
test_kv_limits(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	unsigned char *big;
	char key[CACHE_KV_KEY_MAX + 1], err[512];
	const void *val;
	size_t len;

	assert_non_null(big = malloc(CACHE_KV_VAL_MAX + 1));
	kv_big_fill(big, CACHE_KV_VAL_MAX + 1);
	open_write(fx);
	assert_int_equal(cache_write(fx->c, kv_limits_fn, big), 0);
	cache_close(fx->c);
	fx->c = NULL;

	/* Both survive, and a read-only open sees them. */
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_kv_get(t, "p", "big", &val, &len), 0);
	assert_int_equal(len, CACHE_KV_VAL_MAX);
	assert_memory_equal(val, big, CACHE_KV_VAL_MAX);
	memset(key, 'k', sizeof(key));
	key[CACHE_KV_KEY_MAX] = '\0';
	assert_int_equal(cache_kv_get(t, "p", key, &val, &len), 0);
	assert_int_equal(len, 1);
	assert_memory_equal(val, "v", 1);
	assert_int_equal(cache_kv_get(t, "p", "nullempty", &val, &len), 0);
	assert_int_equal(len, 0);
	cache_read_end(t);
	free(big);
}

static int
plugin_bad_args_fn(struct cache_txn *t, void *arg)
{
	char inst[520];
	uint64_t n;
	const void *val;
	size_t len;

	(void)arg;
	assert_int_equal(cache_cursor_put(t, "", 1), EINVAL);
	assert_int_equal(cache_cursor_put(t, NULL, 1), EINVAL);
	assert_int_equal(cache_cursor_del(t, ""), EINVAL);
	assert_int_equal(cache_cursor_get(t, "a", NULL), EINVAL);
	assert_int_equal(cache_cursor_foreach(t, NULL, NULL), EINVAL);
	assert_int_equal(cache_dead_put(t, "a", 1, NULL, 1), EINVAL);
	assert_int_equal(cache_dead_put(t, "", 1, "x", 1), EINVAL);
	assert_int_equal(cache_dead_put(t, NULL, 1, "x", 1), EINVAL);
	assert_int_equal(cache_dead_foreach(t, "", seen_dead, NULL), EINVAL);
	assert_int_equal(cache_dead_foreach(t, NULL, NULL, NULL), EINVAL);
	assert_int_equal(cache_dead_count(t, "a", NULL), EINVAL);
	assert_int_equal(cache_dead_count(t, "", &n), EINVAL);
	assert_int_equal(cache_kv_foreach(t, NULL, seen_kv, NULL), EINVAL);
	assert_int_equal(cache_kv_foreach(t, "a", NULL, NULL), EINVAL);
	assert_int_equal(cache_kv_get(t, "a", "k", NULL, &len), EINVAL);
	assert_int_equal(cache_kv_get(t, "a", "k", &val, NULL), EINVAL);
	assert_int_equal(cache_event_time(t, 1, NULL), EINVAL);

	/* A dead letter key is INSTANCE, NUL and 8 bytes: 502 + 9 = 511. */
	memset(inst, 'i', sizeof(inst));
	inst[502] = '\0';
	assert_int_equal(cache_dead_put(t, inst, 7, "x", 1), 0);
	assert_int_equal(cache_dead_count(t, inst, &n), 0);
	assert_int_equal(n, 1);
	inst[502] = 'i';
	inst[503] = '\0';
	assert_int_equal(cache_dead_put(t, inst, 7, "x", 1), EINVAL);
	return 0;
}

static void
test_plugin_bad_args(void **state)
{
	struct fixture *fx = *state;
	const void *val;
	const char *s = "x";
	size_t len;
	uint64_t n;
	int64_t ms;

	assert_int_equal(cache_cursor_get(NULL, s, &n), EINVAL);
	assert_int_equal(cache_cursor_put(NULL, s, 1), EINVAL);
	assert_int_equal(cache_dead_count(NULL, s, &n), EINVAL);
	assert_int_equal(cache_kv_get(NULL, s, s, &val, &len), EINVAL);
	assert_int_equal(cache_kv_foreach(NULL, s, seen_kv, NULL), EINVAL);
	assert_int_equal(cache_event_time(NULL, 1, &ms), EINVAL);
	open_write(fx);
	assert_int_equal(cache_write(fx->c, plugin_bad_args_fn, NULL), 0);
}

/*
 * Walks of the plugin databases in a write transaction that changes
 * them: each entry once, nothing added behind the walk seen.  Enough
 * entries, and kv values big enough, to split and merge pages under the
 * walk.
 */
#define PSWEEP_N	1000
#define PSWEEP_VAL	300
static int
sweep_cursor(void *arg, const char *instance, uint64_t seq)
{
	struct sweep *sw = arg;
	char name[32];

	sw->visited++;
	assert_int_equal(cache_cursor_del(sw->t, instance), 0);
	snprintf(name, sizeof(name), "0%s", instance);
	return cache_cursor_put(sw->t, name, seq + 1);
}

static int
sweep_dead(void *arg, const char *instance, uint64_t seq, const char *json,
    size_t len)
{
	struct sweep *sw = arg;
	int rc;

	(void)json;
	(void)len;
	sw->visited++;
	if ((rc = cache_dead_put(sw->t, instance, seq, "X", 1)) != 0)
		return rc;
	return cache_dead_put(sw->t, "o", seq, "Y", 1);
}

static int
sweep_kv(void *arg, const char *key, const void *val, size_t len)
{
	struct sweep *sw = arg;
	char name[32];

	sw->visited++;
	assert_int_equal(cache_kv_del(sw->t, "p", key), 0);
	snprintf(name, sizeof(name), "0%s", key);
	return cache_kv_put(sw->t, "p", name, val, len);
}

static int
plugin_sweep_fn(struct cache_txn *t, void *arg)
{
	struct sweep *sw = arg;
	char name[32], val[PSWEEP_VAL];
	int i, rc;

	sw->t = t;
	memset(val, 'v', sizeof(val));
	for (i = 0; i < PSWEEP_N; i++) {
		snprintf(name, sizeof(name), "k%03d", i);
		if ((rc = cache_cursor_put(t, name, (uint64_t)i)) != 0 ||
		    (rc = cache_kv_put(t, "p", name, val, sizeof(val))) != 0 ||
		    (rc = cache_dead_put(t, "p", (uint64_t)i + 1, "d", 1)) != 0)
			return rc;
	}
	sw->visited = 0;
	if ((rc = cache_cursor_foreach(t, sweep_cursor, sw)) != 0)
		return rc;
	assert_int_equal(sw->visited, PSWEEP_N);
	sw->visited = 0;
	if ((rc = cache_kv_foreach(t, "p", sweep_kv, sw)) != 0)
		return rc;
	assert_int_equal(sw->visited, PSWEEP_N);
	sw->visited = 0;
	if ((rc = cache_dead_foreach(t, NULL, sweep_dead, sw)) != 0)
		return rc;
	assert_int_equal(sw->visited, PSWEEP_N);
	return 0;
}

static void
test_plugin_walk_while_writing(void **state)
{
	struct fixture *fx = *state;
	struct sweep sw;
	struct cache_txn *t;
	struct seen s;
	uint64_t seq;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, plugin_sweep_fn, &sw), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_cursor_foreach(t, seen_cursor, &s), 0);
	assert_int_equal(s.count, PSWEEP_N);
	assert_int_equal(strncmp(s.text, "0k000=1;0k001=2;", 16), 0);
	assert_int_equal(cache_cursor_get(t, "k000", &seq), FS_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_kv_foreach(t, "p", seen_kv, &s), 0);
	assert_int_equal(s.count, PSWEEP_N);
	assert_int_equal(strncmp(s.text, "0k000=vvv", 9), 0);
	assert_int_equal(dead_count(t, "p"), PSWEEP_N);
	assert_int_equal(dead_count(t, "o"), PSWEEP_N);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(cache_dead_foreach(t, "p", seen_dead, &s), 99);
	assert_string_equal(s.text, "p/1=X;p/2=X;");
	cache_read_end(t);
}

/* Writes the old databases only, as a cache made before the plugin
 * ones existed. */
static void
raw_old_cache(const char *dir)
{
	static const char *const names[] = { "flags", "links", "issues",
	    "events", "status" };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t schema = CACHE_SCHEMA;
	MDB_val k = { 6, "schema" }, v = { sizeof(schema), &schema };
	size_t i;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(mdb_dbi_open(txn, names[i], MDB_CREATE,
		    &dbi), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_plugin_dbs_old_cache(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	struct seen s;
	const void *val;
	size_t len;
	uint64_t seq;
	char err[512];

	raw_old_cache(fx->dir);
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_cursor_get(t, "jira", &seq), FS_ENOTFOUND);
	assert_int_equal(cache_kv_get(t, "jira", "k", &val, &len),
	    FS_ENOTFOUND);
	assert_int_equal(dead_count(t, NULL), 0);
	assert_int_equal(dead_count(t, "jira"), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_cursor_foreach(t, seen_cursor, &s), 0);
	assert_int_equal(cache_dead_foreach(t, NULL, seen_dead, &s), 0);
	assert_int_equal(cache_kv_foreach(t, "jira", seen_kv, &s), 0);
	assert_int_equal(s.count, 0);
	cache_read_end(t);
	cache_close(fx->c);
	fx->c = NULL;

	/* A write open adds them. */
	open_write(fx);
	RUN(fx->c, CURSOR("jira", 3));
	cache_close(fx->c);
	fx->c = NULL;
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	assert_int_equal(cache_cursor_get(t, "jira", &seq), 0);
	assert_int_equal(seq, 3);
	cache_read_end(t);
}

static void
test_rdonly_missing_old_db(void **state)
{
	struct fixture *fx = *state;
	char err[512];

	/* Only the plugin databases may be missing. */
	raw_schema(fx->dir, CACHE_SCHEMA);
	assert_int_equal(cache_open(&fx->c, fx->dir, CACHE_RDONLY, err,
	    sizeof(err)), MDB_NOTFOUND);
	assert_null(fx->c);
	assert_non_null(strstr(err, "a database is missing"));
}

/* cache_event_time(). */

struct time_case {
	const char	*json;	/* '#' stands for the seq */
	int		 rc;
	int64_t		 ms;
};

static const struct time_case time_cases[] = {
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:50:15Z\",\"type\":\"x\"}",
	    0, 1795992615000LL },
	{ "{\"seq\":#,\"time\":\"1970-01-01T00:00:00Z\"}", 0, 0 },
	{ "{\"seq\":#,\"time\":\"1969-12-31T23:59:59Z\",\"a\":1}", 0,
	    -1000 },
	{ "{\"seq\":#,\"time\":\"2000-02-29T12:00:00Z\"}", 0,
	    951825600000LL },
	{ "{\"seq\":#,\"time\":\"9999-12-31T23:59:59Z\"}", 0,
	    253402300799000LL },
	{ "{\"seq\":#,\"time\":\"0000-01-01T00:00:00Z\"}", 0,
	    -62167219200000LL },
	/* Not the shape event.h writes. */
	{ "{\"seq\": #, \"time\": \"2026-11-29T22:50:15Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"type\":\"x\",\"time\":\"2026-11-29T22:50:15Z\"}",
	    FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:50:15+00:00\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:50:15.123Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29t22:50:15z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-1-29T22:50:15Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"+026-11-29T22:50:15Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":null}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":1795992615}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:50:15Z\"", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:50:15Z\"x", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:50:15Z", FS_EPROTO, 0 },
	{ "{\"seq\":#", FS_EPROTO, 0 },
	{ "", FS_EPROTO, 0 },
	{ "[#]", FS_EPROTO, 0 },
	/* Impossible times that timegm() would normalise. */
	{ "{\"seq\":#,\"time\":\"2026-02-29T00:00:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-04-31T00:00:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-13-01T00:00:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-00-10T00:00:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-00T00:00:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T24:00:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-11-29T22:60:00Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":#,\"time\":\"2026-12-31T23:59:60Z\"}", FS_EPROTO, 0 },
	/* Another seq than the key's: a leading zero, another number, an
	 * overflowing one. */
	{ "{\"seq\":0#,\"time\":\"2026-11-29T22:50:15Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":1#,\"time\":\"2026-11-29T22:50:15Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":-#,\"time\":\"2026-11-29T22:50:15Z\"}", FS_EPROTO, 0 },
	{ "{\"seq\":99999999999999999999#,\"time\":"
	    "\"2026-11-29T22:50:15Z\"}", FS_EPROTO, 0 },
};

#define NTIME	(sizeof(time_cases) / sizeof(time_cases[0]))

static int
time_events_fn(struct cache_txn *t, void *arg)
{
	const char *tmpl;
	char json[256];
	size_t i, hash;
	int n, rc;

	(void)arg;
	for (i = 0; i < NTIME; i++) {
		tmpl = time_cases[i].json;
		hash = strcspn(tmpl, "#");
		n = snprintf(json, sizeof(json), "%.*s%zu%s", (int)hash, tmpl,
		    i + 1, tmpl[hash] == '#' ? tmpl + hash + 1 : "");
		assert_true(n >= 0 && (size_t)n < sizeof(json));
		if ((rc = cache_event_put(t, i + 1, json, (size_t)n)) != 0)
			return rc;
	}
	return 0;
}

static void
test_event_time(void **state)
{
	struct fixture *fx = *state;
	struct cache_txn *t;
	size_t i;
	int64_t ms;

	open_write(fx);
	assert_int_equal(cache_write(fx->c, time_events_fn, NULL), 0);
	assert_int_equal(cache_read_begin(fx->c, &t), 0);
	for (i = 0; i < NTIME; i++) {
		ms = 777;
		if (cache_event_time(t, i + 1, &ms) != time_cases[i].rc)
			fail_msg("case %zu (%s): want %d", i,
			    time_cases[i].json, time_cases[i].rc);
		if (ms != time_cases[i].ms)
			fail_msg("case %zu (%s): %lld ms, want %lld", i,
			    time_cases[i].json, (long long)ms,
			    (long long)time_cases[i].ms);
	}
	assert_int_equal(cache_event_time(t, NTIME + 1, &ms), FS_ENOTFOUND);
	assert_int_equal(ms, 0);
	assert_int_equal(cache_event_time(t, 0, &ms), FS_ENOTFOUND);
	cache_read_end(t);
}


/*
 * A file cut short after the open check passed: the next read touches the
 * map past the end of the file, and cache_guard() turns the SIGBUS into
 * "the cache at DIR is damaged" and exit status 1.
 */
static int
guard_count(void *arg, const char *project, const char *flag,
    const void *rec, size_t len)
{
	volatile const char *p = rec;
	size_t i, *n = arg;

	(void)project;
	(void)flag;
	for (i = 0; i < len; i++)
		*n += (size_t)p[i];
	return 0;
}

static void
test_guard_truncated(void **state)
{
	struct fixture *fx = *state;
	char name[32], path[PATH_MAX + 16], err[512], msg[1024];
	struct cache_txn *t;
	struct cache *c;
	size_t i, n = 0;
	ssize_t got;
	int p[2], st;
	pid_t pid;

	open_write(fx);
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "flag_%04zu", i);
		RUN(fx->c, FLAG("A", name, "a record of some length here"));
	}
	cache_close(fx->c);
	fx->c = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", fx->dir);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		if (cache_open(&c, fx->dir, CACHE_RDONLY, err,
		    sizeof(err)) != 0 || cache_guard(c) != 0)
			_exit(3);
		if (truncate(path, 8192) != 0 || cache_read_begin(c, &t) != 0)
			_exit(4);
		(void)cache_flag_foreach(t, NULL, guard_count, &n);
		_exit(5);	/* read all past the end: no guard, no fault? */
	}
	assert_true(pid > 0);
	close(p[1]);
	got = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	msg[got > 0 ? got : 0] = '\0';
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st))
		fail_msg("the reader died of signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(msg, "is damaged"));
	assert_non_null(strstr(msg, fx->dir));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_create),
		T(test_rdonly_sees_data),
		T(test_rdonly_empty_dir),
		T(test_rdonly_no_meta),
		T(test_schema_mismatch),
		T(test_schema_kept),
		T(test_eacces),
		T(test_bad_args),
		T(test_flags),
		T(test_flag_add),
		T(test_flag_add_order),
		T(test_bad_keys),
		T(test_key_edges),
		T(test_links),
		T(test_link_update),
		T(test_issue_foreach),
		T(test_events),
		T(test_events_append_prune),
		T(test_events_numeric_order),
		T(test_status),
		T(test_write_nochange),
		T(test_write_error_aborts),
		T(test_walk_while_writing),
		T(test_map_growth),
		T(test_map_growth_one_txn),
		T(test_map_growth_error_mapped),
		T(test_reader_thread),
		T(test_release_pages_vs_resize),
		T(test_reader_process),
		T(test_writer_process),
		T(test_cursors),
		T(test_dead_letters),
		T(test_kv),
		T(test_kv_limits),
		T(test_owntags),
		T(test_plugin_bad_args),
		T(test_plugin_walk_while_writing),
		T(test_plugin_dbs_old_cache),
		T(test_rdonly_missing_old_db),
		T(test_event_time),
		T(test_guard_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
