/*
 * deliver.c - one plugin instance reading the event log: the delivery loop
 * that runs in the instance's own process (outproc.c), and the helpers
 * the supervisor (supervise.c) shares with it: dead letters, status
 * records, pruning.
 */
#include "autoconf.h"

#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
#include "jsonw.h"
#include "loader.h"
#include "log.h"
#include "maxlen.h"
#include "outproc.h"
#include "view.h"

#define DELIVER_BATCH		512	/* events read per read transaction */
#define DELIVER_SAVE_EVERY	1000	/* events between cursor writes ... */
#define DELIVER_SAVE_MS		200	/* ... or this long */
#define DELIVER_IDLE_MS		1000	/* look for new events at least this often */
#define DELIVER_REPLAY_PREFIX	"replay:"

struct batch_event {
	uint64_t seq;			/* 0: a state-replay item */
	uint64_t item;			/* a state-replay item's number */
	int64_t	 time_ms;		/* its commit time */
	bool	 retry;			/* a dead letter delivered again */
	char	*json;
	size_t	 len;
};

struct instance {
	struct cache *c;
	const struct config *cfg;
	const struct config_plugin *pcfg;
	struct outproc_board *b;	/* shared with the supervisor */
	int	 wake_fd;		/* the supervisor's pipe */
	struct loaded_plugin lp;
	struct flagsync_host host;
	void	*ctx;
	bool	 inited;
	bool	 fresh;			/* no cursor yet: `start` decides */
	bool	 has_flush;
	size_t	 unflushed;		/* OK since the last flush() */
	int	 flush_fails;		/* in a row, for the backoff */
	char	**globs;
	size_t	 nglobs, globs_cap;
	uint64_t cursor;		/* last seq taken */
	uint64_t saved;			/* last seq made durable */
	int64_t	 saved_at;
	bool	 stop;			/* the supervisor closed the pipe */
	bool	 reopen;
	bool	 stuck;			/* the supervisor reported it */
	bool	 failed;		/* the last event taken was a FAIL */
	int64_t	 retry_base_ms;
	char	 state[16];		/* last status written */
	char	 status_error[512];
};

/* ------------------------------------------------------------ status */

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

struct status_op {
	const char *source;
	const struct deliver_status *st;
};

/*
 * Read-modify-write in one transaction: the instance's process and the
 * supervisor both write the record (each the fields it knows), and
 * neither may undo what the other wrote.
 */
static int
status_write(struct cache_txn *t, void *arg)
{
	struct status_op *op = arg;
	const struct deliver_status *st = op->st;
	json_object *o = NULL;
	const char *js;
	char tbuf[32];
	size_t len;
	int rc;

	/* a value in the map has no NUL: parse exactly len bytes */
	if (cache_status_get(t, op->source, &js, &len) == 0)
		o = jsonw_parse(js, len);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	if (o == NULL && (o = json_object_new_object()) == NULL)
		return ENOMEM;
	view_format_time(clock_now_ms(), tbuf);
	rc = ENOMEM;
	if (!jadd(o, "ok", json_object_new_boolean(
	    strcmp(st->state, "running") == 0)) ||
	    !jadd(o, "state", json_object_new_string(st->state)) ||
	    (st->error != NULL && !jadd(o, "error",
	    json_object_new_string(st->error))) ||
	    (st->error == NULL && !st->keep_error &&
	    json_object_object_add(o, "error", NULL) != 0) ||
	    !jadd(o, "since", json_object_new_string(tbuf)) ||
	    !jadd(o, "module", json_object_new_string(st->module)) ||
	    !jadd(o, "restarts", json_object_new_int64(
	    (int64_t)st->restarts)) ||
	    !jadd(o, "agent_pid", json_object_new_int64(
	    (int64_t)st->agent_pid)))
		goto put;
	if ((st->path && !jadd(o, "path", json_object_new_string(st->path))) ||
	    (st->abi && !jadd(o, "abi", json_object_new_string(st->abi))) ||
	    (st->version && !jadd(o, "version",
	    json_object_new_string(st->version))))
		goto put;
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (js != NULL)
		rc = cache_status_put(t, op->source, js, strlen(js));
put:
	json_object_put(o);
	return rc;
}

int
deliver_status_update(struct cache *c, const char *instance,
    const struct deliver_status *st)
{
	struct status_op op;
	char source[FS_INSTANCE_MAX + 16];

	snprintf(source, sizeof(source), "plugin:%s", instance);
	op.source = source;
	op.st = st;
	return cache_write(c, status_write, &op);
}

/*
 * The instance's status record ("plugin:NAME"), written only when its
 * state or error changes, so an idle instance writes nothing.
 */
static void
inst_status_ext(struct instance *in, const char *state, const char *error,
    bool keep_error)
{
	struct deliver_status st;
	char abi[32];

	if (strcmp(in->state, state) == 0 &&
	    strcmp(in->status_error, error ? error : "") == 0)
		return;
	snprintf(in->state, sizeof(in->state), "%s", state);
	snprintf(in->status_error, sizeof(in->status_error), "%s",
	    error ? error : "");
	memset(&st, 0, sizeof(st));
	st.state = state;
	st.error = error;
	st.keep_error = keep_error;
	st.module = in->pcfg->module;
	st.path = in->lp.path;
	st.restarts = atomic_load(&in->b->restarts);
	st.agent_pid = getppid();
	if (in->lp.desc) {
		snprintf(abi, sizeof(abi), "%u.%u", in->lp.desc->abi_major,
		    in->lp.desc->abi_minor);
		st.abi = abi;
		st.version = in->lp.desc->version;
	}
	if (deliver_status_update(in->c, in->pcfg->name, &st) != 0) {
		/* Forget the state so that the next call tries again. */
		in->state[0] = '\0';
		log_warnx("plugin %s: cannot record its status",
		    in->pcfg->name);
	}
}

static void
inst_status(struct instance *in, const char *state, const char *error)
{
	inst_status_ext(in, state, error, false);
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
	if (op->dead && op->seq == 0)
		return 0;	/* a state-replay item's letter moves nothing */
	return cache_cursor_put(t, op->instance, op->seq);
}

/*
 * Makes the in-memory cursor durable (when it moved, or when forced).
 * Never past events a flush() has not yet written out.
 */
static void
inst_save(struct instance *in, bool force)
{
	struct cursor_op op = { in->pcfg->name, in->cursor,
	    NULL, 0, 0 };
	int rc;

	if ((!force && op.seq == in->saved) || in->unflushed > 0)
		return;
	if ((rc = cache_write(in->c, cursor_write, &op)) != 0) {
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
	if (in->cursor - in->saved >= DELIVER_SAVE_EVERY ||
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
	if (cache_write(in->c, replay_take_txn, &r) != 0 || !r.found)
		return;
	log_info("plugin %s: replaying from seq %llu", in->pcfg->name,
	    (unsigned long long)r.seq + 1);
	in->cursor = r.seq;
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
	e->item = 0;
	e->retry = false;
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
	if ((rc = cache_read_begin(in->c, &t)) != 0)
		return rc;
	f->t = t;
	rc = cache_event_foreach(t, in->cursor, fetch_cb, f);
	if (rc == 0 && f->n == 0)
		rc = cache_event_last(t, &last);
	cache_read_end(t);
	if (rc == 0 && f->n == 0 && last > in->cursor)
		in->cursor = last;
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

/*
 * Reads what the supervisor wrote on the wake pipe: any byte is a wake-up,
 * OUTPROC_REOPEN asks for reopen() (SIGHUP), end of file means stop.
 */
static void
inst_drain(struct instance *in)
{
	char buf[64];
	ssize_t n, i;

	while ((n = read(in->wake_fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			if (buf[i] == OUTPROC_REOPEN)
				in->reopen = true;
	if (n == 0)
		in->stop = true;
}

/* Waits up to ms for the supervisor; true when it said stop. */
static bool
inst_sleep(struct instance *in, int64_t ms)
{
	struct pollfd pfd;

	pfd.fd = in->wake_fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (!in->stop && poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX :
	    (int)ms) > 0)
		inst_drain(in);
	return in->stop;
}

char *
deliver_dead_format(const char *instance, uint64_t seq, const char *msg)
{
	json_object *o;
	char tbuf[32], *out = NULL;
	const char *js;

	view_format_time(clock_now_ms(), tbuf);
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (jadd(o, "seq", json_object_new_int64((int64_t)seq)) &&
	    jadd(o, "instance", json_object_new_string(instance)) &&
	    jadd(o, "message", json_object_new_string(msg)) &&
	    jadd(o, "time", json_object_new_string(tbuf)) &&
	    (js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) != NULL)
		out = strdup(js);
	json_object_put(o);
	return out;
}

int
deliver_dead_letter(struct cache *c, const char *instance, uint64_t seq,
    uint64_t cursor, const char *msg)
{
	struct cursor_op op;
	char *js;
	int rc;

	/* Without its dead letter the event is not taken: never lost. */
	if ((js = deliver_dead_format(instance, seq, msg)) == NULL)
		return ENOMEM;
	op.instance = instance;
	op.seq = cursor;
	op.dead = js;
	op.dead_len = strlen(js);
	op.dead_seq = seq;
	rc = cache_write(c, cursor_write, &op);
	free(js);
	return rc;
}

/*
 * A state-replay item that failed: its letter is kept apart, under
 * "replay:NAME" and the item's number, and never moves the cursor (the
 * item has no seq of the log).
 */
static int
inst_replay_dead_letter(struct instance *in, uint64_t item, const char *msg)
{
	char key[FS_INSTANCE_MAX + 16];

	snprintf(key, sizeof(key), DELIVER_STATE_DEAD_PREFIX "%s",
	    in->pcfg->name);
	return deliver_dead_letter(in->c, key, item, 0, msg);
}

static int
inst_dead_letter(struct instance *in, uint64_t seq, const char *msg)
{
	int rc;

	if ((rc = deliver_dead_letter(in->c, in->pcfg->name, seq, seq,
	    msg)) == 0) {
		in->saved = seq;
		in->saved_at = clock_now_ms();
	}
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
	atomic_store(&in->b->call_seq, in->cursor);
	atomic_store(&in->b->call_replay, 0);
	atomic_store(&in->b->call_since, clock_now_ms());
	rc = in->lp.desc->flush(in->ctx, err, sizeof(err));
	atomic_store(&in->b->call_since, 0);
	host_clean_error(err, sizeof(err));
	if (rc == FLAGSYNC_OK) {
		in->unflushed = 0;
		if (atomic_exchange(&in->b->stuck, false) || in->flush_fails) {
			in->state[0] = '\0';
			inst_status(in, "running", NULL);
		}
		in->flush_fails = 0;
		inst_save(in, false);
		atomic_store(&in->b->cursor, in->cursor);
		return true;
	}
	in->cursor = in->saved;
	atomic_store(&in->b->cursor, in->cursor);
	in->unflushed = 0;
	atomic_store(&in->b->stuck, false);
	if (err[0] == '\0')
		snprintf(err, sizeof(err), "flush() returned %d", rc);
	host_set_error(&in->host, err);
	inst_status(in, "retrying", err);
	log_warnx("plugin %s: flush() after event %llu: %s; delivering again "
	    "from event %llu", in->pcfg->name,
	    (unsigned long long)atomic_load(&in->b->call_seq), err,
	    (unsigned long long)in->saved + 1);
	inst_sleep(in, http_backoff_ms(in->flush_fails++, in->retry_base_ms,
	    DELIVER_RETRY_CAP_MS));
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
	for (attempt = 0; !in->stop; attempt++) {
		err[0] = '\0';
		/* the scoreboard tells the supervisor what a crash was on */
		/* a state-replay item is known by its number */
		atomic_store(&in->b->call_seq, ev.replay ? be->item : be->seq);
		atomic_store(&in->b->call_replay, ev.replay ? 1 : 0);
		atomic_store(&in->b->call_since, clock_now_ms());
		rc = in->lp.desc->deliver(in->ctx, &ev, err, sizeof(err));
		atomic_store(&in->b->call_since, 0);
		host_clean_error(err, sizeof(err));
		if (atomic_exchange(&in->b->stuck, 0)) {
			/* the supervisor wrote "stuck" over our last state */
			in->state[0] = '\0';
			inst_status(in, "running", NULL);
		}
		in->failed = rc == FLAGSYNC_FAIL;
		if (rc == FLAGSYNC_OK) {
			if (attempt)
				inst_status(in, "running", NULL);
			if (in->has_flush && !ev.replay)
				in->unflushed++;
			return true;
		}
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "deliver() returned %d", rc);
		host_set_error(&in->host, err);
		if (rc == FLAGSYNC_FAIL && ev.replay) {
			log_warnx("plugin %s: replayed %s %s/%s failed: %s; "
			    "skipped (kept apart as "
			    DELIVER_STATE_DEAD_PREFIX "%s item %llu)",
			    in->pcfg->name, ev.type ? ev.type : "?",
			    ev.project ? ev.project : "?",
			    ev.flag ? ev.flag : "?", err, in->pcfg->name,
			    (unsigned long long)be->item);
			if (inst_replay_dead_letter(in, be->item, err) != 0)
				return false;
			inst_status(in, "running", err);
			return true;
		}
		if (rc == FLAGSYNC_FAIL && be->retry) {
			/* failed again: the letter stays, the cursor too */
			log_warnx("plugin %s: dead letter %llu failed again: "
			    "%s", in->pcfg->name, (unsigned long long)be->seq,
			    err);
			if (deliver_dead_letter(in->c, in->pcfg->name, be->seq,
			    0, err) != 0)
				return false;
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
		if (inst_sleep(in, http_backoff_ms(attempt, in->retry_base_ms,
		    DELIVER_RETRY_CAP_MS)))
			break;
	}
	return false;
}

/* ------------------------------------------------------------ retries */

/*
 * `flagsync deadletters --retry` marks letters "retry": true; the
 * instance delivers those events again, in seq order, from the log: OK
 * removes the letter, FAIL replaces it, and the cursor never moves.  An
 * event pruned since is not retried: its letter says so.
 */
struct retry_list {
	uint64_t *v;
	size_t	 n, cap;
};

static int
retry_cb(void *arg, const char *instance, uint64_t seq, const char *json,
    size_t len)
{
	struct retry_list *l = arg;

	(void)instance;
	if (memmem(json, len, "\"retry\":true", 12) == NULL)
		return 0;
	if (ARRAY_GROW(l->v, l->cap, l->n + 1) != 0)
		return ENOMEM;
	l->v[l->n++] = seq;
	return 0;
}

struct retry_done {
	const char *instance;
	uint64_t seq;
};

static int
retry_done_txn(struct cache_txn *t, void *arg)
{
	struct retry_done *r = arg;
	int rc = cache_dead_del(t, r->instance, r->seq);

	return rc == FS_ENOTFOUND ? 0 : rc;
}

/* Delivers one retried letter's event; false when it had to stop. */
static bool
inst_retry_one(struct instance *in, uint64_t seq)
{
	struct retry_done done = { in->pcfg->name, seq };
	struct batch_event be;
	struct cache_txn *t;
	json_object *doc = NULL;
	const char *js;
	size_t len = 0;
	bool taken;
	int rc;

	memset(&be, 0, sizeof(be));
	if (cache_read_begin(in->c, &t) != 0)
		return false;
	if ((rc = cache_event_get(t, seq, &js, &len)) == 0 &&
	    (be.json = strndup(js, len)) == NULL)
		rc = ENOMEM;
	if (rc == 0 && cache_event_time(t, seq, &be.time_ms) != 0)
		be.time_ms = 0;
	cache_read_end(t);
	if (rc == FS_ENOTFOUND) {
		log_warnx("plugin %s: dead letter %llu not retried: the event "
		    "was pruned", in->pcfg->name, (unsigned long long)seq);
		return deliver_dead_letter(in->c, in->pcfg->name, seq, 0,
		    "not retried: the event was pruned from the log") == 0;
	}
	if (rc != 0 || (doc = json_tokener_parse(be.json)) == NULL) {
		free(be.json);
		return false;
	}
	be.seq = seq;
	be.len = len;
	be.retry = true;
	log_info("plugin %s: delivering dead letter %llu again",
	    in->pcfg->name, (unsigned long long)seq);
	taken = inst_deliver(in, &be, doc);
	json_object_put(doc);
	free(be.json);
	if (!taken)
		return false;
	if (in->failed)
		return true;	/* FAIL has replaced the letter */
	return cache_write(in->c, retry_done_txn, &done) == 0;
}

static void
inst_take_retries(struct instance *in)
{
	struct retry_list l;
	struct cache_txn *t;
	size_t i;
	int rc;

	memset(&l, 0, sizeof(l));
	if (cache_read_begin(in->c, &t) != 0)
		return;
	rc = cache_dead_foreach(t, in->pcfg->name, retry_cb, &l);
	cache_read_end(t);
	for (i = 0; rc == 0 && i < l.n && !in->stop; i++)
		if (!inst_retry_one(in, l.v[i]))
			break;
	free(l.v);
}

/* ------------------------------------------------------------ state replay */

/*
 * `flagsync replay --state` sends the current state as flag.created and
 * link.added events marked "replay": true, for an instance added after the
 * baseline was pruned.  They are made from the cache, not the log, and
 * carry seq 0: they are no event of the log, and a FAIL among them is kept
 * apart (inst_replay_dead_letter) and never moves the cursor.  The request
 * stays in the cache until every item was taken, so a crash repeats it.
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
	ev.seq = seq;	/* 0: the "seq" member says this is no log event */
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

	if ((rc = cache_read_begin(in->c, &t)) != 0)
		return rc;
	rc = cache_flag_foreach(t, NULL, state_flag_cb, l);
	if (rc == 0)
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
	char key[FS_INSTANCE_MAX + 16];
	uint64_t dummy;
	size_t i, sent = 0;
	int rc;

	snprintf(key, sizeof(key), DELIVER_STATE_PREFIX "%s", in->pcfg->name);
	if (cache_read_begin(in->c, &t) != 0)
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
	for (i = 0; i < l.n && !in->stop; i++) {
		if ((rc = cache_read_begin(in->c, &t)) != 0)
			break;
		/* whole seconds, as the event's "time" says */
		be.time_ms = clock_now_ms() / 1000 * 1000;
		rc = state_event(t, &l.v[i], 0, be.time_ms, &out);
		cache_read_end(t);
		if (rc != 0 || out.len == 0)
			continue;
		be.seq = 0;
		be.item = i + 1;
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
	if (!in->stop && cache_write(in->c, state_request_done, key) == 0)
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

	for (i = 0; i < f->n && !in->stop; i++) {
		if (in->reopen && in->lp.desc->reopen) {
			in->reopen = false;
			in->lp.desc->reopen(in->ctx);
		}
		if ((doc = json_tokener_parse(f->v[i].json)) == NULL ||
		    (type = jfield(doc, "type")) == NULL) {
			/* the log is ours: this cannot happen unless corrupt */
			log_warnx("plugin %s: event %llu is unreadable; dead "
			    "letter kept", in->pcfg->name,
			    (unsigned long long)f->v[i].seq);
			json_object_put(doc);
			if ((in->unflushed > 0 && !inst_flush(in)) ||
			    inst_dead_letter(in, f->v[i].seq, "unreadable "
			    "event in the log") != 0)
				return false;
			in->cursor = f->v[i].seq;
			continue;
		}
		taken = !inst_selects(in, type) || inst_deliver(in, &f->v[i],
		    doc);
		json_object_put(doc);
		if (!taken)
			return false;
		in->cursor = f->v[i].seq;
		if (in->unflushed >= DELIVER_SAVE_EVERY && !inst_flush(in))
			return false;
		if (in->unflushed == 0)
			atomic_store(&in->b->cursor, in->cursor);
		inst_maybe_save(in);
	}
	return true;
}

void
deliver_run(struct instance *in)
{
	struct batch_event *v;
	struct fetch f;
	uint64_t gen;

	if ((v = calloc(DELIVER_BATCH, sizeof(*v))) == NULL) {
		log_warnx("plugin %s: out of memory", in->pcfg->name);
		return;
	}
	f.v = v;
	f.n = 0;
	while (!in->stop) {
		/* read before the log: a wake-up after it is not lost */
		gen = atomic_load(&in->b->wake_gen);
		inst_drain(in);
		if (in->reopen && in->lp.desc->reopen) {
			in->reopen = false;
			in->lp.desc->reopen(in->ctx);
		}
		inst_take_replay(in);
		inst_replay_state(in);
		inst_take_retries(in);
		if (inst_fetch(in, &f) != 0) {
			inst_sleep(in, DELIVER_IDLE_MS);
			continue;
		}
		if (f.n == 0) {
			/* the backlog is empty: a batching plugin writes out */
			if (in->unflushed > 0 && !inst_flush(in))
				continue;
			inst_save(in, false);
			atomic_store(&in->b->cursor, in->cursor);
			atomic_store(&in->b->idle_gen, gen);
			inst_sleep(in, DELIVER_IDLE_MS);
			continue;
		}
		inst_run_batch(in, &f);
		fetch_release(&f);
	}
	fetch_release(&f);
	free(v);
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

	if ((rc = cache_read_begin(in->c, &t)) != 0)
		return rc;
	rc = cache_cursor_get(t, in->pcfg->name, &seq);
	cache_read_end(t);
	if (rc != 0 && rc != FS_ENOTFOUND)
		return rc;
	in->fresh = rc == FS_ENOTFOUND;
	in->cursor = seq;
	atomic_store(&in->b->cursor, seq);
	in->saved = seq;
	in->saved_at = clock_now_ms();
	return 0;
}

/*
 * A new instance (no cursor yet) starts where its `start` says, decided
 * once, before it delivers, and made durable at once: neither when the
 * first poll commits nor a restart can move it.  oldest: every retained
 * event; latest: only events committed from now on.
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
	if ((rc = cache_read_begin(in->c, &t)) != 0)
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
	if ((rc = cache_write(in->c, cursor_write, &op)) != 0)
		return rc;
	in->cursor = op.seq;
	atomic_store(&in->b->cursor, op.seq);
	in->saved = op.seq;
	in->fresh = false;
	return 0;
}

int
deliver_open(struct instance **out, struct cache *c, const struct config *cfg,
    const struct config_plugin *pcfg, struct outproc_board *b, int wake_fd)
{
	struct instance *in;
	const char *base;
	char err[1024];
	int rc;

	*out = NULL;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return ENOMEM;
	in->c = c;
	in->cfg = cfg;
	in->pcfg = pcfg;
	in->b = b;
	in->wake_fd = wake_fd;
	in->retry_base_ms = DELIVER_RETRY_BASE_MS;
#ifdef FLAGSYNC_TEST_HOOKS
	if ((base = getenv("FLAGSYNC_TEST_RETRY_MS")) != NULL)
		in->retry_base_ms = atoll(base);
#else
	(void)base;
#endif
	err[0] = '\0';
	host_init(&in->host, cfg, pcfg, c);
	in->host.stopping = &b->stopping;
	in->host.overdue = &b->stuck;
	if ((rc = inst_globs(in)) != 0 || (rc = inst_cursor_load(in)) != 0) {
		snprintf(err, sizeof(err), "%s", fs_strerror(rc));
		goto refuse;
	}
	if ((rc = loader_open(pcfg->module, &in->lp, err, sizeof(err))) != 0)
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
	if ((rc = inst_start_point(in)) != 0) {
		snprintf(err, sizeof(err), "cannot record where it starts: %s",
		    fs_strerror(rc));
		goto refuse;
	}
	/* a restart keeps the error that ended the previous process */
	inst_status_ext(in, "running", NULL, true);
	log_info("plugin %s: module %s %s (%s), ABI %u.%u, from seq %llu",
	    pcfg->name, in->lp.desc->name, in->lp.desc->version ?
	    in->lp.desc->version : "(no version)", in->lp.path,
	    in->lp.desc->abi_major, in->lp.desc->abi_minor,
	    (unsigned long long)in->cursor + 1);
	*out = in;
	return 0;
refuse:
	log_warnx("plugin %s refused: %s", pcfg->name, err);
	host_set_error(&in->host, err);
	inst_status(in, "refused", err);
	deliver_close(in);
	return FS_ECONFIG;
}

void
deliver_close(struct instance *in)
{
	size_t i;

	if (in == NULL)
		return;
	if (in->inited) {
		if (in->unflushed > 0)
			inst_flush(in);
		inst_save(in, false);
		in->lp.desc->shutdown(in->ctx);
	}
	loader_close(&in->lp);
	host_release(&in->host);
	for (i = 0; i < in->nglobs; i++)
		free(in->globs[i]);
	free(in->globs);
	free(in);
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
