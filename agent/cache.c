/*
 * cache.c - the LMDB cache.
 *
 * Remapping: mdb_env_set_mapsize() unmaps and remaps the file, so it must
 * never run while a transaction of this process is live (LMDB does not
 * check).  Every transaction is therefore registered in c->txns while it
 * runs, and a resize waits, under c->mtx, until that list is empty.  New
 * transactions wait while a resize is pending, except in a thread that
 * already holds one (it could not finish otherwise).  A resize asked for
 * by a thread that itself holds a live transaction fails with EDEADLK
 * instead of waiting for ever.
 */
#include "autoconf.h"

#include <sys/mman.h>

#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "cache.h"
#include "error.h"
#include "privdrop.h"

#define CACHE_KEY_MAX		511	/* LMDB's default maximum key size */
#define CACHE_GROW_MAX		10	/* map doublings per cache_write() */
#define CACHE_MAXDBS		16
#define CACHE_MAXREADERS	126
#define CACHE_MODE		0660
#define CACHE_DIR_MODE		0750
#define CACHE_DBI_NONE		((MDB_dbi)-1)	/* a late database not there */
#define CACHE_SEQ_LEN		8		/* big-endian seq in keys */
#define PATH_BUF		4096		/* STATE_DIR/data.mdb... */

size_t cache_test_initial_map;

struct cache_txn {
	struct cache		*c;
	MDB_txn			*txn;
	MDB_dbi			 meta, flags, links, issues, events, status;
	MDB_dbi			 cursors, dead, kv;
	MDB_dbi			 findings;
	MDB_dbi			 istatus;
	MDB_dbi			 owntags;
	int			 write;
	int			 dirty;	/* a put or del changed something */
	int			 full;	/* a put or del hit MDB_MAP_FULL */
	/* the event seq this transaction read or wrote last, stored once
	 * when it commits: a cold sync puts 100,000 events, each of which
	 * read and wrote it again */
	int			 seq_known;
	int			 seq_dirty;	/* seq is not stored yet */
	uint64_t		 seq;
	/* events are appended through one cursor a transaction: mdb_put()
	 * set up a cursor for each and searched for the last key again */
	MDB_cursor		*evcur;
	/* and new flag records through one: in the order a listing gives
	 * them (sorted), a cursor on the last page finds the place of the
	 * next without a search from the root */
	MDB_cursor		*flcur;
	MDB_cursor		*lkcur;	/* links, the same way */
	pthread_t		 owner;
	LIST_ENTRY(cache_txn)	 entry;
};

struct cache {
	MDB_env			*env;
	MDB_dbi			 meta, flags, links, issues, events, status;
	MDB_dbi			 cursors, dead, kv;
	MDB_dbi			 findings;
	MDB_dbi			 istatus;
	MDB_dbi			 owntags;
	int			 rdonly;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	int			 resizing;	/* resizes waiting or running */
	LIST_HEAD(, cache_txn)	 txns;		/* live transactions */
};

/* A key of string parts joined by single NULs, an event's seq, or a
 * dead letter's INSTANCE\0 and seq. */
struct key {
	char	buf[CACHE_KEY_MAX + 1];
	size_t	len;
};

/* What a walk hands each entry to; one of the callbacks is set. */
struct visit {
	cache_flag_cb	 flag;
	cache_link_cb	 link;
	cache_event_cb	 event;
	cache_status_cb	 status;
	cache_cursor_cb	 cursor;
	cache_dead_cb	 dead;
	cache_kv_cb	 kv;
	cache_finding_cb finding;
	int		 nparts;	/* finding: parts of each key */
	cache_istatus_cb istatus;
	cache_owntag_cb	 owntag;
	void		*arg;
};

typedef int (*walk_fn)(const MDB_val *k, const MDB_val *v,
    const struct visit *vis);

static void	guard_range(struct cache *c);

static const char nocache_fmt[] =
    "no cache in %s yet: run 'flagsync sync' first";

static void
err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
err_damaged(char *err, size_t errlen, const char *dir, const char *why)
{
	err_set(err, errlen, "the cache at %s is damaged: %s; rebuild it with "
	    "'flagsync rebuild' (see flagsync(8))", dir, why);
}

static void
err_open(char *err, size_t errlen, const char *dir, int rc)
{
	char hint[1024];

	if (rc == FS_EDAMAGED)
		err_damaged(err, errlen, dir, "LMDB cannot read it");
	else if (rc == FS_ENOTFOUND)
		err_set(err, errlen, nocache_fmt, dir);
	else if (rc == EACCES) {
		/* a group member must not be told to join the group */
		privdrop_denied_hint(dir, hint, sizeof(hint));
		err_set(err, errlen, "cannot open the cache in %s: %s", dir,
		    hint);
	} else
		err_set(err, errlen, "cannot open the cache in %s: %s", dir,
		    fs_strerror(rc));
}

/* Map bookkeeping: see the comment at the top. */

static int
map_held(struct cache *c)
{
	struct cache_txn *t;
	pthread_t self = pthread_self();

	LIST_FOREACH(t, &c->txns, entry)
		if (pthread_equal(t->owner, self))
			return 1;
	return 0;
}

static void
map_enter(struct cache *c, struct cache_txn *t)
{
	pthread_mutex_lock(&c->mtx);
	while (c->resizing > 0 && !map_held(c))
		pthread_cond_wait(&c->cond, &c->mtx);
	t->owner = pthread_self();
	LIST_INSERT_HEAD(&c->txns, t, entry);
	pthread_mutex_unlock(&c->mtx);
}

static void
map_leave(struct cache *c, struct cache_txn *t)
{
	pthread_mutex_lock(&c->mtx);
	LIST_REMOVE(t, entry);
	if (LIST_EMPTY(&c->txns))
		pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mtx);
}

/* With no transaction live: grow doubles the map, else adopt the size
 * another process grew it to (never shrinking a map grown here). */
static int
map_set(struct cache *c, int grow)
{
	MDB_envinfo info;
	size_t old;
	int rc;

	if ((rc = mdb_env_info(c->env, &info)) != 0)
		return rc;
	old = info.me_mapsize;
	if (!grow) {
		if ((rc = mdb_env_set_mapsize(c->env, 0)) != 0)
			return rc;
		if ((rc = mdb_env_info(c->env, &info)) != 0)
			return rc;
		if (info.me_mapsize >= old)
			return 0;
		return mdb_env_set_mapsize(c->env, old);
	}
	if (old > SIZE_MAX / 2)
		return MDB_MAP_FULL;
	return mdb_env_set_mapsize(c->env, old * 2);
}

static int
map_resize(struct cache *c, int grow)
{
	int rc;

	pthread_mutex_lock(&c->mtx);
	if (map_held(c)) {
		rc = EDEADLK;
		goto mutex_unlock;
	}
	c->resizing++;
	while (!LIST_EMPTY(&c->txns))
		pthread_cond_wait(&c->cond, &c->mtx);
	rc = map_set(c, grow);
	guard_range(c);
	c->resizing--;
	pthread_cond_broadcast(&c->cond);
mutex_unlock:
	pthread_mutex_unlock(&c->mtx);
	return rc;
}

/*
 * Damage.  LMDB reports a page of the wrong type or one it cannot find;
 * those, and our own decoding failures, are FS_EDAMAGED.  A damaged page
 * can also make LMDB (or a reader of a record) touch memory past the end
 * of the file or through a wild page number: cache_guard() turns that
 * fault into the same one-line message and exit status 1.  guard_depth
 * counts the LMDB calls this thread is in.
 */
static _Thread_local volatile sig_atomic_t guard_depth;
static volatile uintptr_t guard_start, guard_end;
static char guard_msg[PATH_BUF + 256];
static size_t guard_len;

static int
lmdb_rc(int rc)
{
	if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
	    rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		return FS_EDAMAGED;
	return rc;
}

/* Reads: after LMDB met a damaged page, the transaction is spoilt and
 * every later read says MDB_BAD_TXN, which is that damage too. */
static int
lmdb_read_rc(int rc)
{
	return rc == MDB_BAD_TXN ? FS_EDAMAGED : lmdb_rc(rc);
}

static int
cur_get(MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
	int rc;

	guard_depth++;
	rc = mdb_cursor_get(cur, k, v, op);
	guard_depth--;
	return lmdb_read_rc(rc);
}

/* Transactions. */

static void
txn_init(struct cache_txn *t, struct cache *c, int write)
{
	memset(t, 0, sizeof(*t));
	t->c = c;
	t->write = write;
	t->meta = c->meta;
	t->flags = c->flags;
	t->links = c->links;
	t->issues = c->issues;
	t->events = c->events;
	t->status = c->status;
	t->cursors = c->cursors;
	t->dead = c->dead;
	t->kv = c->kv;
	t->findings = c->findings;
	t->istatus = c->istatus;
	t->owntags = c->owntags;
}

/* Begins and registers t->txn, adopting once a map grown elsewhere. */
static int
txn_begin(struct cache_txn *t)
{
	unsigned int flags = t->write ? 0 : MDB_RDONLY;
	int rc, tries;

	/* LMDB closes a write txn's cursors with it */
	t->evcur = t->flcur = t->lkcur = NULL;
	for (tries = 0;; tries++) {
		map_enter(t->c, t);
		rc = mdb_txn_begin(t->c->env, NULL, flags, &t->txn);
		if (rc == 0)
			return 0;
		map_leave(t->c, t);
		t->txn = NULL;
		if (rc != MDB_MAP_RESIZED || tries > 0)
			return rc;
		if ((rc = map_resize(t->c, 0)) != 0)
			return rc;
	}
}

static void
txn_abort(struct cache_txn *t)
{
	mdb_txn_abort(t->txn);
	t->txn = NULL;
	map_leave(t->c, t);
}

static int
txn_commit(struct cache_txn *t)
{
	int rc;

	rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	map_leave(t->c, t);
	return rc;
}

/* Notes what a put or del did to t: a change, or a full map. */
static inline int
txn_mark(struct cache_txn *t, int rc)
{
	if (rc == 0)
		t->dirty = 1;
	else if (rc == MDB_MAP_FULL)
		t->full = 1;
	return rc;
}

static int
txn_put(struct cache_txn *t, MDB_dbi dbi, const struct key *k,
    const void *data, size_t len, unsigned int flags)
{
	MDB_val kv, dv;
	int rc;

	kv.mv_data = (void *)k->buf;
	kv.mv_size = k->len;
	dv.mv_data = (void *)data;
	dv.mv_size = len;
	guard_depth++;
	rc = lmdb_rc(mdb_put(t->txn, dbi, &kv, &dv, flags));
	guard_depth--;
	return txn_mark(t, rc);
}

/* Returns MDB_NOTFOUND when absent. */
static int
txn_del(struct cache_txn *t, MDB_dbi dbi, const struct key *k)
{
	MDB_val kv;
	int rc;

	kv.mv_data = (void *)k->buf;
	kv.mv_size = k->len;
	guard_depth++;
	rc = lmdb_rc(mdb_del(t->txn, dbi, &kv, NULL));
	guard_depth--;
	return txn_mark(t, rc);
}

/* Returns FS_ENOTFOUND when absent. */
static int
txn_get(struct cache_txn *t, MDB_dbi dbi, const struct key *k, MDB_val *v)
{
	MDB_val kv;
	int rc;

	if (dbi == CACHE_DBI_NONE)
		return FS_ENOTFOUND;
	kv.mv_data = (void *)k->buf;
	kv.mv_size = k->len;
	guard_depth++;
	rc = mdb_get(t->txn, dbi, &kv, v);
	guard_depth--;
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : lmdb_read_rc(rc);
}

/*
 * Writes only when the stored bytes differ, so a no-op stays clean.  A
 * new key costs one search, not a get and a put: MDB_NOOVERWRITE hands
 * back what is stored when there is something.
 */
static int
txn_put_changed(struct cache_txn *t, MDB_dbi dbi, const struct key *k,
    const void *data, size_t len)
{
	MDB_val kv, dv;
	int rc;

	if (dbi == CACHE_DBI_NONE)
		return txn_put(t, dbi, k, data, len, 0);
	kv.mv_data = (void *)k->buf;
	kv.mv_size = k->len;
	dv.mv_data = (void *)data;
	dv.mv_size = len;
	guard_depth++;
	rc = mdb_put(t->txn, dbi, &kv, &dv, MDB_NOOVERWRITE);
	guard_depth--;
	if (rc == MDB_KEYEXIST) {
		if (dv.mv_size == len &&
		    (len == 0 || memcmp(dv.mv_data, data, len) == 0))
			return 0;
		return txn_put(t, dbi, k, data, len, 0);
	}
	rc = lmdb_read_rc(rc);
	return txn_mark(t, rc);
}

static int
txn_check(const struct cache_txn *t, int write)
{
	if (t == NULL || t->txn == NULL)
		return EINVAL;
	if (write && !t->write)
		return EACCES;
	return 0;
}

/* Keys. */

/*
 * The one way to build a key: every append checks the room left before
 * it writes a byte.  k->len never exceeds CACHE_KEY_MAX, so the room,
 * CACHE_KEY_MAX - k->len, cannot wrap.
 */
static void
key_reset(struct key *k)
{
	k->len = 0;
}

static int
key_put(struct key *k, const void *p, size_t n)
{
	if (n > CACHE_KEY_MAX - k->len)
		return EINVAL;
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return 0;
}

/* A non-empty string part; strnlen bounds the scan of a huge one. */
static int
key_put_str(struct key *k, const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0')
		return EINVAL;
	n = strnlen(s, CACHE_KEY_MAX + 1);
	return key_put(k, s, n);
}

/* Joins n non-empty strings with single NULs; sep adds a trailing NUL
 * to make a prefix that matches the parts exactly. */
static int
key_join(struct key *k, const char *const *parts, int n, int sep)
{
	int i, rc;

	key_reset(k);
	for (i = 0; i < n; i++) {
		if (i > 0 && (rc = key_put(k, "", 1)) != 0)
			return rc;
		if ((rc = key_put_str(k, parts[i])) != 0)
			return rc;
	}
	if (sep)
		return key_put(k, "", 1);
	return 0;
}

static int
key_join2(struct key *k, const char *a, const char *b)
{
	const char *parts[2];

	parts[0] = a;
	parts[1] = b;
	return key_join(k, parts, 2, 0);
}

static int
key_join3(struct key *k, const char *a, const char *b, const char *c)
{
	const char *parts[3];

	parts[0] = a;
	parts[1] = b;
	parts[2] = c;
	return key_join(k, parts, 3, 0);
}

static void
key_seq(struct key *k, uint64_t seq)
{
	unsigned char b[CACHE_SEQ_LEN];
	int i;

	for (i = CACHE_SEQ_LEN - 1; i >= 0; i--) {
		b[i] = (unsigned char)(seq & 0xff);
		seq >>= 8;
	}
	key_reset(k);
	(void)key_put(k, b, sizeof(b));	/* 8 of 511 bytes: always room */
}

static int
key_seq_decode(const MDB_val *v, uint64_t *seq)
{
	const unsigned char *p = v->mv_data;
	int i;

	if (v->mv_size != 8)
		return FS_EDAMAGED;
	*seq = 0;
	for (i = 0; i < 8; i++)
		*seq = *seq << 8 | p[i];
	return 0;
}

/* Copies a stored key into k as n NUL-terminated, non-empty parts. */
static int
key_split(struct key *k, const MDB_val *v, const char **parts, int n)
{
	size_t i;
	int np;

	key_reset(k);
	if (v->mv_size == 0 || key_put(k, v->mv_data, v->mv_size) != 0)
		return FS_EDAMAGED;
	k->buf[k->len] = '\0';	/* buf has room for it past the max */
	parts[0] = k->buf;
	np = 1;
	for (i = 0; i < k->len; i++) {
		if (k->buf[i] != '\0')
			continue;
		if (np == n)
			return FS_EDAMAGED;
		parts[np++] = k->buf + i + 1;
	}
	for (i = 0; i < (size_t)np; i++)
		if (parts[i][0] == '\0')
			return FS_EDAMAGED;
	return np == n ? 0 : MDB_CORRUPTED;
}

/* INSTANCE\0 then the big-endian seq: an instance's letters sort by
 * number, and those of "a" never run into those of "ab". */
static int
key_dead(struct key *k, const char *instance, uint64_t seq)
{
	struct key s;
	int rc;

	if ((rc = key_join(k, &instance, 1, 1)) != 0)
		return rc;
	key_seq(&s, seq);
	return key_put(k, s.buf, s.len);
}

/* Copies a stored dead letter key into k, *instance NUL-terminated
 * there; the seq bytes may hold NULs, so key_split() cannot do it. */
static int
key_dead_split(struct key *k, const MDB_val *v, const char **instance,
    uint64_t *seq)
{
	MDB_val sv;
	size_t n;

	if (v->mv_size < CACHE_SEQ_LEN + 2 || v->mv_size > CACHE_KEY_MAX)
		return FS_EDAMAGED;
	n = v->mv_size - CACHE_SEQ_LEN - 1;
	key_reset(k);
	if (key_put(k, v->mv_data, n + 1) != 0)
		return FS_EDAMAGED;
	k->len = n;	/* the instance, its NUL kept as terminator */
	if (k->buf[n] != '\0' || strlen(k->buf) != n)
		return FS_EDAMAGED;
	*instance = k->buf;
	sv.mv_data = (char *)v->mv_data + n + 1;
	sv.mv_size = CACHE_SEQ_LEN;
	return key_seq_decode(&sv, seq);
}

/* INSTANCE\0KEY, the kv key within its own limit. */
static int
key_kv(struct key *k, const char *instance, const char *key)
{
	if (key == NULL ||
	    strnlen(key, CACHE_KV_KEY_MAX + 1) > CACHE_KV_KEY_MAX)
		return EINVAL;
	return key_join2(k, instance, key);
}

static int
val_u32(const MDB_val *v, uint32_t *u)
{
	if (v->mv_size != sizeof(*u))
		return FS_EDAMAGED;
	memcpy(u, v->mv_data, sizeof(*u));
	return 0;
}

static int
val_u64(const MDB_val *v, uint64_t *u)
{
	if (v->mv_size != sizeof(*u))
		return FS_EDAMAGED;
	memcpy(u, v->mv_data, sizeof(*u));
	return 0;
}

/* Walks. */

static int
key_is(const MDB_val *v, const struct key *k)
{
	return v->mv_size == k->len && memcmp(v->mv_data, k->buf, k->len) == 0;
}

/*
 * Moves on from the entry whose key is in last.  In a write transaction
 * the callback may have changed the database, so seek again from the key
 * rather than trust the cursor.
 */
static int
walk_step(MDB_cursor *cur, int reseek, int reverse, const struct key *last,
    MDB_val *k, MDB_val *v)
{
	MDB_cursor_op step = reverse ? MDB_PREV : MDB_NEXT;
	int rc;

	if (!reseek)
		return cur_get(cur, k, v, step);
	k->mv_data = (void *)last->buf;
	k->mv_size = last->len;
	rc = cur_get(cur, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND && reverse)
		return cur_get(cur, k, v, MDB_LAST);
	if (rc != 0 || (!reverse && !key_is(k, last)))
		return rc;
	return cur_get(cur, k, v, step);
}

/*
 * Calls fn for each entry of dbi from the first key >= from (NULL: the
 * first, or with reverse the last, going down) while the key starts with
 * the first plen bytes of from.  A non-zero return from fn ends the walk
 * and is returned.
 */
static int
walk(struct cache_txn *t, MDB_dbi dbi, const struct key *from, size_t plen,
    int reverse, walk_fn fn, const struct visit *vis)
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct key last;
	int rc;

	if (dbi == CACHE_DBI_NONE)
		return 0;
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
		return rc;
	if (reverse) {
		rc = cur_get(cur, &k, &v, MDB_LAST);
	} else if (from != NULL) {
		k.mv_data = (void *)from->buf;
		k.mv_size = from->len;
		rc = cur_get(cur, &k, &v, MDB_SET_RANGE);
	} else
		rc = cur_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (plen > 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, from->buf, plen) != 0))
			break;
		key_reset(&last);
		if (key_put(&last, k.mv_data, k.mv_size) != 0) {
			rc = FS_EDAMAGED;
			goto cursor_close;
		}
		if ((rc = fn(&k, &v, vis)) != 0)
			goto cursor_close;
		rc = walk_step(cur, t->write, reverse, &last, &k, &v);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
cursor_close:
	mdb_cursor_close(cur);
	return rc;
}

static int
visit_flag(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[2];
	int rc;

	if ((rc = key_split(&buf, k, p, 2)) != 0)
		return rc;
	return vis->flag(vis->arg, p[0], p[1], v->mv_data, v->mv_size);
}

static int
visit_link(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[3];
	uint32_t mask;
	int rc;

	if ((rc = key_split(&buf, k, p, 3)) != 0)
		return rc;
	if ((rc = val_u32(v, &mask)) != 0)
		return rc;
	return vis->link(vis->arg, p[0], p[1], p[2], mask);
}

/* An issues entry: ISSUE\0PROJECT\0FLAG. */
static int
visit_issue_link(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[3];
	uint32_t mask;
	int rc;

	if ((rc = key_split(&buf, k, p, 3)) != 0)
		return rc;
	if ((rc = val_u32(v, &mask)) != 0)
		return rc;
	return vis->link(vis->arg, p[1], p[2], p[0], mask);
}

static int
visit_event(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	uint64_t seq;
	int rc;

	if ((rc = key_seq_decode(k, &seq)) != 0)
		return rc;
	return vis->event(vis->arg, seq, v->mv_data, v->mv_size);
}

static int
visit_status(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[1];
	int rc;

	if ((rc = key_split(&buf, k, p, 1)) != 0)
		return rc;
	return vis->status(vis->arg, p[0], v->mv_data, v->mv_size);
}

static int
visit_cursor(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[1];
	uint64_t seq;
	int rc;

	if ((rc = key_split(&buf, k, p, 1)) != 0)
		return rc;
	if ((rc = val_u64(v, &seq)) != 0)
		return rc;
	return vis->cursor(vis->arg, p[0], seq);
}

static int
visit_dead(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *instance;
	uint64_t seq;
	int rc;

	if ((rc = key_dead_split(&buf, k, &instance, &seq)) != 0)
		return rc;
	return vis->dead(vis->arg, instance, seq, v->mv_data, v->mv_size);
}

/* A kv entry, INSTANCE\0KEY, seen from within its instance. */
static int
visit_kv(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[2];
	int rc;

	if ((rc = key_split(&buf, k, p, 2)) != 0)
		return rc;
	return vis->kv(vis->arg, p[1], v->mv_data, v->mv_size);
}

/* An issue status record, keyed by the issue alone. */
static int
visit_istatus(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[1];
	int rc;

	if ((rc = key_split(&buf, k, p, 1)) != 0)
		return rc;
	return vis->istatus(vis->arg, p[0], v->mv_data, v->mv_size);
}

/* A tag flagsync wrote, PROJECT\0FLAG\0TAG -> who wrote it. */
static int
visit_owntag(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[3];
	char by[CACHE_OWNTAG_BY_MAX + 1];
	size_t n;
	int rc;

	if ((rc = key_split(&buf, k, p, 3)) != 0)
		return rc;
	n = v->mv_size < CACHE_OWNTAG_BY_MAX ? v->mv_size :
	    CACHE_OWNTAG_BY_MAX;
	memcpy(by, v->mv_data, n);
	by[n] = '\0';
	return vis->owntag(vis->arg, p[0], p[1], p[2], by);
}

/* Counts the entries into the uint64_t at vis->arg. */
static int
visit_count(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	uint64_t *n = vis->arg;

	(void)k;
	(void)v;
	(*n)++;
	return 0;
}

/* Opening. */

static int
open_path(char *path, size_t size, const char *dir, const char *file)
{
	int n;

	n = snprintf(path, size, "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= size)
		return ENAMETOOLONG;
	return 0;
}

/*
 * The two meta pages of data.mdb, checked before LMDB maps the file: a
 * truncated file or a garbage root page number would make LMDB read past
 * the end of the map (SIGBUS) or through a wild pointer.  The layout is
 * LMDB 0.9's on a 64-bit host (lmdb/mdb.c: MDB_page, MDB_meta, MDB_db).
 */
#define META_MAGIC	0xBEEFC0DEu
#define META_VERSION	1u
#define META_P_META	0x08u
#define META_HDR	16		/* page header: pgno, flags, bounds */
#define META_DBS	24		/* mm_dbs[2] within the meta */
#define META_DB_SIZE	48		/* one MDB_db */
#define META_LAST_PG	120		/* mm_last_pg within the meta */
#define META_TXNID	128
#define META_SIZE	136
#define META_INVALID	UINT64_MAX	/* P_INVALID: an empty tree */
#define META_TRIES	3		/* reads racing a commit may be torn */

struct meta {
	uint32_t magic, version, psize;
	uint16_t flags;
	uint64_t pgno, last_pg, txnid, root[2];
	uint16_t depth[2];
};

static uint64_t
meta_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
meta_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
meta_parse(const unsigned char *pg, struct meta *m)
{
	const unsigned char *mm = pg + META_HDR, *db;
	int i;

	m->pgno = meta_u64(pg);
	memcpy(&m->flags, pg + 10, sizeof(m->flags));
	m->magic = meta_u32(mm);
	m->version = meta_u32(mm + 4);
	for (i = 0; i < 2; i++) {
		db = mm + META_DBS + i * META_DB_SIZE;
		if (i == 0)
			m->psize = meta_u32(db);	/* free DB's md_pad */
		memcpy(&m->depth[i], db + 6, sizeof(m->depth[i]));
		m->root[i] = meta_u64(db + 40);
	}
	m->last_pg = meta_u64(mm + META_LAST_PG);
	m->txnid = meta_u64(mm + META_TXNID);
}

/* One meta page against the file; why says what is wrong. */
static int
meta_check(const struct meta *m, uint64_t want_pgno, uint64_t pages,
    char *why, size_t len)
{
	int i;

	if (m->magic != META_MAGIC || m->version != META_VERSION ||
	    m->pgno != want_pgno || !(m->flags & META_P_META)) {
		snprintf(why, len, "meta page %llu is not an LMDB meta page",
		    (unsigned long long)want_pgno);
		return FS_EDAMAGED;
	}
	if (m->last_pg < 1 || m->last_pg >= pages) {
		snprintf(why, len, "meta page %llu names page %llu as the "
		    "last, but the file holds %llu pages (truncated?)",
		    (unsigned long long)want_pgno,
		    (unsigned long long)m->last_pg, (unsigned long long)pages);
		return FS_EDAMAGED;
	}
	for (i = 0; i < 2; i++) {
		if (m->root[i] == META_INVALID)
			continue;
		if (m->root[i] < 2 || m->root[i] > m->last_pg ||
		    m->depth[i] == 0 || m->depth[i] > 32) {
			snprintf(why, len, "meta page %llu has a root page "
			    "%llu outside the file's %llu pages",
			    (unsigned long long)want_pgno,
			    (unsigned long long)m->root[i],
			    (unsigned long long)m->last_pg + 1);
			return FS_EDAMAGED;
		}
	}
	return 0;
}

static int
meta_read(int fd, off_t off, unsigned char *pg, char *why, size_t len)
{
	ssize_t n;

	if ((n = pread(fd, pg, META_HDR + META_SIZE, off)) == -1)
		return errno;
	if (n != META_HDR + META_SIZE) {
		snprintf(why, len, "the file ends inside its meta pages");
		return FS_EDAMAGED;
	}
	return 0;
}

static int
open_check_once(int fd, char *why, size_t len)
{
	unsigned char pg[META_HDR + META_SIZE];
	struct meta m[2];
	struct stat st;
	uint64_t pages;
	int i, rc;

	if (fstat(fd, &st) == -1)
		return errno;
	if ((rc = meta_read(fd, 0, pg, why, len)) != 0)
		return rc;
	meta_parse(pg, &m[0]);
	if (m[0].psize < 512 || m[0].psize > 65536 ||
	    (m[0].psize & (m[0].psize - 1)) != 0) {
		snprintf(why, len, "meta page 0 is not an LMDB meta page");
		return FS_EDAMAGED;
	}
	if ((rc = meta_read(fd, (off_t)m[0].psize, pg, why, len)) != 0)
		return rc;
	meta_parse(pg, &m[1]);
	pages = (uint64_t)st.st_size / m[0].psize;
	for (i = 0; i < 2; i++)
		if ((rc = meta_check(&m[i], (uint64_t)i, pages, why, len)) != 0)
			return rc;
	if (m[1].psize != m[0].psize) {
		snprintf(why, len, "its two meta pages disagree on the page "
		    "size");
		return FS_EDAMAGED;
	}
	return 0;
}

/*
 * Checks data.mdb in dir, if there is one.  A writer committing while we
 * read can tear a meta page, so a failure is believed only when it
 * repeats.
 */
static int
open_check_file(const char *dir, char *err, size_t errlen)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	char path[PATH_BUF], why[256];
	int fd, rc, tries;

	if ((rc = open_path(path, sizeof(path), dir, "data.mdb")) != 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : errno;
	for (tries = 0; tries < META_TRIES; tries++) {
		why[0] = '\0';
		if ((rc = open_check_once(fd, why, sizeof(why))) !=
		    FS_EDAMAGED)
			break;
		nanosleep(&pause, NULL);
	}
	close(fd);
	if (rc == FS_EDAMAGED)
		err_damaged(err, errlen, dir, why);
	return rc;
}

/*
 * Creates the directory (write mode) or checks that there is a cache to
 * read, without creating anything; sets *map to the initial map size,
 * never below the size of an existing data.mdb.
 */
static int
open_prepare(const char *dir, int rdonly, size_t *map)
{
	char path[PATH_BUF];
	struct stat st;
	long page;
	int rc;

	*map = cache_test_initial_map ? cache_test_initial_map :
	    CACHE_INITIAL_MAP;
	if (!rdonly && mkdir(dir, CACHE_DIR_MODE) == -1 && errno != EEXIST)
		return errno;
	if ((rc = open_path(path, sizeof(path), dir, "data.mdb")) != 0)
		return rc;
	if (stat(path, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return rdonly ? FS_ENOTFOUND : 0;
		return errno;
	}
	if ((page = sysconf(_SC_PAGESIZE)) <= 0)
		page = 4096;
	if (st.st_size > 0 && (uintmax_t)st.st_size > *map) {
		if ((uintmax_t)st.st_size > SIZE_MAX - (size_t)page)
			return EFBIG;
		*map = ((size_t)st.st_size + (size_t)page - 1) /
		    (size_t)page * (size_t)page;
	}
	return 0;
}

/*
 * Frees reader slots left by killed processes: they pin old pages and
 * make the file grow (lmdb.h, caveats).  The writer does it on open,
 * before growing the map, and once a cycle (cache_readers_clear()).
 */
static int
readers_clear(struct cache *c)
{
	int dead;

	return mdb_reader_check(c->env, &dead);
}

int
cache_readers_clear(struct cache *c, int *dead)
{
	int n = 0, rc;

	if (c == NULL)
		return EINVAL;
	rc = mdb_reader_check(c->env, &n);
	if (dead != NULL)
		*dead = n;
	return rc;
}

/*
 * Queries by members of the service's group need read access to data.mdb
 * and write access to lock.mdb.  LMDB creates them CACHE_MODE minus the
 * umask of whoever opened first (an admin's `sync` with umask 022, say),
 * so the writer puts group access back each time it opens.  The state
 * directory's mode still decides who gets in.
 */
static void
open_group_access(const char *dir)
{
	/* The group reads data.mdb and writes lock.mdb alone: LMDB readers
	 * need to write their slot, nothing else. */
	static const char *const names[] = { "data.mdb", "lock.mdb" };
	static const mode_t modes[] = { 0640, 0660 };
	char path[PATH_BUF];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (open_path(path, sizeof(path), dir, names[i]) != 0 ||
		    stat(path, &st) != 0 || st.st_uid != geteuid() ||
		    (st.st_mode & 07777) == modes[i])
			continue;
		(void)chmod(path, modes[i]);
	}
}

static int
open_env(struct cache *c, const char *dir, size_t map)
{
	unsigned int flags = MDB_NOTLS | MDB_NORDAHEAD;
	int rc;

	if (c->rdonly)
		flags |= MDB_RDONLY;
	if ((rc = mdb_env_create(&c->env)) != 0)
		return rc;
	if ((rc = mdb_env_set_maxdbs(c->env, CACHE_MAXDBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(c->env, CACHE_MAXREADERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(c->env, map)) != 0 ||
	    (rc = lmdb_rc(mdb_env_open(c->env, dir, flags, CACHE_MODE))) != 0)
		goto env_close;
	if (!c->rdonly && (rc = readers_clear(c)) != 0)
		goto env_close;
	if (!c->rdonly)
		open_group_access(dir);
	return 0;
env_close:
	mdb_env_close(c->env);
	c->env = NULL;
	return rc;
}

/* Checks the schema in an open meta database; *found says whether the
 * cache had one at all. */
static int
open_schema(struct cache_txn *t, const char *dir, int *found, char *err,
    size_t errlen)
{
	struct key k;
	MDB_val v;
	uint32_t schema;
	int rc;

	key_reset(&k);
	(void)key_put(&k, "schema", strlen("schema"));
	rc = txn_get(t, t->meta, &k, &v);
	*found = rc == 0;
	if (rc == FS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (val_u32(&v, &schema) != 0) {
		err_set(err, errlen, "the cache in %s has an unreadable schema "
		    "number; this flagsync uses schema %u", dir,
		    (unsigned)CACHE_SCHEMA);
		return FS_ESCHEMA;
	}
	if (schema != CACHE_SCHEMA) {
		err_set(err, errlen, "the cache in %s has schema %u; this "
		    "flagsync uses schema %u", dir, (unsigned)schema,
		    (unsigned)CACHE_SCHEMA);
		return FS_ESCHEMA;
	}
	return 0;
}

/*
 * The plugin databases came after schema 1 was first written: a read-only
 * open of a cache made before them marks them absent, and reads see them
 * empty.  A write open creates them.
 */
static int
open_dbi_late(struct cache_txn *t, const char *name, unsigned int flags,
    MDB_dbi *dbi)
{
	int rc;

	rc = mdb_dbi_open(t->txn, name, flags, dbi);
	if (rc == MDB_NOTFOUND && t->c->rdonly) {
		*dbi = CACHE_DBI_NONE;
		rc = 0;
	}
	return rc;
}

static int
open_dbis(struct cache_txn *t, unsigned int flags)
{
	int rc;

	if ((rc = lmdb_rc(mdb_dbi_open(t->txn, "flags", flags,
	    &t->c->flags))) != 0 ||
	    (rc = mdb_dbi_open(t->txn, "links", flags, &t->c->links)) != 0 ||
	    (rc = mdb_dbi_open(t->txn, "issues", flags, &t->c->issues)) != 0 ||
	    (rc = mdb_dbi_open(t->txn, "events", flags, &t->c->events)) != 0 ||
	    (rc = mdb_dbi_open(t->txn, "status", flags, &t->c->status)) != 0)
		return rc;
	if ((rc = open_dbi_late(t, "cursors", flags, &t->c->cursors)) != 0 ||
	    (rc = open_dbi_late(t, "dead", flags, &t->c->dead)) != 0 ||
	    (rc = open_dbi_late(t, "kv", flags, &t->c->kv)) != 0 ||
	    (rc = open_dbi_late(t, "findings", flags, &t->c->findings)) != 0)
		return rc;
	if ((rc = open_dbi_late(t, "istatus", flags, &t->c->istatus)) != 0 ||
	    (rc = open_dbi_late(t, "owntags", flags, &t->c->owntags)) != 0)
		return rc;
	return 0;
}

/*
 * Opens the named databases in one transaction (creating them and
 * writing the schema in write mode) and commits it even when nothing
 * changed: the handles survive only a commit.
 */
static int
open_dbis_txn(struct cache *c, const char *dir, char *err, size_t errlen)
{
	struct cache_txn t;
	struct key k;
	unsigned int flags = c->rdonly ? 0 : MDB_CREATE;
	uint32_t schema = CACHE_SCHEMA;
	int rc, found;

	txn_init(&t, c, !c->rdonly);
	if ((rc = txn_begin(&t)) != 0)
		goto fail;
	rc = mdb_dbi_open(t.txn, "meta", flags, &c->meta);
	if (rc == MDB_NOTFOUND)
		rc = FS_ENOTFOUND;
	if (rc != 0)
		goto txn_abort;
	t.meta = c->meta;
	if ((rc = open_schema(&t, dir, &found, err, errlen)) != 0)
		goto txn_abort;
	if (!found && c->rdonly) {
		rc = FS_ENOTFOUND;
		goto txn_abort;
	}
	if ((rc = open_dbis(&t, flags)) != 0)
		goto txn_abort;
	if (!found) {
		key_reset(&k);
		(void)key_put(&k, "schema", strlen("schema"));
		rc = txn_put(&t, t.meta, &k, &schema, sizeof(schema), 0);
		if (rc != 0)
			goto txn_abort;
	}
	if ((rc = txn_commit(&t)) != 0)
		goto fail;
	return 0;
txn_abort:
	txn_abort(&t);
fail:
	if (rc == FS_ESCHEMA)
		return rc;	/* open_schema() said which schemas */
	if (rc == MDB_NOTFOUND && c->rdonly)
		err_set(err, errlen, "the cache in %s is incomplete: a "
		    "database is missing", dir);
	else
		err_open(err, errlen, dir, rc);
	return rc;
}

int
cache_open(struct cache **out, const char *dir, int flags, char *err,
    size_t errlen)
{
	struct cache *c;
	size_t map;
	int rc;

	err_set(err, errlen, "%s", "");
	if (out == NULL || dir == NULL || dir[0] == '\0') {
		err_set(err, errlen, "cannot open the cache: no directory");
		return EINVAL;
	}
	*out = NULL;
	if ((rc = open_prepare(dir, flags & CACHE_RDONLY, &map)) != 0) {
		err_open(err, errlen, dir, rc);
		return rc;
	}
	if ((rc = open_check_file(dir, err, errlen)) != 0) {
		if (rc != FS_EDAMAGED)
			err_open(err, errlen, dir, rc);
		return rc;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		err_open(err, errlen, dir, ENOMEM);
		return ENOMEM;
	}
	c->rdonly = (flags & CACHE_RDONLY) != 0;
	LIST_INIT(&c->txns);
	if ((rc = pthread_mutex_init(&c->mtx, NULL)) != 0) {
		err_open(err, errlen, dir, rc);
		goto cache_free;
	}
	if ((rc = pthread_cond_init(&c->cond, NULL)) != 0) {
		err_open(err, errlen, dir, rc);
		goto mutex_destroy;
	}
	if ((rc = open_env(c, dir, map)) != 0) {
		err_open(err, errlen, dir, rc);
		goto cond_destroy;
	}
	if ((rc = open_dbis_txn(c, dir, err, errlen)) != 0)
		goto env_close;
	*out = c;
	return 0;
env_close:
	mdb_env_close(c->env);
cond_destroy:
	pthread_cond_destroy(&c->cond);
mutex_destroy:
	pthread_mutex_destroy(&c->mtx);
cache_free:
	free(c);
	return rc;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	mdb_env_close(c->env);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

int
cache_read_begin(struct cache *c, struct cache_txn **out)
{
	struct cache_txn *t;
	int rc;

	if (out == NULL)
		return EINVAL;
	*out = NULL;
	if (c == NULL)
		return EINVAL;
	if ((t = malloc(sizeof(*t))) == NULL)
		return ENOMEM;
	txn_init(t, c, 0);
	if ((rc = txn_begin(t)) != 0) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
cache_read_end(struct cache_txn *t)
{
	if (t == NULL || t->write)
		return;
	if (t->txn != NULL)
		txn_abort(t);
	free(t);
}

static void key_meta_seq(struct key *k);

/* The last event seq cache_event_put() gave, stored with the events. */
static int
txn_flush_seq(struct cache_txn *t)
{
	struct key k;
	int rc;

	if (!t->seq_dirty)
		return 0;
	key_meta_seq(&k);
	if ((rc = txn_put(t, t->meta, &k, &t->seq, sizeof(t->seq), 0)) != 0)
		return rc;
	t->seq_dirty = 0;
	return 0;
}

/* One attempt; MDB_MAP_FULL means the map must grow first. */
static int
write_once(struct cache *c, cache_write_fn fn, void *arg)
{
	struct cache_txn t;
	int rc;

	txn_init(&t, c, 1);
	if ((rc = txn_begin(&t)) != 0)
		return rc;
	rc = fn(&t, arg);
	if (rc == 0)
		rc = txn_flush_seq(&t);
	if (t.full)
		rc = MDB_MAP_FULL;
	if (rc != 0 || !t.dirty)
		goto txn_abort;
	return txn_commit(&t);
txn_abort:
	txn_abort(&t);
	return rc;
}

int
cache_write(struct cache *c, cache_write_fn fn, void *arg)
{
	int grown, rc;

	if (c == NULL || fn == NULL)
		return EINVAL;
	if (c->rdonly)
		return EACCES;
	for (grown = 0;; grown++) {
		rc = write_once(c, fn, arg);
		if (rc != MDB_MAP_FULL || grown == CACHE_GROW_MAX)
			return rc;
		if ((rc = readers_clear(c)) != 0 ||
		    (rc = map_resize(c, 1)) != 0)
			return rc;
	}
}

/*
 * LMDB does not tell where it mapped the file (me_mapaddr is only set
 * with MDB_FIXEDMAP), so find the mapping of data.mdb in /proc/self/maps;
 * it moves when the map grows, so look each time, with no resize running
 * (the caller is registered, or holds the resize).
 */
static int
map_range(struct cache *c, uintptr_t *start, uintptr_t *end)
{
	const char *dir;
	unsigned long s, e;
	char line[4352], *path, *name;
	size_t plen;
	FILE *f;
	int rc = FS_ENOTFOUND;

	/* /proc/self/maps names the file by its resolved path */
	if (mdb_env_get_path(c->env, &dir) != 0 ||
	    (path = realpath(dir, NULL)) == NULL)
		return FS_ENOTFOUND;
	plen = strlen(path);
	if ((f = fopen("/proc/self/maps", "re")) == NULL)
		goto path_free;
	while (rc != 0 && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((name = strchr(line, '/')) == NULL ||
		    strncmp(name, path, plen) != 0 ||
		    strcmp(name + plen, "/data.mdb") != 0 ||
		    sscanf(line, "%lx-%lx", &s, &e) != 2)
			continue;
		*start = s;
		*end = e;
		rc = 0;
	}
	fclose(f);
path_free:
	free(path);
	return rc;
}

/*
 * Registered like a transaction, so no resize can unmap the range
 * between the lookup and the madvise() (MADV_DONTNEED on whatever took
 * its place would zero that memory).
 */
void
cache_release_pages(struct cache *c)
{
	struct cache_txn t;
	uintptr_t start, end;

	if (c == NULL)
		return;
	txn_init(&t, c, 0);
	map_enter(c, &t);
	if (map_range(c, &start, &end) == 0)
		(void)madvise((void *)start, end - start, MADV_DONTNEED);
	map_leave(c, &t);
}

/* SIGSEGV and SIGBUS: a fault in LMDB or in the map is the cache's. */
static void
guard_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)sig;
	(void)ctx;
	if (guard_depth > 0 || (a >= guard_start && a < guard_end)) {
		if (write(STDERR_FILENO, guard_msg, guard_len) < 0) {
			/* nothing more to do: exit all the same */
		}
		_exit(1);
	}
	/* SA_RESETHAND restored the default: the fault repeats and kills */
}

/* Called with no resize running. */
static void
guard_range(struct cache *c)
{
	uintptr_t start = 0, end = 0;

	if (guard_len == 0)
		return;
	(void)map_range(c, &start, &end);
	guard_start = start;
	guard_end = end;
}

int
cache_guard(struct cache *c)
{
	struct cache_txn t;
	struct sigaction sa;
	const char *dir = cache_dir(c);
	int n;

	n = snprintf(guard_msg, sizeof(guard_msg), "flagsync: the cache at %s "
	    "is damaged: reading it faulted; rebuild it with 'flagsync "
	    "rebuild' (see flagsync(8))\n", dir);
	if (n < 0 || (size_t)n >= sizeof(guard_msg))
		return ENAMETOOLONG;
	guard_len = (size_t)n;
	txn_init(&t, c, 0);
	map_enter(c, &t);
	guard_range(c);
	map_leave(c, &t);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) == -1 ||
	    sigaction(SIGBUS, &sa, NULL) == -1)
		return errno;
	return 0;
}

const char *
cache_dir(struct cache *c)
{
	const char *dir;

	if (c == NULL || mdb_env_get_path(c->env, &dir) != 0 || dir == NULL)
		return "the state directory";
	return dir;
}

int
cache_info(struct cache *c, size_t *mapsize, uint64_t *last_txnid)
{
	struct cache_txn t;
	MDB_envinfo info;
	int rc;

	if (c == NULL)
		return EINVAL;
	/* Registered like a transaction: mdb_env_info() reads the map. */
	txn_init(&t, c, 0);
	map_enter(c, &t);
	rc = mdb_env_info(c->env, &info);
	map_leave(c, &t);
	if (rc != 0)
		return rc;
	if (mapsize != NULL)
		*mapsize = info.me_mapsize;
	if (last_txnid != NULL)
		*last_txnid = info.me_last_txnid;
	return 0;
}

/* Flags. */

int
cache_flag_get(struct cache_txn *t, const char *project, const char *flag,
    const void **rec, size_t *len)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (rec == NULL || len == NULL)
		return EINVAL;
	if ((rc = key_join2(&k, project, flag)) != 0)
		return rc;
	if ((rc = txn_get(t, t->flags, &k, &v)) != 0)
		return rc;
	*rec = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
cache_flag_put(struct cache_txn *t, const char *project, const char *flag,
    const void *rec, size_t len)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (rec == NULL && len > 0)
		return EINVAL;
	if ((rc = key_join2(&k, project, flag)) != 0)
		return rc;
	return txn_put_changed(t, t->flags, &k, rec, len);
}

int
cache_flag_add(struct cache_txn *t, const char *project, const char *flag,
    const void *rec, size_t len, const void **old, size_t *oldlen)
{
	struct key k;
	MDB_val kv, dv;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (rec == NULL || old == NULL || oldlen == NULL)
		return EINVAL;
	if ((rc = key_join2(&k, project, flag)) != 0)
		return rc;
	kv.mv_data = (void *)k.buf;
	kv.mv_size = k.len;
	dv.mv_data = (void *)rec;
	dv.mv_size = len;
	if (t->flcur == NULL &&
	    (rc = lmdb_rc(mdb_cursor_open(t->txn, t->flags, &t->flcur))) != 0)
		return rc;
	guard_depth++;
	rc = mdb_cursor_put(t->flcur, &kv, &dv, MDB_NOOVERWRITE);
	guard_depth--;
	if (rc == MDB_KEYEXIST) {
		*old = dv.mv_data;
		*oldlen = dv.mv_size;
		return EEXIST;
	}
	*old = NULL;
	*oldlen = 0;
	rc = lmdb_read_rc(rc);
	return txn_mark(t, rc);
}

/* FS_ENOTFOUND when there was no such flag. */
int
cache_flag_del(struct cache_txn *t, const char *project, const char *flag)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_join2(&k, project, flag)) != 0)
		return rc;
	rc = txn_del(t, t->flags, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

int
cache_flag_foreach(struct cache_txn *t, const char *project,
    cache_flag_cb cb, void *arg)
{
	struct visit vis = { .flag = cb, .arg = arg };
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	if (project == NULL)
		return walk(t, t->flags, NULL, 0, 0, visit_flag, &vis);
	if ((rc = key_join(&k, &project, 1, 1)) != 0)
		return rc;
	return walk(t, t->flags, &k, k.len, 0, visit_flag, &vis);
}

/* Links. */

int
cache_link_get(struct cache_txn *t, const char *project, const char *flag,
    const char *issue, uint32_t *mask)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (mask == NULL)
		return EINVAL;
	*mask = 0;
	if ((rc = key_join3(&k, project, flag, issue)) != 0)
		return rc;
	if ((rc = txn_get(t, t->links, &k, &v)) != 0)
		return rc;
	return val_u32(&v, mask);
}

static int
link_del(struct cache_txn *t, const struct key *fwd, const struct key *rev)
{
	int rc;

	if ((rc = txn_del(t, t->links, fwd)) != 0)
		return rc;
	/* A reverse entry already missing is what we want anyway. */
	rc = txn_del(t, t->issues, rev);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Stores bits as a link's mask, or ORs them into the mask stored (merge),
 * both directions in step; *old is the mask before (0: no link).  One
 * search of the links, not a get and a put: MDB_NOOVERWRITE hands back
 * the mask stored when there is one.
 */
static int
link_merge(struct cache_txn *t, const struct key *fwd,
    const struct key *rev, uint32_t bits, bool merge, uint32_t *old)
{
	MDB_val kv, dv;
	uint32_t mask = bits;
	int rc;

	*old = 0;
	kv.mv_data = (void *)fwd->buf;
	kv.mv_size = fwd->len;
	dv.mv_data = &mask;
	dv.mv_size = sizeof(mask);
	if (t->lkcur == NULL &&
	    (rc = lmdb_rc(mdb_cursor_open(t->txn, t->links, &t->lkcur))) != 0)
		return rc;
	guard_depth++;
	rc = mdb_cursor_put(t->lkcur, &kv, &dv, MDB_NOOVERWRITE);
	guard_depth--;
	if (rc == MDB_KEYEXIST) {
		if ((rc = val_u32(&dv, old)) != 0)
			return rc;
		mask = merge ? *old | bits : bits;
		if (mask == *old)
			return 0;
		rc = txn_put(t, t->links, fwd, &mask, sizeof(mask), 0);
	} else {
		rc = txn_mark(t, lmdb_read_rc(rc));
	}
	if (rc != 0)
		return rc;
	return txn_put(t, t->issues, rev, &mask, sizeof(mask), 0);
}

int
cache_link_set(struct cache_txn *t, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct key fwd, rev;
	MDB_val v;
	uint32_t old = 0;
	int rc, found;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_join3(&fwd, project, flag, issue)) != 0 ||
	    (rc = key_join3(&rev, issue, project, flag)) != 0)
		return rc;
	if (mask != 0)
		return link_merge(t, &fwd, &rev, mask, false, &old);
	rc = txn_get(t, t->links, &fwd, &v);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	found = rc == 0;
	if (found && (rc = val_u32(&v, &old)) != 0)
		return rc;
	if ((found && old == mask) || (!found && mask == 0))
		return 0;
	if (mask == 0)
		return link_del(t, &fwd, &rev);
	if ((rc = txn_put(t, t->links, &fwd, &mask, sizeof(mask), 0)) != 0)
		return rc;
	return txn_put(t, t->issues, &rev, &mask, sizeof(mask), 0);
}

int
cache_link_update(struct cache_txn *t, const char *project, const char *flag,
    const char *issue, uint32_t bit, bool add, uint32_t *old)
{
	struct key fwd, rev;
	int rc;

	if (old == NULL || bit == 0)
		return EINVAL;
	*old = 0;
	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (!add) {
		rc = cache_link_get(t, project, flag, issue, old);
		if (rc == FS_ENOTFOUND)
			*old = 0;
		if (rc != 0 || !(*old & bit))
			return rc == FS_ENOTFOUND ? 0 : rc;
		return cache_link_set(t, project, flag, issue, *old & ~bit);
	}
	if ((rc = key_join3(&fwd, project, flag, issue)) != 0 ||
	    (rc = key_join3(&rev, issue, project, flag)) != 0)
		return rc;
	return link_merge(t, &fwd, &rev, bit, true, old);
}

int
cache_link_foreach(struct cache_txn *t, const char *project,
    cache_link_cb cb, void *arg)
{
	struct visit vis = { .link = cb, .arg = arg };
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	if (project == NULL)
		return walk(t, t->links, NULL, 0, 0, visit_link, &vis);
	if ((rc = key_join(&k, &project, 1, 1)) != 0)
		return rc;
	return walk(t, t->links, &k, k.len, 0, visit_link, &vis);
}

/* Whether dbi holds nothing (as this transaction sees it): a first sync
 * asks for the links of every flag before it stores any, and an empty
 * table answers without a cursor and a search. */
static bool
txn_db_empty(struct cache_txn *t, MDB_dbi dbi)
{
	MDB_stat st;

	return mdb_stat(t->txn, dbi, &st) == 0 && st.ms_entries == 0;
}

int
cache_link_foreach_flag(struct cache_txn *t, const char *project,
    const char *flag, cache_link_cb cb, void *arg)
{
	struct visit vis = { .link = cb, .arg = arg };
	const char *parts[2];
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	parts[0] = project;
	parts[1] = flag;
	if ((rc = key_join(&k, parts, 2, 1)) != 0)
		return rc;
	if (txn_db_empty(t, t->links))
		return 0;
	return walk(t, t->links, &k, k.len, 0, visit_link, &vis);
}

int
cache_link_foreach_issue(struct cache_txn *t, const char *issue,
    cache_link_cb cb, void *arg)
{
	struct visit vis = { .link = cb, .arg = arg };
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	if ((rc = key_join(&k, &issue, 1, 1)) != 0)
		return rc;
	return walk(t, t->issues, &k, k.len, 0, visit_issue_link, &vis);
}

/*
 * Each step seeks past every "ISSUE\0..." entry of the issue just seen
 * by looking for "ISSUE\1": the next key is the next distinct issue.
 */
int
cache_issue_foreach(struct cache_txn *t, cache_issue_cb cb, void *arg)
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct key buf;
	const char *p[3];
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	if ((rc = mdb_cursor_open(t->txn, t->issues, &cur)) != 0)
		return rc;
	rc = cur_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if ((rc = key_split(&buf, &k, p, 3)) != 0)
			goto cursor_close;
		if ((rc = cb(arg, p[0])) != 0)
			goto cursor_close;
		/* p[0] is the start of buf, so this only shortens it */
		buf.len = strlen(p[0]);
		if ((rc = key_put(&buf, "\1", 1)) != 0)
			goto cursor_close;
		k.mv_data = buf.buf;
		k.mv_size = buf.len;
		rc = cur_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
cursor_close:
	mdb_cursor_close(cur);
	return rc;
}

/* Events. */

static void
key_meta_seq(struct key *k)
{
	key_reset(k);
	(void)key_put(k, "seq", strlen("seq"));
}

int
cache_event_last(struct cache_txn *t, uint64_t *seq)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (seq == NULL)
		return EINVAL;
	*seq = 0;
	if (t->seq_known) {
		*seq = t->seq;
		return 0;
	}
	key_meta_seq(&k);
	rc = txn_get(t, t->meta, &k, &v);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	if (rc == 0 && (rc = val_u64(&v, seq)) != 0)
		return rc;
	t->seq = *seq;
	t->seq_known = 1;
	return 0;
}

int
cache_event_first(struct cache_txn *t, uint64_t *seq)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (seq == NULL)
		return EINVAL;
	*seq = 0;
	if ((rc = mdb_cursor_open(t->txn, t->events, &cur)) != 0)
		return rc;
	rc = cur_get(cur, &k, &v, MDB_FIRST);
	if (rc == 0)
		rc = key_seq_decode(&k, seq);
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	return rc;
}

/* MDB_APPEND of an event through the transaction's event cursor. */
static int
event_append(struct cache_txn *t, const struct key *k, const char *json,
    size_t len)
{
	MDB_val kv, dv;
	int rc;

	if (t->evcur == NULL &&
	    (rc = lmdb_rc(mdb_cursor_open(t->txn, t->events, &t->evcur))) != 0)
		return rc;
	kv.mv_data = (void *)k->buf;
	kv.mv_size = k->len;
	dv.mv_data = (void *)json;
	dv.mv_size = len;
	guard_depth++;
	rc = lmdb_rc(mdb_cursor_put(t->evcur, &kv, &dv, MDB_APPEND));
	guard_depth--;
	return txn_mark(t, rc);
}

int
cache_event_put(struct cache_txn *t, uint64_t seq, const char *json,
    size_t len)
{
	struct key k;
	uint64_t last;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (json == NULL && len > 0)
		return EINVAL;
	if ((rc = cache_event_last(t, &last)) != 0)
		return rc;
	if (seq == 0 || seq != last + 1)
		return EINVAL;
	key_seq(&k, seq);
	/* seqs only grow, and big-endian keys sort as they do: appending
	 * skips the search and fills pages instead of splitting them in
	 * halves (an existing key is MDB_KEYEXIST still) */
	if ((rc = event_append(t, &k, json, len)) != 0)
		return rc;
	t->seq = seq;
	t->seq_known = 1;
	t->seq_dirty = 1;
	return 0;
}

int
cache_event_get(struct cache_txn *t, uint64_t seq, const char **json,
    size_t *len)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (json == NULL || len == NULL)
		return EINVAL;
	key_seq(&k, seq);
	if ((rc = txn_get(t, t->events, &k, &v)) != 0)
		return rc;
	*json = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
cache_event_foreach(struct cache_txn *t, uint64_t after, cache_event_cb cb,
    void *arg)
{
	struct visit vis = { .event = cb, .arg = arg };
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	if (after == UINT64_MAX)
		return 0;
	key_seq(&k, after + 1);
	return walk(t, t->events, &k, 0, 0, visit_event, &vis);
}

int
cache_event_foreach_reverse(struct cache_txn *t, cache_event_cb cb,
    void *arg)
{
	struct visit vis = { .event = cb, .arg = arg };
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	return walk(t, t->events, NULL, 0, 1, visit_event, &vis);
}

int
cache_event_prune(struct cache_txn *t, uint64_t upto)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t seq;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	/* the append cursor may stand on what goes: it starts again */
	if (t->evcur != NULL) {
		mdb_cursor_close(t->evcur);
		t->evcur = NULL;
	}
	if ((rc = mdb_cursor_open(t->txn, t->events, &cur)) != 0)
		return rc;
	while ((rc = cur_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if ((rc = key_seq_decode(&k, &seq)) != 0 || seq > upto)
			break;
		if ((rc = lmdb_rc(mdb_cursor_del(cur, 0))) != 0) {
			if (rc == MDB_MAP_FULL)
				t->full = 1;
			break;
		}
		t->dirty = 1;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	return rc;
}

/*
 * An event's leading time.  event.h writes the seq and time first, with
 * json-c's plain layout, so a fixed prefix is all there is to read.
 */

static const char event_head[] = "{\"seq\":";
static const char event_time_key[] = ",\"time\":\"";
static const char event_time_shape[] = "dddd-dd-ddTdd:dd:ddZ";	/* d: digit */

/* Moves *p past lit when the text there starts with it. */
static int
event_text_skip(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return FS_EPROTO;
	*p += n;
	return 0;
}

/* Moves *p past a decimal seq (no sign, no leading zero) equal to want. */
static int
event_text_seq(const char **p, const char *end, uint64_t want)
{
	const char *s = *p;
	uint64_t n = 0, d;

	if (s == end || *s < '1' || *s > '9')
		return FS_EPROTO;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		d = (uint64_t)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return FS_EPROTO;
		n = n * 10 + d;
	}
	if (n != want)
		return FS_EPROTO;
	*p = s;
	return 0;
}

/* The n digits at p, already checked. */
static int
event_time_num(const char *p, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*p++ - '0');
	return v;
}

static int
event_tm_same(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon &&
	    a->tm_mday == b->tm_mday && a->tm_hour == b->tm_hour &&
	    a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* p has at least the shape's length.  A time timegm() has to normalise
 * (February 30, 24:00, a leap second) is not one we wrote. */
static int
event_time_parse(const char *p, int64_t *ms)
{
	struct tm tm, want;
	time_t sec;
	int i, digit;

	for (i = 0; event_time_shape[i] != '\0'; i++) {
		digit = p[i] >= '0' && p[i] <= '9';
		if (event_time_shape[i] == 'd' ? !digit :
		    p[i] != event_time_shape[i])
			return FS_EPROTO;
	}
	memset(&want, 0, sizeof(want));
	want.tm_year = event_time_num(p, 4) - 1900;
	want.tm_mon = event_time_num(p + 5, 2) - 1;
	want.tm_mday = event_time_num(p + 8, 2);
	want.tm_hour = event_time_num(p + 11, 2);
	want.tm_min = event_time_num(p + 14, 2);
	want.tm_sec = event_time_num(p + 17, 2);
	tm = want;
	errno = 0;
	sec = timegm(&tm);
	if ((sec == (time_t)-1 && errno != 0) || !event_tm_same(&tm, &want))
		return FS_EPROTO;
	*ms = (int64_t)sec * 1000;
	return 0;
}

int
cache_event_time(struct cache_txn *t, uint64_t seq, int64_t *ms)
{
	const char *json, *p, *end;
	size_t len, tlen = sizeof(event_time_shape) - 1;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (ms == NULL)
		return EINVAL;
	*ms = 0;
	if ((rc = cache_event_get(t, seq, &json, &len)) != 0)
		return rc;
	p = json;
	end = json + len;
	if ((rc = event_text_skip(&p, end, event_head)) != 0 ||
	    (rc = event_text_seq(&p, end, seq)) != 0 ||
	    (rc = event_text_skip(&p, end, event_time_key)) != 0)
		return rc;
	/* The value, its closing quote and the next key or the end. */
	if ((size_t)(end - p) < tlen + 2 || p[tlen] != '"' ||
	    (p[tlen + 1] != ',' && p[tlen + 1] != '}'))
		return FS_EPROTO;
	return event_time_parse(p, ms);
}

/* Status. */

int
cache_status_get(struct cache_txn *t, const char *source, const char **json,
    size_t *len)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (json == NULL || len == NULL)
		return EINVAL;
	if ((rc = key_join(&k, &source, 1, 0)) != 0)
		return rc;
	if ((rc = txn_get(t, t->status, &k, &v)) != 0)
		return rc;
	*json = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
cache_status_put(struct cache_txn *t, const char *source, const char *json,
    size_t len)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (json == NULL && len > 0)
		return EINVAL;
	if ((rc = key_join(&k, &source, 1, 0)) != 0)
		return rc;
	return txn_put_changed(t, t->status, &k, json, len);
}

int
cache_status_foreach(struct cache_txn *t, cache_status_cb cb, void *arg)
{
	struct visit vis = { .status = cb, .arg = arg };
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	return walk(t, t->status, NULL, 0, 0, visit_status, &vis);
}

/* Plugin cursors. */

int
cache_cursor_get(struct cache_txn *t, const char *instance, uint64_t *seq)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (seq == NULL)
		return EINVAL;
	*seq = 0;
	if ((rc = key_join(&k, &instance, 1, 0)) != 0)
		return rc;
	if ((rc = txn_get(t, t->cursors, &k, &v)) != 0)
		return rc;
	return val_u64(&v, seq);
}

int
cache_cursor_put(struct cache_txn *t, const char *instance, uint64_t seq)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_join(&k, &instance, 1, 0)) != 0)
		return rc;
	return txn_put_changed(t, t->cursors, &k, &seq, sizeof(seq));
}

int
cache_cursor_del(struct cache_txn *t, const char *instance)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_join(&k, &instance, 1, 0)) != 0)
		return rc;
	rc = txn_del(t, t->cursors, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

int
cache_cursor_foreach(struct cache_txn *t, cache_cursor_cb cb, void *arg)
{
	struct visit vis = { .cursor = cb, .arg = arg };
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	return walk(t, t->cursors, NULL, 0, 0, visit_cursor, &vis);
}

/* Dead letters. */

int
cache_dead_put(struct cache_txn *t, const char *instance, uint64_t seq,
    const char *json, size_t len)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (json == NULL && len > 0)
		return EINVAL;
	if ((rc = key_dead(&k, instance, seq)) != 0)
		return rc;
	return txn_put_changed(t, t->dead, &k, json, len);
}

int
cache_dead_del(struct cache_txn *t, const char *instance, uint64_t seq)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_dead(&k, instance, seq)) != 0)
		return rc;
	rc = txn_del(t, t->dead, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

/* Walks the letters of instance, or of every instance for NULL. */
static int
dead_walk(struct cache_txn *t, const char *instance, walk_fn fn,
    const struct visit *vis)
{
	struct key k;
	int rc;

	if (instance == NULL)
		return walk(t, t->dead, NULL, 0, 0, fn, vis);
	if ((rc = key_join(&k, &instance, 1, 1)) != 0)
		return rc;
	return walk(t, t->dead, &k, k.len, 0, fn, vis);
}

int
cache_dead_foreach(struct cache_txn *t, const char *instance,
    cache_dead_cb cb, void *arg)
{
	struct visit vis = { .dead = cb, .arg = arg };
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	return dead_walk(t, instance, visit_dead, &vis);
}

int
cache_dead_count(struct cache_txn *t, const char *instance, uint64_t *n)
{
	struct visit vis = { .arg = n };
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (n == NULL)
		return EINVAL;
	*n = 0;
	if ((rc = dead_walk(t, instance, visit_count, &vis)) != 0)
		*n = 0;
	return rc;
}

/* Plugin key/value stores. */

int
cache_kv_get(struct cache_txn *t, const char *instance, const char *key,
    const void **val, size_t *len)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (val == NULL || len == NULL)
		return EINVAL;
	if ((rc = key_kv(&k, instance, key)) != 0)
		return rc;
	if ((rc = txn_get(t, t->kv, &k, &v)) != 0)
		return rc;
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
cache_kv_put(struct cache_txn *t, const char *instance, const char *key,
    const void *val, size_t len)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((val == NULL && len > 0) || len > CACHE_KV_VAL_MAX)
		return EINVAL;
	if ((rc = key_kv(&k, instance, key)) != 0)
		return rc;
	return txn_put_changed(t, t->kv, &k, val, len);
}

int
cache_kv_del(struct cache_txn *t, const char *instance, const char *key)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_kv(&k, instance, key)) != 0)
		return rc;
	rc = txn_del(t, t->kv, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

int
cache_kv_foreach(struct cache_txn *t, const char *instance, cache_kv_cb cb,
    void *arg)
{
	struct visit vis = { .kv = cb, .arg = arg };
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	if ((rc = key_join(&k, &instance, 1, 1)) != 0)
		return rc;
	return walk(t, t->kv, &k, k.len, 0, visit_kv, &vis);
}

/* Jira issue status records. */

int
cache_istatus_get(struct cache_txn *t, const char *issue, const void **rec,
    size_t *len)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (rec == NULL || len == NULL)
		return EINVAL;
	if ((rc = key_join(&k, &issue, 1, 0)) != 0)
		return rc;
	if ((rc = txn_get(t, t->istatus, &k, &v)) != 0)
		return rc;
	*rec = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
cache_istatus_put(struct cache_txn *t, const char *issue, const void *rec,
    size_t len)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (rec == NULL || len == 0)
		return EINVAL;
	if ((rc = key_join(&k, &issue, 1, 0)) != 0)
		return rc;
	return txn_put_changed(t, t->istatus, &k, rec, len);
}

int
cache_istatus_del(struct cache_txn *t, const char *issue)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_join(&k, &issue, 1, 0)) != 0)
		return rc;
	rc = txn_del(t, t->istatus, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

int
cache_istatus_foreach(struct cache_txn *t, cache_istatus_cb cb, void *arg)
{
	struct visit vis = { .istatus = cb, .arg = arg };
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL)
		return EINVAL;
	return walk(t, t->istatus, NULL, 0, 0, visit_istatus, &vis);
}

/* Findings (findings.c): keys of string parts, opaque values. */

#define CACHE_FINDING_PARTS	8

static int
visit_finding(const MDB_val *k, const MDB_val *v, const struct visit *vis)
{
	struct key buf;
	const char *p[CACHE_FINDING_PARTS];
	int rc;

	if ((rc = key_split(&buf, k, p, vis->nparts)) != 0)
		return rc;
	return vis->finding(vis->arg, p, v->mv_data, v->mv_size);
}

int
cache_finding_get(struct cache_txn *t, const char *const *parts, int n,
    const void **val, size_t *len)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (val == NULL || len == NULL || n < 1 || n > CACHE_FINDING_PARTS)
		return EINVAL;
	if ((rc = key_join(&k, parts, n, 0)) != 0)
		return rc;
	if ((rc = txn_get(t, t->findings, &k, &v)) != 0)
		return rc;
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
cache_finding_put(struct cache_txn *t, const char *const *parts, int n,
    const void *val, size_t len)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((val == NULL && len > 0) || n < 1 || n > CACHE_FINDING_PARTS)
		return EINVAL;
	if ((rc = key_join(&k, parts, n, 0)) != 0)
		return rc;
	return txn_put_changed(t, t->findings, &k, val, len);
}

int
cache_finding_del(struct cache_txn *t, const char *const *parts, int n)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (n < 1 || n > CACHE_FINDING_PARTS)
		return EINVAL;
	if ((rc = key_join(&k, parts, n, 0)) != 0)
		return rc;
	rc = txn_del(t, t->findings, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

int
cache_finding_foreach(struct cache_txn *t, const char *const *prefix,
    int nprefix, int nparts, cache_finding_cb cb, void *arg)
{
	struct visit vis = { .finding = cb, .nparts = nparts, .arg = arg };
	struct key k;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL || nprefix < 1 || nparts < nprefix ||
	    nparts > CACHE_FINDING_PARTS)
		return EINVAL;
	if ((rc = key_join(&k, prefix, nprefix, 1)) != 0)
		return rc;
	return walk(t, t->findings, &k, k.len, 0, visit_finding, &vis);
}

/* Tags flagsync wrote into Split (owntags). */

int
cache_owntag_get(struct cache_txn *t, const char *project, const char *flag,
    const char *tag)
{
	struct key k;
	MDB_val v;
	int rc;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if ((rc = key_join3(&k, project, flag, tag)) != 0)
		return rc;
	return txn_get(t, t->owntags, &k, &v);
}

int
cache_owntag_put(struct cache_txn *t, const char *project, const char *flag,
    const char *tag, const char *by)
{
	struct key k;
	size_t len;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if (by == NULL || (len = strlen(by)) == 0 ||
	    len > CACHE_OWNTAG_BY_MAX)
		return EINVAL;
	if ((rc = key_join3(&k, project, flag, tag)) != 0)
		return rc;
	return txn_put_changed(t, t->owntags, &k, by, len);
}

int
cache_owntag_del(struct cache_txn *t, const char *project, const char *flag,
    const char *tag)
{
	struct key k;
	int rc;

	if ((rc = txn_check(t, 1)) != 0)
		return rc;
	if ((rc = key_join3(&k, project, flag, tag)) != 0)
		return rc;
	rc = txn_del(t, t->owntags, &k);
	return rc == MDB_NOTFOUND ? FS_ENOTFOUND : rc;
}

int
cache_owntag_foreach(struct cache_txn *t, const char *project,
    const char *flag, cache_owntag_cb cb, void *arg)
{
	struct visit vis = { .owntag = cb, .arg = arg };
	const char *parts[2];
	struct key k;
	int rc, n = 0;

	if ((rc = txn_check(t, 0)) != 0)
		return rc;
	if (cb == NULL || (flag != NULL && project == NULL))
		return EINVAL;
	if (project == NULL)
		return walk(t, t->owntags, NULL, 0, 0, visit_owntag, &vis);
	parts[n++] = project;
	if (flag != NULL)
		parts[n++] = flag;
	if ((rc = key_join(&k, parts, n, 1)) != 0)
		return rc;
	return walk(t, t->owntags, &k, k.len, 0, visit_owntag, &vis);
}
