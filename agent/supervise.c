/* supervise.c - one process per output instance, watched (supervise.h). */
#include "autoconf.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "buf.h"
#include "clock.h"
#include "deliver.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "maxlen.h"
#include "outproc.h"
#include "supervise.h"

#define SUPERVISE_TICK_MS	20	/* the watcher's period */
#define SUPERVISE_EXE		"/proc/self/exe"

enum child_state {
	CH_RUNNING,	/* a process is running */
	CH_BACKOFF,	/* died; restarts at restart_at */
	CH_REFUSED,	/* its module would not load or init */
	CH_STOPPING,	/* its pipe is closed; killed at stop_at */
	CH_GONE,	/* stopped for good */
};

struct child {
	char	*name;			/* owned copy of the instance name */
	const struct config_plugin *pcfg;	/* in s->cfg */
	struct buf text;		/* its settings, secrets included */
	uint64_t digest;
	struct outproc_board *b;	/* shared, outlives the processes */
	int	 board_fd;
	int	 wake_w;		/* -1: closed */
	pid_t	 pid;			/* 0: none */
	enum child_state state;
	int64_t	 restart_at;		/* monotonic ms */
	int64_t	 stop_at;
	unsigned crashes;		/* in a row, for the backoff */
	uint64_t restarts;
	uint64_t spawn_cursor;
	bool	 stuck;			/* reported for the current call */
	bool	 killed;		/* we killed it: stuck past the grace */
	int64_t	 killed_after_ms;
	uint64_t gen;			/* wake_gen wait_idle waits for */
};

struct supervisor {
	struct cache *c;
	const struct config *cfg;
	struct child **ch;
	size_t	 n, cap;
	int	 log_level;
	int64_t	 retry_base_ms;
	int64_t	 grace_ms;		/* stuck -> kill */
	uint64_t crashes;
	pid_t	 self;
	pthread_mutex_t mtx;
	pthread_t thread;
	bool	 quit;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
sig_name(int sig, char *buf, size_t len)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGSEGV, "SIGSEGV" }, { SIGABRT, "SIGABRT" },
		{ SIGKILL, "SIGKILL" }, { SIGBUS, "SIGBUS" },
		{ SIGILL, "SIGILL" }, { SIGFPE, "SIGFPE" },
		{ SIGTERM, "SIGTERM" }, { SIGPIPE, "SIGPIPE" },
		{ SIGTRAP, "SIGTRAP" }, { SIGSYS, "SIGSYS" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* ------------------------------------------------------------ settings */

/* One field, length-prefixed so that no value can fake another. */
static int
text_field(struct buf *b, const char *name, const char *v)
{
	return buf_printf(b, "%s %zu:%s\n", name, v ? strlen(v) : 0,
	    v ? v : "");
}

/* What an instance's process reads from cfg: its section, and the
 * agent's keys host.c hands out. */
static int
section_text(const struct config *cfg, const struct config_plugin *pcfg,
    bool secrets, struct buf *b)
{
	size_t i;
	int rc;

	if ((rc = text_field(b, "name", pcfg->name)) != 0 ||
	    (rc = text_field(b, "module", pcfg->module)) != 0 ||
	    (rc = text_field(b, "events", pcfg->events)) != 0 ||
	    (rc = buf_printf(b, "timeout %d start %d credentials %u\n",
	    pcfg->timeout, pcfg->start, pcfg->credentials)) != 0 ||
	    (rc = text_field(b, "split_api_url", cfg->split_api_url)) != 0 ||
	    (rc = buf_printf(b, "split_timeout %d\n",
	    cfg->split_timeout)) != 0 ||
	    (rc = text_field(b, "state_dir", cfg->state_dir)) != 0 ||
	    (rc = text_field(b, "jira_url", cfg->jira_url)) != 0 ||
	    (rc = text_field(b, "jira_email", cfg->jira_email)) != 0 ||
	    (rc = text_field(b, "ca_file", cfg->ca_file)) != 0 ||
	    (rc = buf_printf(b, "jira_timeout %d\n", cfg->jira_timeout)) != 0)
		return rc;
	if (secrets && ((rc = text_field(b, "jira_api_token",
	    cfg->jira_api_token)) != 0 || (rc = text_field(b,
	    "split_admin_key", cfg->split_admin_key)) != 0))
		return rc;
	for (i = 0; i < pcfg->nkeys; i++)
		if ((rc = text_field(b, pcfg->keys[i].key,
		    pcfg->keys[i].value)) != 0)
			return rc;
	return 0;
}

uint64_t
supervise_digest(const struct config *cfg, const struct config_plugin *pcfg)
{
	struct buf b;
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
	size_t i;

	buf_init(&b, 0);
	if (section_text(cfg, pcfg, false, &b) == 0)
		for (i = 0; i < b.len; i++) {
			h ^= (unsigned char)b.data[i];
			h *= 1099511628211ULL;
		}
	buf_release(&b);
	return h;
}

/* ------------------------------------------------------------ children */

static void
child_free(struct child *ch)
{
	if (ch == NULL)
		return;
	if (ch->wake_w >= 0)
		close(ch->wake_w);
	if (ch->b != NULL)
		munmap(ch->b, sizeof(*ch->b));
	if (ch->board_fd >= 0)
		close(ch->board_fd);
	if (ch->text.data != NULL)
		explicit_bzero(ch->text.data, ch->text.len);
	buf_release(&ch->text);
	free(ch->name);
	free(ch);
}

static int
child_new(struct child **out, const struct config *cfg,
    const struct config_plugin *pcfg)
{
	struct child *ch;
	int rc;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return ENOMEM;
	ch->wake_w = ch->board_fd = -1;
	buf_init(&ch->text, 0);
	if ((ch->name = strdup(pcfg->name)) == NULL) {
		rc = ENOMEM;
		goto child_free;
	}
	if ((rc = section_text(cfg, pcfg, true, &ch->text)) != 0)
		goto child_free;
	ch->digest = supervise_digest(cfg, pcfg);
	ch->pcfg = pcfg;
	/* the scoreboard: a memfd, so that it survives the exec */
	if ((ch->board_fd = memfd_create("flagsync-board", MFD_CLOEXEC)) ==
	    -1 || ftruncate(ch->board_fd, sizeof(*ch->b)) == -1) {
		rc = errno;
		goto child_free;
	}
	ch->b = mmap(NULL, sizeof(*ch->b), PROT_READ | PROT_WRITE, MAP_SHARED,
	    ch->board_fd, 0);
	if (ch->b == MAP_FAILED) {
		ch->b = NULL;
		rc = errno;
		goto child_free;
	}
	*out = ch;
	return 0;
child_free:
	child_free(ch);
	return rc;
}

static void
child_status(struct supervisor *s, struct child *ch, const char *state,
    const char *error)
{
	struct deliver_status st;

	memset(&st, 0, sizeof(st));
	st.state = state;
	st.error = error;
	st.module = ch->pcfg->module;
	st.restarts = ch->restarts;
	st.agent_pid = s->self;
	if (deliver_status_update(s->c, ch->name, &st) != 0)
		log_warnx("plugin %s: cannot record its status", ch->name);
}

/* Forks and execs the instance's process. */
static int
child_spawn(struct supervisor *s, struct child *ch)
{
	char digest[32], wake[16], board[16], level[16];
	char *argv[8];
	sigset_t all, old;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return errno;
	snprintf(digest, sizeof(digest), "%016llx",
	    (unsigned long long)ch->digest);
	snprintf(wake, sizeof(wake), "%d", p[0]);
	snprintf(board, sizeof(board), "%d", ch->board_fd);
	snprintf(level, sizeof(level), "%d", s->log_level);
	argv[0] = (char *)"flagsync";
	argv[1] = (char *)OUTPROC_COMMAND;
	argv[2] = s->cfg->path;
	argv[3] = ch->name;
	argv[4] = digest;
	argv[5] = wake;
	argv[6] = board;
	argv[7] = NULL;
	/* a fresh scoreboard call: what is there is the dead process's */
	atomic_store(&ch->b->call_since, 0);
	atomic_store(&ch->b->stuck, false);
	atomic_store(&ch->b->stopping, false);
	atomic_store(&ch->b->idle_gen, 0);
	atomic_store(&ch->b->restarts, ch->restarts);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == -1) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(p[0]);
		close(p[1]);
		return errno;
	}
	if (pid == 0) {
		/* only async-signal-safe calls until exec */
		char *args[9];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != s->self)
			_exit(127);
		fcntl(p[0], F_SETFD, 0);
		fcntl(ch->board_fd, F_SETFD, 0);
		memcpy(args, argv, 7 * sizeof(*args));
		args[7] = level;
		args[8] = NULL;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execv(SUPERVISE_EXE, args);
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	ch->wake_w = p[1];
	ch->pid = pid;
	ch->state = CH_RUNNING;
	ch->stuck = ch->killed = false;
	ch->spawn_cursor = atomic_load(&ch->b->cursor);
	return 0;
}

static void
child_start(struct supervisor *s, struct child *ch)
{
	int rc;

	if ((rc = child_spawn(s, ch)) == 0)
		return;
	log_warnx("plugin %s: cannot start its process: %s", ch->name,
	    strerror(rc));
	ch->state = CH_BACKOFF;
	ch->restart_at = mono_ms() + DELIVER_RETRY_CAP_MS / 10;
}

/* ------------------------------------------------------------ crashes */

struct crash_op {
	const char *name;
	bool	 replay;	/* a state-replay item: seq is its number */
	uint64_t seq;
	const char *dead;	/* the letter, when this is the last crash */
	unsigned count;		/* out: crashes on seq so far */
};

/* The third crash in a state replay: its letter kept apart, the request
 * given up (the cursor is not the replay's to move). */
static int
crash_replay_end(struct cache_txn *t, struct crash_op *op, const char *kseq,
    const char *kcount)
{
	char dead[FS_INSTANCE_MAX + 32], req[FS_INSTANCE_MAX + 32];
	int rc;

	snprintf(dead, sizeof(dead), DELIVER_STATE_DEAD_PREFIX "%s", op->name);
	snprintf(req, sizeof(req), DELIVER_STATE_PREFIX "%s", op->name);
	if ((rc = cache_dead_put(t, dead, op->seq, op->dead,
	    strlen(op->dead))) != 0)
		return rc;
	if ((rc = cache_cursor_del(t, req)) != 0 && rc != FS_ENOTFOUND)
		return rc;
	if ((rc = cache_cursor_del(t, kseq)) != 0 && rc != FS_ENOTFOUND)
		return rc;
	rc = cache_cursor_del(t, kcount);
	return rc == FS_ENOTFOUND ? 0 : rc;
}

static int
crash_txn(struct cache_txn *t, void *arg)
{
	struct crash_op *op = arg;
	char kseq[FS_INSTANCE_MAX + 32], kcount[FS_INSTANCE_MAX + 32];
	uint64_t seq = 0, count = 0, cursor = 0;
	int rc;

	snprintf(kseq, sizeof(kseq), SUPERVISE_CRASH_SEQ "%s", op->name);
	snprintf(kcount, sizeof(kcount), SUPERVISE_CRASH_COUNT "%s",
	    op->name);
	if ((rc = cache_cursor_get(t, kseq, &seq)) != 0 && rc != FS_ENOTFOUND)
		return rc;
	if ((rc = cache_cursor_get(t, kcount, &count)) != 0 &&
	    rc != FS_ENOTFOUND)
		return rc;
	/* a state replay counts under seq 0, which no event has */
	count = seq == (op->replay ? 0 : op->seq) ? count + 1 : 1;
	op->count = (unsigned)count;
	if (count < SUPERVISE_CRASH_MAX || op->dead == NULL) {
		if ((rc = cache_cursor_put(t, kseq, op->replay ? 0 :
		    op->seq)) != 0)
			return rc;
		return cache_cursor_put(t, kcount, count);
	}
	if (op->replay)
		return crash_replay_end(t, op, kseq, kcount);
	/* the last crash: the event becomes a dead letter, delivery goes on */
	if ((rc = cache_dead_put(t, op->name, op->seq, op->dead,
	    strlen(op->dead))) != 0)
		return rc;
	if ((rc = cache_cursor_get(t, op->name, &cursor)) != 0 &&
	    rc != FS_ENOTFOUND)
		return rc;
	if (cursor < op->seq && (rc = cache_cursor_put(t, op->name,
	    op->seq)) != 0)
		return rc;
	if ((rc = cache_cursor_del(t, kseq)) != 0 && rc != FS_ENOTFOUND)
		return rc;
	rc = cache_cursor_del(t, kcount);
	return rc == FS_ENOTFOUND ? 0 : rc;
}

/*
 * Counts a crash on seq durably; at the third, dead-letters the event.
 * Returns the count (0 when it could not be recorded).
 */
static unsigned
child_count_crash(struct supervisor *s, struct child *ch, uint64_t seq,
    bool replay, const char *how)
{
	struct crash_op op;
	char msg[256];
	int rc;

	snprintf(msg, sizeof(msg), "crashed %d times (last: %s)%s",
	    SUPERVISE_CRASH_MAX, how, replay ? "; the state replay was "
	    "given up" : "");
	memset(&op, 0, sizeof(op));
	op.name = ch->name;
	op.replay = replay;
	op.seq = seq;
	if ((op.dead = deliver_dead_format(ch->name, seq, msg)) == NULL) {
		log_warnx("plugin %s: cannot count its crash: %s", ch->name,
		    strerror(ENOMEM));
		return 0;
	}
	rc = cache_write(s->c, crash_txn, &op);
	free((char *)op.dead);
	if (rc != 0) {
		log_warnx("plugin %s: cannot count its crash: %s", ch->name,
		    fs_strerror(rc));
		return 0;
	}
	if (op.count >= SUPERVISE_CRASH_MAX && replay)
		log_warnx("plugin %s: state-replay item %llu %s; dead letter "
		    "kept", ch->name, (unsigned long long)seq, msg);
	else if (op.count >= SUPERVISE_CRASH_MAX) {
		log_warnx("plugin %s: event %llu %s; dead letter kept",
		    ch->name, (unsigned long long)seq, msg);
		atomic_store(&ch->b->cursor, seq);
	}
	return op.count;
}

/* The process ended without being asked to. */
static void
child_died(struct supervisor *s, struct child *ch, int wstatus)
{
	char how[160], sbuf[32], detail[400];
	const char *what;
	uint64_t seq = 0;
	int64_t delay;
	unsigned count = 0;
	bool inside, replay;

	inside = atomic_load(&ch->b->call_since) != 0;
	replay = inside && atomic_load(&ch->b->call_replay);
	if (inside)
		seq = atomic_load(&ch->b->call_seq);
	what = replay ? "state-replay item" : "seq";
	if (WIFSIGNALED(wstatus) && ch->killed)
		snprintf(how, sizeof(how), "killed with SIGKILL after %lld s "
		    "stuck in deliver()", (long long)(ch->killed_after_ms /
		    1000));
	else if (WIFSIGNALED(wstatus))
		snprintf(how, sizeof(how), "killed by %s",
		    sig_name(WTERMSIG(wstatus), sbuf, sizeof(sbuf)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(wstatus));
	s->crashes++;
	ch->crashes++;
	ch->restarts++;
	atomic_store(&ch->b->restarts, ch->restarts);
	if (inside)
		count = child_count_crash(s, ch, seq, replay, how);
	if (count >= SUPERVISE_CRASH_MAX)
		ch->crashes = 1;	/* moved on: no long backoff */
	delay = http_backoff_ms((int)ch->crashes - 1, s->retry_base_ms,
	    DELIVER_RETRY_CAP_MS);
	if (inside && count >= SUPERVISE_CRASH_MAX)
		snprintf(detail, sizeof(detail), "%s %llu: process %ld %s in "
		    "deliver(); crashed %u times on it: dead letter kept",
		    what, (unsigned long long)seq, (long)ch->pid, how, count);
	else if (inside)
		snprintf(detail, sizeof(detail), "%s %llu: process %ld %s in "
		    "deliver() (crash %u on this event)", what,
		    (unsigned long long)seq, (long)ch->pid, how, count);
	else
		snprintf(detail, sizeof(detail), "process %ld %s outside "
		    "deliver()", (long)ch->pid, how);
	log_warnx("plugin %s (module %s): %s; restart %llu in %lld ms",
	    ch->name, ch->pcfg->module, detail,
	    (unsigned long long)ch->restarts, (long long)delay);
	child_status(s, ch, "crashed", detail);
	atomic_store(&ch->b->call_since, 0);
	ch->pid = 0;
	ch->state = CH_BACKOFF;
	ch->restart_at = mono_ms() + delay;
}

static void
child_exited(struct supervisor *s, struct child *ch, int wstatus)
{
	if (ch->wake_w >= 0) {
		close(ch->wake_w);
		ch->wake_w = -1;
	}
	if (ch->state == CH_STOPPING) {
		ch->pid = 0;
		ch->state = CH_GONE;
		return;
	}
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) ==
	    OUTPROC_EXIT_REFUSED) {
		ch->pid = 0;
		ch->state = CH_REFUSED;	/* it said why; a reload retries */
		return;
	}
	child_died(s, ch, wstatus);
}

/* deliver() past the timeout: stuck; past the grace too: killed. */
static void
child_watch(struct supervisor *s, struct child *ch)
{
	int64_t since, ran, limit;
	char msg[256];

	if ((since = atomic_load(&ch->b->call_since)) == 0) {
		ch->stuck = false;
		return;
	}
	ran = clock_now_ms() - since;
	limit = (int64_t)ch->pcfg->timeout * 1000;
	if (ran < limit)
		return;
	if (!ch->stuck) {
		ch->stuck = true;
		snprintf(msg, sizeof(msg), "deliver() of event %llu has not "
		    "returned after %d s (timeout %d s)",
		    (unsigned long long)atomic_load(&ch->b->call_seq),
		    (int)(ran / 1000), ch->pcfg->timeout);
		log_warnx("plugin %s: %s", ch->name, msg);
		atomic_store(&ch->b->stuck, true);
		child_status(s, ch, "stuck", msg);
	}
	if (!ch->killed && ran >= limit + s->grace_ms) {
		ch->killed = true;
		ch->killed_after_ms = ran;
		kill(ch->pid, SIGKILL);
	}
}

static void
child_tick(struct supervisor *s, struct child *ch, int64_t now)
{
	int wstatus;
	pid_t r;

	if (ch->pid > 0) {
		r = waitpid(ch->pid, &wstatus, WNOHANG);
		if (r == ch->pid) {
			child_exited(s, ch, wstatus);
			return;
		}
	}
	switch (ch->state) {
	case CH_RUNNING:
		child_watch(s, ch);
		if (ch->crashes && atomic_load(&ch->b->cursor) >
		    ch->spawn_cursor)
			ch->crashes = 0;	/* it moved on */
		break;
	case CH_BACKOFF:
		if (now >= ch->restart_at)
			child_start(s, ch);
		break;
	case CH_STOPPING:
		if (ch->pid > 0 && now >= ch->stop_at) {
			log_warnx("plugin %s: still inside deliver() %lld ms "
			    "after it was asked to stop; killing it",
			    ch->name, (long long)(now - ch->stop_at +
			    s->grace_ms));
			kill(ch->pid, SIGKILL);
			ch->stop_at = INT64_MAX;
		}
		if (ch->pid == 0)
			ch->state = CH_GONE;
		break;
	default:
		break;
	}
}

/* Asks a child to stop: its pipe closes; killed after grace_ms. */
static void
child_stop(struct supervisor *s, struct child *ch, int64_t grace_ms)
{
	(void)s;
	/* a long deliver() polling cancelled() hears it at once */
	atomic_store(&ch->b->stopping, true);
	if (ch->wake_w >= 0) {
		close(ch->wake_w);
		ch->wake_w = -1;
	}
	ch->stop_at = mono_ms() + grace_ms;
	ch->state = ch->pid > 0 ? CH_STOPPING : CH_GONE;
}

static void *
supervise_main(void *arg)
{
	struct supervisor *s = arg;
	struct timespec ts = { 0, SUPERVISE_TICK_MS * 1000000L };
	size_t i;
	int64_t now;

	for (;;) {
		pthread_mutex_lock(&s->mtx);
		if (s->quit) {
			pthread_mutex_unlock(&s->mtx);
			return NULL;
		}
		now = mono_ms();
		for (i = 0; i < s->n; i++)
			child_tick(s, s->ch[i], now);
		pthread_mutex_unlock(&s->mtx);
		nanosleep(&ts, NULL);
	}
}

/* ------------------------------------------------------------ API */

static int
supervise_add(struct supervisor *s, const struct config *cfg,
    const struct config_plugin *pcfg, struct child **out)
{
	struct child *ch = NULL;
	int rc;

	if ((rc = ARRAY_GROW(s->ch, s->cap, s->n + 1)) != 0)
		return rc;
	if ((rc = child_new(&ch, cfg, pcfg)) != 0)
		return rc;
	s->ch[s->n++] = ch;
	*out = ch;
	return 0;
}

int
supervise_start(struct supervisor **out, struct cache *c,
    const struct config *cfg, int log_level)
{
	struct supervisor *s;
	struct child *ch;
	const char *v;
	size_t i;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ENOMEM;
	s->c = c;
	s->cfg = cfg;
	s->log_level = log_level;
	s->self = getpid();
	s->retry_base_ms = DELIVER_RETRY_BASE_MS;
	s->grace_ms = SUPERVISE_GRACE_MS;
#ifdef FLAGSYNC_TEST_HOOKS
	if ((v = getenv("FLAGSYNC_TEST_RETRY_MS")) != NULL)
		s->retry_base_ms = atoll(v);
	if ((v = getenv("FLAGSYNC_TEST_STUCK_GRACE_MS")) != NULL)
		s->grace_ms = atoll(v);
#else
	(void)v;
#endif
	if ((rc = pthread_mutex_init(&s->mtx, NULL)) != 0) {
		free(s);
		return rc;
	}
	for (i = 0; i < cfg->nplugins; i++) {
		if ((rc = supervise_add(s, cfg, &cfg->plugins[i], &ch)) != 0)
			goto children_stop;
		child_start(s, ch);
	}
	if ((rc = pthread_create(&s->thread, NULL, supervise_main, s)) != 0)
		goto children_stop;
	*out = s;
	return 0;
children_stop:
	for (i = 0; i < s->n; i++) {
		if (s->ch[i]->pid > 0) {
			kill(s->ch[i]->pid, SIGKILL);
			waitpid(s->ch[i]->pid, NULL, 0);
			s->ch[i]->pid = 0;
		}
		child_free(s->ch[i]);
	}
	free(s->ch);
	pthread_mutex_destroy(&s->mtx);
	free(s);
	return rc;
}

static void
child_wake(struct child *ch, char what)
{
	ssize_t n;

	if (ch->wake_w < 0)
		return;
	atomic_fetch_add(&ch->b->wake_gen, 1);
	/* a full pipe already holds a wake-up */
	n = write(ch->wake_w, &what, 1);
	(void)n;
}

void
supervise_notify(struct supervisor *s)
{
	size_t i;

	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++)
		child_wake(s->ch[i], OUTPROC_WAKE);
	pthread_mutex_unlock(&s->mtx);
}

void
supervise_reopen(struct supervisor *s)
{
	size_t i;

	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++)
		child_wake(s->ch[i], OUTPROC_REOPEN);
	pthread_mutex_unlock(&s->mtx);
}

/* Caught up: idle after the wake-up, or not coming back (refused). */
static bool
child_caught_up(const struct child *ch)
{
	if (ch->state == CH_REFUSED || ch->state == CH_GONE)
		return true;
	return ch->state == CH_RUNNING &&
	    atomic_load(&ch->b->idle_gen) >= ch->gen;
}

int
supervise_wait_idle(struct supervisor *s, int64_t timeout_ms)
{
	struct timespec ts = { 0, 2 * 1000000L };
	struct child *ch;
	int64_t end = mono_ms() + timeout_ms;
	size_t i;
	bool done;

	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++) {
		ch = s->ch[i];
		ch->gen = atomic_fetch_add(&ch->b->wake_gen, 1) + 1;
		child_wake(ch, OUTPROC_WAKE);
	}
	pthread_mutex_unlock(&s->mtx);
	for (;;) {
		pthread_mutex_lock(&s->mtx);
		for (i = 0, done = true; done && i < s->n; i++)
			done = child_caught_up(s->ch[i]);
		pthread_mutex_unlock(&s->mtx);
		if (done)
			return 0;
		if (mono_ms() >= end)
			break;
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++)
		if (!child_caught_up(s->ch[i]))
			log_warnx("plugin %s: not caught up with the event log "
			    "yet (at seq %llu)", s->ch[i]->name,
			    (unsigned long long)atomic_load(
			    &s->ch[i]->b->cursor));
	pthread_mutex_unlock(&s->mtx);
	return FS_ETIMEOUT;
}

size_t
supervise_refused(struct supervisor *s)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++)
		if (s->ch[i]->state == CH_REFUSED)
			n++;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

uint64_t
supervise_crashes(struct supervisor *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->mtx);
	n = s->crashes;
	pthread_mutex_unlock(&s->mtx);
	return n;
}

/* Waits until every child in state CH_STOPPING has gone. */
static void
supervise_wait_stopped(struct supervisor *s)
{
	struct timespec ts = { 0, 5 * 1000000L };
	size_t i;
	bool left;

	for (;;) {
		pthread_mutex_lock(&s->mtx);
		for (i = 0, left = false; i < s->n; i++)
			if (s->ch[i]->state == CH_STOPPING)
				left = true;
		pthread_mutex_unlock(&s->mtx);
		if (!left)
			return;
		nanosleep(&ts, NULL);
	}
}

static const struct config_plugin *
section_find(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nplugins; i++)
		if (strcmp(cfg->plugins[i].name, name) == 0)
			return &cfg->plugins[i];
	return NULL;
}

/* Same settings as ch runs with? */
static bool
child_same(const struct child *ch, const struct config *ncfg,
    const struct config_plugin *npcfg)
{
	struct buf b;
	bool same;

	buf_init(&b, 0);
	same = section_text(ncfg, npcfg, true, &b) == 0 &&
	    b.len == ch->text.len && memcmp(b.data, ch->text.data, b.len) == 0;
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_release(&b);
	return same;
}

void
supervise_reload(struct supervisor *s, const struct config *ncfg)
{
	const struct config_plugin *npcfg;
	struct child *ch;
	size_t i, j, kept = 0, stopped = 0, started = 0;
	int rc;

	/* 1. stop what changed or went away, leaving the rest untouched */
	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++) {
		ch = s->ch[i];
		npcfg = section_find(ncfg, ch->name);
		if (npcfg != NULL && ch->state != CH_REFUSED &&
		    child_same(ch, ncfg, npcfg))
			continue;
		child_stop(s, ch, s->grace_ms);
		stopped++;
	}
	pthread_mutex_unlock(&s->mtx);
	/* 2. a successor never starts beside its predecessor */
	supervise_wait_stopped(s);
	/* 3. forget the stopped, take the new sections, start the new */
	pthread_mutex_lock(&s->mtx);
	for (i = j = 0; i < s->n; i++) {
		ch = s->ch[i];
		if (ch->state == CH_GONE) {
			child_free(ch);
			continue;
		}
		ch->pcfg = section_find(ncfg, ch->name);
		s->ch[j++] = ch;
		kept++;
	}
	s->n = j;
	s->cfg = ncfg;
	for (i = 0; i < ncfg->nplugins; i++) {
		for (j = 0; j < s->n; j++)
			if (strcmp(s->ch[j]->name, ncfg->plugins[i].name) == 0)
				break;
		if (j < s->n)
			continue;
		if ((rc = supervise_add(s, ncfg, &ncfg->plugins[i],
		    &ch)) != 0) {
			log_warnx("plugin %s: cannot start: %s",
			    ncfg->plugins[i].name, strerror(rc));
			continue;
		}
		child_start(s, ch);
		started++;
	}
	pthread_mutex_unlock(&s->mtx);
	log_info("outputs: %zu kept running, %zu stopped, %zu started", kept,
	    stopped, started);
}

void
supervise_stop(struct supervisor *s, int64_t grace_ms)
{
	size_t i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mtx);
	for (i = 0; i < s->n; i++)
		child_stop(s, s->ch[i], grace_ms);
	pthread_mutex_unlock(&s->mtx);
	supervise_wait_stopped(s);
	pthread_mutex_lock(&s->mtx);
	s->quit = true;
	pthread_mutex_unlock(&s->mtx);
	pthread_join(s->thread, NULL);
	for (i = 0; i < s->n; i++)
		child_free(s->ch[i]);
	free(s->ch);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}
