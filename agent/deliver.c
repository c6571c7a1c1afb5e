/* deliver.c - one worker thread per plugin instance, reading the event log. */
#include "autoconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "array.h"
#include "buf.h"
#include "clock.h"
#include "commit.h"
#include "deliver.h"
#include "error.h"
#include "event.h"
#include "host.h"
#include "http.h"
#include "loader.h"
#include "log.h"
#include "view.h"

#define DELIVER_BATCH		512	/* events read per read transaction */
#define DELIVER_SAVE_EVERY	1000	/* events between cursor writes ... */
#define DELIVER_SAVE_MS		200	/* ... or this long */
#define DELIVER_IDLE_MS		1000	/* look for new events at least this often */
#define DELIVER_REPLAY_PREFIX	"replay:"
#define DELIVER_STATE_PREFIX	"replay-state:"

struct batch_event {
	uint64_t seq;
	int64_t	 time_ms;	/* its commit time */
	char	*json;
	size_t	 len;
};

struct instance {
	struct deliver *d;
	const struct config_plugin *pcfg;
	struct loaded_plugin lp;
	struct flagsync_host host;
	void	*ctx;
	bool	 inited;
	bool	 fresh;			/* no cursor yet: `start` decides */
	bool	 has_flush;
	_Atomic size_t unflushed;	/* OK since the last flush() */
	int	 flush_fails;		/* in a row, for the backoff */
	bool	 started;		/* thread running */
	pthread_t thread;
	char	**globs;
	size_t	 nglobs, globs_cap;
	_Atomic uint64_t cursor;	/* last seq taken */
	uint64_t saved;			/* last seq made durable */
	int64_t	 saved_at;
	_Atomic int64_t call_since;	/* ms, 0 outside deliver() */
	_Atomic uint64_t call_seq;
	_Atomic bool stuck;
	_Atomic bool reopen;
	_Atomic bool exited;
	_Atomic bool replaying;		/* a state replay may be pending */
	pthread_mutex_t smtx;		/* worker and watchdog write status */
	char	 state[16];		/* last status written */
	char	 status_error[512];
};

struct deliver {
	struct cache *c;
	const struct config *cfg;
	struct instance *inst;
	size_t	 n;
	size_t	 refused;
	pthread_mutex_t mtx;
	pthread_cond_t wake;		/* new events, stop */
	pthread_cond_t progress;	/* a worker moved on */
	uint64_t gen;
	_Atomic bool stop;
	pthread_t watchdog;
	bool	 watchdog_started;
	int64_t	 retry_base_ms;
};

static void
abs_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* ------------------------------------------------------------ status */

struct status_op {
	const char *source;
	const char *json;
};

static int
status_write(struct cache_txn *t, void *arg)
{
	struct status_op *op = arg;

	return cache_status_put(t, op->source, op->json, strlen(op->json));
}

/* Adds v to o as key; false (v freed) when json-c could not allocate. */
static bool
jadd(json_object *o, const char *key, json_object *v)
{
	if (v == NULL)
		return false;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/*
 * The instance's status record ("plugin:NAME"), written only when its
 * state or error changes, so an idle instance writes nothing.
 */
static void
inst_status(struct instance *in, const char *state, const char *error)
{
	struct status_op op;
	json_object *o;
	char source[256], tbuf[32];

	pthread_mutex_lock(&in->smtx);
	if (strcmp(in->state, state) == 0 &&
	    strcmp(in->status_error, error ? error : "") == 0) {
		pthread_mutex_unlock(&in->smtx);
		return;
	}
	snprintf(in->state, sizeof(in->state), "%s", state);
	snprintf(in->status_error, sizeof(in->status_error), "%s",
	    error ? error : "");
	view_format_time(clock_now_ms(), tbuf);
	if ((o = json_object_new_object()) == NULL ||
	    !jadd(o, "ok", json_object_new_boolean(
	    strcmp(state, "running") == 0)) ||
	    !jadd(o, "state", json_object_new_string(state)) ||
	    (error != NULL && !jadd(o, "error",
	    json_object_new_string(error))) ||
	    (error == NULL && json_object_object_add(o, "error", NULL) != 0) ||
	    !jadd(o, "since", json_object_new_string(tbuf)) ||
	    !jadd(o, "module", json_object_new_string(in->pcfg->module)) ||
	    (in->lp.path != NULL &&
	    !jadd(o, "path", json_object_new_string(in->lp.path))))
		goto nomem;
	if (in->lp.desc) {
		snprintf(tbuf, sizeof(tbuf), "%u.%u", in->lp.desc->abi_major,
		    in->lp.desc->abi_minor);
		if (!jadd(o, "abi", json_object_new_string(tbuf)) ||
		    (in->lp.desc->version != NULL && !jadd(o, "version",
		    json_object_new_string(in->lp.desc->version))))
			goto nomem;
	}
	op.json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (op.json == NULL)
		goto nomem;
	snprintf(source, sizeof(source), "plugin:%s", in->pcfg->name);
	op.source = source;
	if (cache_write(in->d->c, status_write, &op) != 0)
		log_warnx("plugin %s: cannot record its status",
		    in->pcfg->name);
	json_object_put(o);
	pthread_mutex_unlock(&in->smtx);
	return;
nomem:
	/* Forget the state so that the next call tries again. */
	in->state[0] = '\0';
	log_warnx("plugin %s: cannot record its status: %s", in->pcfg->name,
	    strerror(ENOMEM));
	json_object_put(o);
	pthread_mutex_unlock(&in->smtx);
}

/* ------------------------------------------------------------ cursor */

struct cursor_op {
	const char *instance;
	uint64_t seq;
	const char *dead;	/* a dead letter to store with it, or NULL */
	size_t	 dead_len;
	uint64_t dead_seq;
};

static int
cursor_write(struct cache_txn *t, void *arg)
{
	struct cursor_op *op = arg;
	int rc;

	if (op->dead && (rc = cache_dead_put(t, op->instance, op->dead_seq,
	    op->dead, op->dead_len)) != 0)
		return rc;
	return cache_cursor_put(t, op->instance, op->seq);
}

/*
 * Makes the in-memory cursor durable (when it moved, or when forced).
 * Never past events a flush() has not yet written out.
 */
static void
inst_save(struct instance *in, bool force)
{
	struct cursor_op op = { in->pcfg->name, atomic_load(&in->cursor),
	    NULL, 0, 0 };
	int rc;

	if ((!force && op.seq == in->saved) || in->unflushed > 0)
		return;
	if ((rc = cache_write(in->d->c, cursor_write, &op)) != 0) {
		log_warnx("plugin %s: cannot save its cursor: %s",
		    in->pcfg->name, fs_strerror(rc));
		return;
	}
	in->saved = op.seq;
	in->saved_at = clock_now_ms();
}

static void
inst_maybe_save(struct instance *in)
{
	if (atomic_load(&in->cursor) - in->saved >= DELIVER_SAVE_EVERY ||
	    clock_now_ms() - in->saved_at >= DELIVER_SAVE_MS)
		inst_save(in, false);
}

struct replay_take {
	char	 key[256];
	uint64_t seq;
	bool	 found;
};

static int
replay_take_txn(struct cache_txn *t, void *arg)
{
	struct replay_take *r = arg;
	int rc;

	rc = cache_cursor_get(t, r->key, &r->seq);
	if (rc == FS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	r->found = true;
	return cache_cursor_del(t, r->key);
}

/* `flagsync replay` asks a running daemon to rewind through the cache. */
static void
inst_take_replay(struct instance *in)
{
	struct replay_take r;

	memset(&r, 0, sizeof(r));
	snprintf(r.key, sizeof(r.key), DELIVER_REPLAY_PREFIX "%s",
	    in->pcfg->name);
	if (cache_write(in->d->c, replay_take_txn, &r) != 0 || !r.found)
		return;
	log_info("plugin %s: replaying from seq %llu", in->pcfg->name,
	    (unsigned long long)r.seq + 1);
	atomic_store(&in->cursor, r.seq);
	inst_save(in, true);
}

/* ------------------------------------------------------------ events */

static bool
inst_selects(const struct instance *in, const char *type)
{
	size_t i;

	for (i = 0; i < in->nglobs; i++)
		if (fnmatch(in->globs[i], type, 0) == 0)
			return true;
	return false;
}

bool
deliver_selects(const char *events, const char *type)
{
	char glob[128];
	size_t len;

	for (events = events ? events : "*"; *events; events += len) {
		events += strspn(events, ", \t");
		if ((len = strcspn(events, ", \t")) == 0)
			break;
		if (len >= sizeof(glob))
			continue;
		memcpy(glob, events, len);
		glob[len] = '\0';
		if (fnmatch(glob, type, 0) == 0)
			return true;
	}
	return false;
}

struct fetch {
	struct batch_event *v;
	size_t	 n;
	struct cache_txn *t;	/* the read, for the events' times */
};

static int
fetch_cb(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct fetch *f = arg;
	struct batch_event *e = &f->v[f->n];
	int rc;

	/* the log's own time: an unreadable one is 0, not a made-up time */
	if ((rc = cache_event_time(f->t, seq, &e->time_ms)) != 0 &&
	    rc != FS_EPROTO)
		return rc;
	if ((e->json = malloc(len + 1)) == NULL)
		return ENOMEM;
	memcpy(e->json, json, len);
	e->json[len] = '\0';
	e->len = len;
	e->seq = seq;
	return ++f->n == DELIVER_BATCH ? -1 : 0;
}

/*
 * Reads the next events after the cursor.  When there are none, the
 * cursor moves up to the newest seq read in the same transaction: events
 * pruned before this instance existed are not waited for.
 */
static int
inst_fetch(struct instance *in, struct fetch *f)
{
	struct cache_txn *t;
	uint64_t last = 0;
	int rc;

	f->n = 0;
	if ((rc = cache_read_begin(in->d->c, &t)) != 0)
		return rc;
	f->t = t;
	rc = cache_event_foreach(t, atomic_load(&in->cursor), fetch_cb, f);
	if (rc == 0 && f->n == 0)
		rc = cache_event_last(t, &last);
	cache_read_end(t);
	if (rc == 0 && f->n == 0 && last > atomic_load(&in->cursor))
		atomic_store(&in->cursor, last);
	return rc == -1 ? 0 : rc;
}

static void
fetch_release(struct fetch *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].json);
	f->n = 0;
}

static const char *
jfield(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* Waits ms unless stopped; true when stopped. */
static bool
deliver_sleep(struct deliver *d, int64_t ms)
{
	struct timespec ts;
	bool stop;

	abs_after(&ts, ms);
	pthread_mutex_lock(&d->mtx);
	while (!(stop = atomic_load(&d->stop)))
		if (pthread_cond_timedwait(&d->wake, &d->mtx, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&d->mtx);
	return stop;
}

static int
inst_dead_letter(struct instance *in, uint64_t seq, const char *msg)
{
	struct cursor_op op;
	json_object *o;
	char tbuf[32];
	const char *js;
	int rc;

	view_format_time(clock_now_ms(), tbuf);
	/* Without its dead letter the event is not taken: never lost. */
	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	if (!jadd(o, "seq", json_object_new_int64((int64_t)seq)) ||
	    !jadd(o, "instance", json_object_new_string(in->pcfg->name)) ||
	    !jadd(o, "message", json_object_new_string(msg)) ||
	    !jadd(o, "time", json_object_new_string(tbuf)) ||
	    (js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL) {
		json_object_put(o);
		return ENOMEM;
	}
	op.instance = in->pcfg->name;
	op.seq = seq;
	op.dead = js;
	op.dead_len = strlen(js);
	op.dead_seq = seq;
	if ((rc = cache_write(in->d->c, cursor_write, &op)) == 0) {
		in->saved = seq;
		in->saved_at = clock_now_ms();
	}
	json_object_put(o);
	return rc;
}

/*
 * Has the plugin write out what it batched (ABI 1.1 flush()); on OK the
 * cursor becomes durable.  On RETRY the events since the last good flush
 * come again after a backoff: the cursor goes back to the durable one,
 * as after a crash.  Returns true when flushed.
 */
static bool
inst_flush(struct instance *in)
{
	char err[512];
	int rc;

	err[0] = '\0';
	atomic_store(&in->call_seq, atomic_load(&in->cursor));
	atomic_store(&in->call_since, clock_now_ms());
	rc = in->lp.desc->flush(in->ctx, err, sizeof(err));
	atomic_store(&in->call_since, 0);
	host_clean_error(err, sizeof(err));
	if (rc == FLAGSYNC_OK) {
		atomic_store(&in->unflushed, 0);
		if (atomic_exchange(&in->stuck, false) || in->flush_fails)
			inst_status(in, "running", NULL);
		in->flush_fails = 0;
		inst_save(in, false);
		return true;
	}
	/* back first, then not unflushed: deliver_wait_idle() must never
	 * see the batch as taken */
	atomic_store(&in->cursor, in->saved);
	atomic_store(&in->unflushed, 0);
	atomic_store(&in->stuck, false);
	if (err[0] == '\0')
		snprintf(err, sizeof(err), "flush() returned %d", rc);
	host_set_error(&in->host, err);
	inst_status(in, "retrying", err);
	log_warnx("plugin %s: flush() after event %llu: %s; delivering again "
	    "from event %llu", in->pcfg->name,
	    (unsigned long long)atomic_load(&in->call_seq), err,
	    (unsigned long long)in->saved + 1);
	deliver_sleep(in->d, http_backoff_ms(in->flush_fails++,
	    in->d->retry_base_ms, DELIVER_RETRY_CAP_MS));
	return false;
}

/*
 * Calls deliver() for one event until it is OK or FAIL (or we stop);
 * RETRY waits with exponential backoff.  Returns true when the event was
 * taken (the cursor may move past it).
 */
static bool
inst_deliver(struct instance *in, const struct batch_event *be,
    json_object *doc)
{
	struct flagsync_event ev;
	json_object *r;
	char err[512];
	int rc, attempt;

	memset(&ev, 0, sizeof(ev));
	ev.struct_size = sizeof(ev);
	ev.seq = be->seq;
	ev.time_ms = be->time_ms;
	ev.type = jfield(doc, "type");
	ev.project = jfield(doc, "project");
	ev.flag = jfield(doc, "flag");
	ev.issue = jfield(doc, "issue");
	ev.json = be->json;
	ev.json_len = be->len;
	ev.replay = json_object_object_get_ex(doc, "replay", &r) &&
	    json_object_get_boolean(r);
	for (attempt = 0; !atomic_load(&in->d->stop); attempt++) {
		err[0] = '\0';
		atomic_store(&in->call_seq, be->seq);
		atomic_store(&in->call_since, clock_now_ms());
		rc = in->lp.desc->deliver(in->ctx, &ev, err, sizeof(err));
		atomic_store(&in->call_since, 0);
		host_clean_error(err, sizeof(err));
		if (atomic_exchange(&in->stuck, false))
			inst_status(in, "running", NULL);
		if (rc == FLAGSYNC_OK) {
			if (attempt)
				inst_status(in, "running", NULL);
			if (in->has_flush)
				in->unflushed++;
			return true;
		}
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "deliver() returned %d", rc);
		host_set_error(&in->host, err);
		if (rc == FLAGSYNC_FAIL && be->seq == 0) {
			/* a state-replay item is not in the log: no dead
			 * letter (it could not be retried), no cursor move */
			log_warnx("plugin %s: replayed %s %s/%s failed: %s; "
			    "skipped", in->pcfg->name, ev.type ? ev.type : "?",
			    ev.project ? ev.project : "?",
			    ev.flag ? ev.flag : "?", err);
			inst_status(in, "running", err);
			return true;
		}
		if (rc == FLAGSYNC_FAIL) {
			log_warnx("plugin %s: event %llu failed: %s; dead letter "
			    "kept", in->pcfg->name,
			    (unsigned long long)be->seq, err);
			/* the dead letter moves the durable cursor: what
			 * came before it must be written out first */
			if ((in->unflushed > 0 && !inst_flush(in)) ||
			    inst_dead_letter(in, be->seq, err) != 0)
				return false;
			inst_status(in, "running", err);
			return true;
		}
		inst_save(in, false);
		inst_status(in, "retrying", err);
		log_warnx("plugin %s: event %llu: %s; retry %d", in->pcfg->name,
		    (unsigned long long)be->seq, err, attempt + 1);
		if (deliver_sleep(in->d, http_backoff_ms(attempt,
		    in->d->retry_base_ms, DELIVER_RETRY_CAP_MS)))
			break;
	}
	return false;
}

/* ------------------------------------------------------------ state replay */

/*
 * `flagsync replay --state` sends the current state as flag.created and
 * link.added events marked "replay": true, for an instance added after the
 * baseline was pruned.  They are made from the cache, not the log, and
 * carry seq 0, never the seq of a real event (SPEC §7): a plugin that
 * remembers seqs must not take them for events it has seen.  The request
 * stays in the cache until every event was taken, so a crash repeats it.
 */
struct state_item {
	char	*project;
	char	*flag;
	char	*issue;		/* NULL: the flag itself */
	uint32_t mask;
};

struct state_list {
	struct state_item *v;
	size_t	 n, cap;
};

static int
state_push(struct state_list *l, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct state_item *it;

	if (ARRAY_GROW(l->v, l->cap, l->n + 1) != 0)
		return ENOMEM;
	it = &l->v[l->n];
	it->project = strdup(project);
	it->flag = strdup(flag);
	it->issue = issue ? strdup(issue) : NULL;
	it->mask = mask;
	if (!it->project || !it->flag || (issue && !it->issue)) {
		free(it->project);
		free(it->flag);
		free(it->issue);
		return ENOMEM;
	}
	l->n++;
	return 0;
}

static void
state_release(struct state_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].project);
		free(l->v[i].flag);
		free(l->v[i].issue);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
state_flag_cb(void *arg, const char *project, const char *flag,
    const void *rec, size_t len)
{
	(void)rec;
	(void)len;
	return state_push(arg, project, flag, NULL, 0);
}

static int
state_link_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	return state_push(arg, project, flag, issue, mask);
}

/* The replayed event for one item, as the log would have it. */
static int
state_event(struct cache_txn *t, const struct state_item *it, uint64_t seq,
    int64_t now, struct buf *out)
{
	const char *src[LINK_SRC_COUNT + 1];
	struct flag_view v;
	struct event ev;
	char **issues = NULL;
	const void *rec;
	size_t len, nissues = 0;
	int rc;

	view_init(&v);
	memset(&ev, 0, sizeof(ev));
	if ((rc = cache_flag_get(t, it->project, it->flag, &rec, &len)) == 0)
		rc = view_decode(&v, rec, len);
	else if (rc == FS_ENOTFOUND && it->issue)
		rc = 0;		/* a link to a flag Split does not have */
	if (rc == 0)
		rc = commit_flag_issues(t, it->project, it->flag, &issues,
		    &nissues);
	if (rc != 0 || (it->issue == NULL && !v.defined))
		goto view_release;
	ev.seq = seq;
	ev.time = now;
	ev.type = it->issue ? EV_LINK_ADDED : EV_FLAG_CREATED;
	ev.project = it->project;
	ev.flag = it->flag;
	ev.environment = v.environment;
	ev.issues = (const char *const *)issues;
	ev.nissues = nissues;
	ev.after = it->issue ? NULL : &v;
	ev.issue = it->issue;
	ev.nsources = commit_mask_sources(it->mask, src);
	ev.sources = src;
	ev.replay = 1;
	buf_reset(out);
	rc = event_format(&ev, out);
view_release:
	commit_free_strv(issues);
	view_release(&v);
	return rc;
}

static int
state_collect(struct instance *in, struct state_list *l)
{
	struct cache_txn *t;
	int rc;

	if ((rc = cache_read_begin(in->d->c, &t)) != 0)
		return rc;
	if ((rc = cache_flag_foreach(t, NULL, state_flag_cb, l)) == 0)
		rc = cache_link_foreach(t, NULL, state_link_cb, l);
	cache_read_end(t);
	return rc;
}

static int
state_request_done(struct cache_txn *t, void *arg)
{
	int rc = cache_cursor_del(t, arg);

	return rc == FS_ENOTFOUND ? 0 : rc;
}

static void
inst_replay_state(struct instance *in)
{
	struct state_list l;
	struct batch_event be;
	struct cache_txn *t;
	struct buf out;
	json_object *doc;
	char key[256];
	uint64_t dummy;
	size_t i, sent = 0;
	int rc;

	snprintf(key, sizeof(key), DELIVER_STATE_PREFIX "%s", in->pcfg->name);
	if (cache_read_begin(in->d->c, &t) != 0)
		return;
	rc = cache_cursor_get(t, key, &dummy);
	cache_read_end(t);
	if (rc != 0)
		return;
	memset(&l, 0, sizeof(l));
	buf_init(&out, 0);
	if ((rc = state_collect(in, &l)) != 0)
		goto release;
	log_info("plugin %s: replaying the current state (%zu items)",
	    in->pcfg->name, l.n);
	for (i = 0; i < l.n && !atomic_load(&in->d->stop); i++) {
		if ((rc = cache_read_begin(in->d->c, &t)) != 0)
			break;
		/* whole seconds, as the event's "time" says */
		be.time_ms = clock_now_ms() / 1000 * 1000;
		rc = state_event(t, &l.v[i], 0, be.time_ms, &out);
		cache_read_end(t);
		if (rc != 0 || out.len == 0)
			continue;
		be.seq = 0;
		be.json = out.data;
		be.len = out.len;
		if ((doc = json_tokener_parse(out.data)) == NULL)
			continue;
		if (inst_selects(in, jfield(doc, "type"))) {
			if (!inst_deliver(in, &be, doc)) {
				json_object_put(doc);
				goto release;
			}
			sent++;
		}
		json_object_put(doc);
		buf_reset(&out);
	}
	if (!atomic_load(&in->d->stop) &&
	    cache_write(in->d->c, state_request_done, key) == 0)
		log_info("plugin %s: state replayed (%zu events)",
		    in->pcfg->name, sent);
release:
	buf_release(&out);
	state_release(&l);
}

/* Delivers one fetched batch; returns false when it had to stop early. */
static bool
inst_run_batch(struct instance *in, struct fetch *f)
{
	json_object *doc;
	const char *type;
	size_t i;
	bool taken;

	for (i = 0; i < f->n && !atomic_load(&in->d->stop); i++) {
		if (atomic_exchange(&in->reopen, false) && in->lp.desc->reopen)
			in->lp.desc->reopen(in->ctx);
		if ((doc = json_tokener_parse(f->v[i].json)) == NULL ||
		    (type = jfield(doc, "type")) == NULL) {
			/* the log is ours: this cannot happen unless corrupt */
			log_warnx("plugin %s: event %llu is unreadable; dead "
			    "letter kept", in->pcfg->name,
			    (unsigned long long)f->v[i].seq);
			json_object_put(doc);
			if ((atomic_load(&in->unflushed) > 0 &&
			    !inst_flush(in)) || inst_dead_letter(in,
			    f->v[i].seq, "unreadable event in the log") != 0)
				return false;
			atomic_store(&in->cursor, f->v[i].seq);
			continue;
		}
		taken = !inst_selects(in, type) || inst_deliver(in, &f->v[i],
		    doc);
		json_object_put(doc);
		if (!taken)
			return false;
		atomic_store(&in->cursor, f->v[i].seq);
		if (atomic_load(&in->unflushed) >= DELIVER_SAVE_EVERY &&
		    !inst_flush(in))
			return false;
		inst_maybe_save(in);
	}
	return true;
}

static void
inst_wait_events(struct instance *in, uint64_t gen)
{
	struct deliver *d = in->d;
	struct timespec ts;

	abs_after(&ts, DELIVER_IDLE_MS);
	pthread_mutex_lock(&d->mtx);
	pthread_cond_broadcast(&d->progress);
	while (!atomic_load(&d->stop) && d->gen == gen)
		if (pthread_cond_timedwait(&d->wake, &d->mtx, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&d->mtx);
}

static void *
inst_main(void *arg)
{
	struct instance *in = arg;
	struct deliver *d = in->d;
	struct batch_event *v;
	struct fetch f;
	uint64_t gen;

	if ((v = calloc(DELIVER_BATCH, sizeof(*v))) == NULL) {
		log_warnx("plugin %s: out of memory", in->pcfg->name);
		atomic_store(&in->exited, true);
		return NULL;
	}
	f.v = v;
	f.n = 0;
	while (!atomic_load(&d->stop)) {
		pthread_mutex_lock(&d->mtx);
		gen = d->gen;
		pthread_mutex_unlock(&d->mtx);
		inst_take_replay(in);
		inst_replay_state(in);
		atomic_store(&in->replaying, false);
		if (inst_fetch(in, &f) != 0) {
			deliver_sleep(d, DELIVER_IDLE_MS);
			continue;
		}
		if (f.n == 0) {
			/* the backlog is empty: a batching plugin writes out */
			if (atomic_load(&in->unflushed) > 0 && !inst_flush(in))
				continue;
			inst_save(in, false);
			inst_wait_events(in, gen);
			continue;
		}
		inst_run_batch(in, &f);
		fetch_release(&f);
		pthread_mutex_lock(&d->mtx);
		pthread_cond_broadcast(&d->progress);
		pthread_mutex_unlock(&d->mtx);
	}
	fetch_release(&f);
	free(v);
	if (atomic_load(&in->unflushed) > 0)
		inst_flush(in);
	inst_save(in, false);
	atomic_store(&in->exited, true);
	pthread_mutex_lock(&d->mtx);
	pthread_cond_broadcast(&d->progress);
	pthread_mutex_unlock(&d->mtx);
	return NULL;
}

/* ------------------------------------------------------------ start */

static int
inst_globs(struct instance *in)
{
	const char *p = in->pcfg->events ? in->pcfg->events : "*";
	size_t len;

	while (*p) {
		p += strspn(p, ", \t");
		if ((len = strcspn(p, ", \t")) == 0)
			break;
		if (ARRAY_GROW(in->globs, in->globs_cap, in->nglobs + 1) != 0)
			return ENOMEM;
		if ((in->globs[in->nglobs] = strndup(p, len)) == NULL)
			return ENOMEM;
		in->nglobs++;
		p += len;
	}
	return 0;
}

static int
inst_cursor_load(struct instance *in)
{
	struct cache_txn *t;
	uint64_t seq = 0;
	int rc;

	if ((rc = cache_read_begin(in->d->c, &t)) != 0)
		return rc;
	rc = cache_cursor_get(t, in->pcfg->name, &seq);
	cache_read_end(t);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	in->fresh = rc == FS_ENOTFOUND;
	atomic_store(&in->cursor, seq);
	in->saved = seq;
	in->saved_at = clock_now_ms();
	return 0;
}

/*
 * A new instance (no cursor yet) starts where its `start` says, decided
 * once, before its thread runs, and made durable at once: neither when
 * the first poll commits nor a restart can move it.  oldest: every
 * retained event; latest: only events committed from now on.
 */
static int
inst_start_point(struct instance *in)
{
	struct cursor_op op = { in->pcfg->name, 0, NULL, 0, 0 };
	struct cache_txn *t;
	uint64_t first = 0, last = 0;
	int rc;

	if (!in->fresh)
		return 0;
	if ((rc = cache_read_begin(in->d->c, &t)) != 0)
		return rc;
	if ((rc = cache_event_first(t, &first)) == 0)
		rc = cache_event_last(t, &last);
	cache_read_end(t);
	if (rc != 0)
		return rc;
	if (in->pcfg->start == CONFIG_START_LATEST || first == 0)
		op.seq = last;		/* latest, or every event pruned */
	else
		op.seq = first - 1;
	if ((rc = cache_write(in->d->c, cursor_write, &op)) != 0)
		return rc;
	atomic_store(&in->cursor, op.seq);
	in->saved = op.seq;
	in->fresh = false;
	return 0;
}

/* Loads, initialises and starts one instance; false when refused. */
static bool
inst_start(struct instance *in)
{
	char err[1024];
	int rc;

	err[0] = '\0';
	host_init(&in->host, in->d->cfg, in->pcfg, in->d->c);
	in->host.stopping = &in->d->stop;
	in->host.overdue = &in->stuck;
	if ((rc = inst_globs(in)) != 0 || (rc = inst_cursor_load(in)) != 0) {
		snprintf(err, sizeof(err), "%s", fs_strerror(rc));
		goto refuse;
	}
	if ((rc = loader_open(in->pcfg->module, &in->lp, err,
	    sizeof(err))) != 0)
		goto refuse;
	host_config_reset(&in->host);
	if ((rc = in->lp.desc->init(host_api(), &in->host, &in->ctx, err,
	    sizeof(err))) != 0) {
		host_clean_error(err, sizeof(err));
		/* config_error() named the key's line: that says more */
		if (host_config_message(&in->host) != NULL)
			snprintf(err, sizeof(err), "%s",
			    host_config_message(&in->host));
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "init() returned %d", rc);
		goto refuse;
	}
	in->inited = true;
	in->has_flush = LOADER_HAS(in->lp.desc, flush);
	/* until the thread has looked for a `replay --state` request, the
	 * instance is not idle, wherever its cursor is */
	atomic_store(&in->replaying, true);
	if ((rc = inst_start_point(in)) != 0) {
		snprintf(err, sizeof(err), "cannot record where it starts: %s",
		    fs_strerror(rc));
		goto refuse;
	}
	if (pthread_create(&in->thread, NULL, inst_main, in) != 0) {
		snprintf(err, sizeof(err), "cannot start its thread");
		goto refuse;
	}
	in->started = true;
	inst_status(in, "running", NULL);
	log_info("plugin %s: module %s %s (%s), ABI %u.%u, from seq %llu",
	    in->pcfg->name, in->lp.desc->name, in->lp.desc->version ?
	    in->lp.desc->version : "(no version)", in->lp.path,
	    in->lp.desc->abi_major, in->lp.desc->abi_minor,
	    (unsigned long long)atomic_load(&in->cursor) + 1);
	return true;
refuse:
	log_warnx("plugin %s refused: %s", in->pcfg->name, err);
	host_set_error(&in->host, err);
	inst_status(in, "refused", err);
	return false;
}

/* Reports deliver() calls that run past the instance's timeout. */
static void *
watchdog_main(void *arg)
{
	struct deliver *d = arg;
	struct instance *in;
	char msg[256];
	int64_t since;
	size_t i;

	while (!deliver_sleep(d, 500)) {
		for (i = 0; i < d->n; i++) {
			in = &d->inst[i];
			since = atomic_load(&in->call_since);
			if (!in->started || since == 0 ||
			    clock_now_ms() - since < (int64_t)in->pcfg->timeout * 1000 ||
			    atomic_load(&in->stuck))
				continue;
			snprintf(msg, sizeof(msg), "deliver() of event %llu has "
			    "not returned after %d s (timeout %d s)",
			    (unsigned long long)atomic_load(&in->call_seq),
			    (int)((clock_now_ms() - since) / 1000), in->pcfg->timeout);
			log_warnx("plugin %s: %s", in->pcfg->name, msg);
			host_set_error(&in->host, msg);
			atomic_store(&in->stuck, true);
			inst_status(in, "stuck", msg);
		}
	}
	return NULL;
}

int
deliver_start(struct deliver **out, struct cache *c, const struct config *cfg)
{
	struct deliver *d;
	const char *base;
	size_t i;
	int rc;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ENOMEM;
	if (cfg->nplugins &&
	    (d->inst = calloc(cfg->nplugins, sizeof(*d->inst))) == NULL) {
		free(d);
		return ENOMEM;
	}
	d->c = c;
	d->cfg = cfg;
	d->n = cfg->nplugins;
	d->retry_base_ms = DELIVER_RETRY_BASE_MS;
#ifdef FLAGSYNC_TEST_HOOKS
	if ((base = getenv("FLAGSYNC_TEST_RETRY_MS")) != NULL)
		d->retry_base_ms = atoll(base);
#else
	(void)base;
#endif
	if ((rc = pthread_mutex_init(&d->mtx, NULL)) != 0)
		goto inst_free;
	if ((rc = pthread_cond_init(&d->wake, NULL)) != 0)
		goto mtx_destroy;
	if ((rc = pthread_cond_init(&d->progress, NULL)) != 0)
		goto wake_destroy;
	for (i = 0; i < d->n; i++) {
		d->inst[i].d = d;
		d->inst[i].pcfg = &cfg->plugins[i];
		/* Static init: nothing to fail once instances are running. */
		d->inst[i].smtx = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		if (!inst_start(&d->inst[i]))
			d->refused++;
	}
	if (d->n && pthread_create(&d->watchdog, NULL, watchdog_main, d) == 0)
		d->watchdog_started = true;
	*out = d;
	return 0;
wake_destroy:
	pthread_cond_destroy(&d->wake);
mtx_destroy:
	pthread_mutex_destroy(&d->mtx);
inst_free:
	free(d->inst);
	free(d);
	return rc;
}

size_t
deliver_refused(const struct deliver *d)
{
	return d->refused;
}

void
deliver_notify(struct deliver *d)
{
	pthread_mutex_lock(&d->mtx);
	d->gen++;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->mtx);
}

void
deliver_reopen(struct deliver *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		atomic_store(&d->inst[i].reopen, true);
	deliver_notify(d);
}

/* ------------------------------------------------------------ waiting */

static bool
all_taken(struct deliver *d, uint64_t last)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->inst[i].started && !atomic_load(&d->inst[i].exited) &&
		    (atomic_load(&d->inst[i].cursor) < last ||
		    atomic_load(&d->inst[i].unflushed) > 0 ||
		    atomic_load(&d->inst[i].replaying)))
			return false;
	return true;
}

int
deliver_wait_idle(struct deliver *d, int64_t timeout_ms)
{
	struct cache_txn *t;
	struct timespec ts;
	uint64_t last = 0;
	int64_t end = clock_now_ms() + timeout_ms;
	size_t i;
	bool done;

	if (cache_read_begin(d->c, &t) == 0) {
		cache_event_last(t, &last);
		cache_read_end(t);
	}
	deliver_notify(d);
	pthread_mutex_lock(&d->mtx);
	while (!(done = all_taken(d, last)) && clock_now_ms() < end) {
		abs_after(&ts, 100);
		pthread_cond_timedwait(&d->progress, &d->mtx, &ts);
	}
	pthread_mutex_unlock(&d->mtx);
	if (done)
		return 0;
	for (i = 0; i < d->n; i++)
		if (d->inst[i].started && atomic_load(&d->inst[i].cursor) < last)
			log_warnx("plugin %s: %llu events not delivered yet "
			    "(at seq %llu of %llu)", d->inst[i].pcfg->name,
			    (unsigned long long)(last -
			    atomic_load(&d->inst[i].cursor)),
			    (unsigned long long)atomic_load(&d->inst[i].cursor),
			    (unsigned long long)last);
	return FS_ETIMEOUT;
}

static void
inst_free(struct instance *in)
{
	size_t i;

	if (in->inited)
		in->lp.desc->shutdown(in->ctx);
	loader_close(&in->lp);
	host_release(&in->host);
	for (i = 0; i < in->nglobs; i++)
		free(in->globs[i]);
	free(in->globs);
}

size_t
deliver_stop(struct deliver *d, int64_t grace_ms)
{
	struct timespec ts;
	size_t i, abandoned = 0;

	atomic_store(&d->stop, true);
	deliver_notify(d);
	abs_after(&ts, grace_ms);
	for (i = 0; i < d->n; i++) {
		struct instance *in = &d->inst[i];

		if (in->started && pthread_timedjoin_np(in->thread, NULL,
		    &ts) != 0) {
			log_warnx("plugin %s: still inside deliver() after "
			    "%lld ms; leaving it (its cursor is saved)",
			    in->pcfg->name, (long long)grace_ms);
			pthread_detach(in->thread);
			abandoned++;
			continue;
		}
		in->started = false;
		inst_free(in);
	}
	if (d->watchdog_started)
		pthread_join(d->watchdog, NULL);
	/* a thread left inside a plugin still uses d: let the exit reap it */
	if (abandoned)
		return abandoned;
	pthread_cond_destroy(&d->wake);
	pthread_cond_destroy(&d->progress);
	pthread_mutex_destroy(&d->mtx);
	free(d->inst);
	free(d);
	return 0;
}

/* ------------------------------------------------------------ pruning */

struct prune {
	const struct config *cfg;
	int64_t	 cutoff;	/* ms: events before this may go */
	uint64_t keep_after;	/* lowest cursor: events after it stay */
	uint64_t upto;
	struct cache_txn *t;
	int	 rc;
};

static int
prune_cb(void *arg, uint64_t seq, const char *json, size_t len)
{
	struct prune *p = arg;
	int64_t ms;

	(void)json;
	(void)len;
	if (seq > p->keep_after)
		return -1;
	if ((p->rc = cache_event_time(p->t, seq, &ms)) != 0)
		return -1;
	if (ms >= p->cutoff)
		return -1;
	p->upto = seq;
	return 0;
}

static int
prune_txn(struct cache_txn *t, void *arg)
{
	struct prune *p = arg;
	uint64_t seq;
	size_t i;
	int rc;

	p->keep_after = UINT64_MAX;
	p->upto = 0;
	p->t = t;
	p->rc = 0;
	for (i = 0; i < p->cfg->nplugins; i++) {
		rc = cache_cursor_get(t, p->cfg->plugins[i].name, &seq);
		if (rc == FS_ENOTFOUND)
			seq = 0;
		else if (rc != 0)
			return rc;
		if (seq < p->keep_after)
			p->keep_after = seq;
	}
	rc = cache_event_foreach(t, 0, prune_cb, p);
	if (rc != 0 && rc != -1)
		return rc;
	if (p->rc != 0)
		return p->rc;
	return p->upto ? cache_event_prune(t, p->upto) : 0;
}

int
deliver_prune(struct cache *c, const struct config *cfg, int64_t retention_s,
    uint64_t *pruned)
{
	struct cache_txn *t;
	struct prune p;
	uint64_t first = 0;
	int rc;

	*pruned = 0;
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.cutoff = clock_now_ms() - retention_s * 1000;
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	rc = cache_event_first(t, &first);
	cache_read_end(t);
	if (rc != 0 || first == 0)
		return rc;
	if ((rc = cache_write(c, prune_txn, &p)) == 0 && p.upto >= first)
		*pruned = p.upto - first + 1;
	return rc;
}
