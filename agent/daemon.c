/* daemon.c - `flagsync run`: the poll schedule, signals, systemd. */
#include "autoconf.h"

#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cache.h"
#include "cli.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "error.h"
#include "httpd.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "poll.h"
#include "supervise.h"

/*
 * The watchdog thread pings systemd on the main loop's behalf, so that a
 * poll of many pages (which the main loop cannot interrupt to ping) does
 * not read as a hang.  It pings only while the main loop shows progress:
 * the loop bumps `progress` at every step, and inside a cycle the main
 * thread's CPU clock moves (curl wakes at least once a second, retries
 * sleep in slices), whereas a deadlocked thread's does not.
 */
struct watchdog {
	uint64_t	 usec;		/* WATCHDOG_USEC; 0: no watchdog */
	int		 running;
	pthread_t	 thread;
	clockid_t	 main_clock;	/* the main thread's CPU clock */
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cv;
	int		 quit;
	atomic_uint_least64_t progress;
};

struct daemon {
	const char	*config_path;
	struct config	*cfg;		/* owned */
	int		 log_override;
	int		 status;	/* exit status */
	int		 lock_fd;
	struct cache	*cache;
	struct supervisor *sup;		/* the output processes */
	struct httpd	*httpd;		/* [http]: NULL when off */
	int64_t		 last_start;	/* monotonic ms, last cycle's start */
	int64_t		 next_start;	/* monotonic ms */
	unsigned	 failures;	/* consecutive failed cycles */
	unsigned short	 rng[3];	/* erand48() state for the jitter */
	struct sigaction old_term, old_int, old_hup, old_pipe;
	struct watchdog	 wd;
};

/* Where flagsync.service loads the split-admin-key credential from. */
#define DAEMON_KEY_CREDENTIAL	SYSCONFDIR "/flagsync/split-admin-key"

/* Set by the signal handler; poll_cycle() watches daemon_stop. */
static volatile sig_atomic_t daemon_stop;
static volatile sig_atomic_t daemon_hup;
static volatile sig_atomic_t daemon_signo;
static int daemon_pipe[2] = { -1, -1 };

/* ------------------------------------------------------------ time */

static int64_t
daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
daemon_seed(struct daemon *d)
{
	uint64_t seed;

	/* Many agents started together must not poll in lock step. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16) ^
		    (uint64_t)daemon_now_ms();
	d->rng[0] = (unsigned short)seed;
	d->rng[1] = (unsigned short)(seed >> 16);
	d->rng[2] = (unsigned short)(seed >> 32);
}

/* The period from this cycle's start to the next: interval, doubled per
 * consecutive failed cycle up to the cap, then ± jitter percent. */
static int64_t
daemon_period_ms(struct daemon *d)
{
	int64_t base, cap, spread;
	unsigned i;

	base = (int64_t)d->cfg->interval * 1000;
	cap = (int64_t)(d->cfg->interval > DAEMON_BACKOFF_CAP_S ?
	    d->cfg->interval : DAEMON_BACKOFF_CAP_S) * 1000;
	for (i = 1; i < d->failures && base < cap; i++)
		base *= 2;
	if (base > cap)
		base = cap;
	spread = base * d->cfg->jitter / 100;
	if (spread > 0)
		base += (int64_t)((2.0 * erand48(d->rng) - 1.0) *
		    (double)spread);
	return base > 0 ? base : 0;
}

static void
daemon_schedule(struct daemon *d)
{
	d->next_start = d->last_start + daemon_period_ms(d);
}

/* Whole seconds until the next cycle, rounded up. */
static long long
daemon_next_in_s(const struct daemon *d)
{
	int64_t left = d->next_start - daemon_now_ms();

	return left > 0 ? (long long)((left + 999) / 1000) : 0;
}

/* ------------------------------------------------------------ systemd */

#ifdef HAVE_LIBSYSTEMD
static void __attribute__((format(printf, 1, 2)))
daemon_notify(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((rc = sd_notify(0, msg)) < 0)
		log_debug("sd_notify: %s", strerror(-rc));
}

static uint64_t
daemon_watchdog_usec(void)
{
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
	return 0;
}

static void
daemon_notify_check(void)
{
	/* libsystemd reads $NOTIFY_SOCKET itself: nothing to warn about */
}
#else
static void __attribute__((format(printf, 1, 2)))
daemon_notify(const char *fmt, ...)
{
	(void)fmt;
}

static uint64_t
daemon_watchdog_usec(void)
{
	return 0;
}

/* A Type=notify unit would wait for a READY=1 that never comes. */
static void
daemon_notify_check(void)
{
	if (getenv("NOTIFY_SOCKET") != NULL)
		log_warnx("built without libsystemd: $NOTIFY_SOCKET is set "
		    "but systemd will not be notified (use Type=simple)");
}
#endif

/* ------------------------------------------------------------ watchdog */

static void
daemon_progress(struct daemon *d)
{
	atomic_fetch_add(&d->wd.progress, 1);
}

static int64_t
watchdog_cpu_ns(const struct watchdog *wd)
{
	struct timespec ts;

	if (clock_gettime(wd->main_clock, &ts) == -1)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
watchdog_sleep(struct watchdog *wd, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&wd->mtx);
	if (!wd->quit)
		pthread_cond_timedwait(&wd->cv, &wd->mtx, &ts);
	pthread_mutex_unlock(&wd->mtx);
}

static int
watchdog_quitting(struct watchdog *wd)
{
	int quit;

	pthread_mutex_lock(&wd->mtx);
	quit = wd->quit;
	pthread_mutex_unlock(&wd->mtx);
	return quit;
}

static void *
watchdog_main(void *arg)
{
	struct watchdog *wd = arg;
	uint64_t seen = 0, cur;
	int64_t period, cpu, seen_cpu = -1, alive, now;
	int warned = 0;

	period = (int64_t)(wd->usec / 1000);
	alive = daemon_now_ms();
	while (!watchdog_quitting(wd)) {
		cur = atomic_load(&wd->progress);
		cpu = watchdog_cpu_ns(wd);
		now = daemon_now_ms();
		if (cur != seen || cpu != seen_cpu) {
			seen = cur;
			seen_cpu = cpu;
			alive = now;
			warned = 0;
		}
		if (now - alive < period)
			daemon_notify("WATCHDOG=1");
		else if (!warned) {
			log_msg(LOG_ERR, "the main loop has made no progress "
			    "for %lld ms; no longer pinging the systemd "
			    "watchdog", (long long)(now - alive));
			warned = 1;
		}
		/* a quarter period: pings at least every half, as asked */
		watchdog_sleep(wd, period / 4 > 0 ? period / 4 : 1);
	}
	return NULL;
}

/* Blocks the daemon's signals in the calling thread, so that threads it
 * creates leave them to the main loop. */
static void
daemon_signals_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static int
watchdog_start(struct watchdog *wd)
{
	pthread_condattr_t ca;
	sigset_t old;
	int rc;

	if ((wd->usec = daemon_watchdog_usec()) == 0)
		return 0;
	if ((rc = pthread_getcpuclockid(pthread_self(), &wd->main_clock)) != 0)
		return rc;
	pthread_mutex_init(&wd->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd->cv, &ca);
	pthread_condattr_destroy(&ca);
	wd->quit = 0;
	daemon_signals_block(&old);
	rc = pthread_create(&wd->thread, NULL, watchdog_main, wd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&wd->cv);
		pthread_mutex_destroy(&wd->mtx);
		return rc;
	}
	wd->running = 1;
	log_debug("systemd watchdog every %llu ms",
	    (unsigned long long)(wd->usec / 1000));
	return 0;
}

static void
watchdog_stop(struct watchdog *wd)
{
	if (!wd->running)
		return;
	pthread_mutex_lock(&wd->mtx);
	wd->quit = 1;
	pthread_cond_signal(&wd->cv);
	pthread_mutex_unlock(&wd->mtx);
	pthread_join(wd->thread, NULL);
	pthread_cond_destroy(&wd->cv);
	pthread_mutex_destroy(&wd->mtx);
	wd->running = 0;
}

/* ------------------------------------------------------------ signals */

static void
daemon_on_signal(int sig)
{
	int saved = errno;
	ssize_t n;
	char c = 0;

	if (sig == SIGHUP)
		daemon_hup = 1;
	else {
		daemon_signo = sig;
		daemon_stop = 1;
	}
	/* wakes the wait; a full pipe already holds a wake-up */
	n = write(daemon_pipe[1], &c, 1);
	(void)n;
	errno = saved;
}

static int
daemon_signals_catch(struct daemon *d)
{
	struct sigaction sa;

	if (pipe2(daemon_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return errno;
	daemon_stop = daemon_hup = daemon_signo = 0;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART spares LMDB and stdio from EINTR; curl's poll() and
	 * ours still return early, which is all the stop needs. */
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = daemon_on_signal;
	sigaction(SIGTERM, &sa, &d->old_term);
	sigaction(SIGINT, &sa, &d->old_int);
	sigaction(SIGHUP, &sa, &d->old_hup);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &d->old_pipe);
	return 0;
}

static void
daemon_signals_restore(struct daemon *d)
{
	sigaction(SIGTERM, &d->old_term, NULL);
	sigaction(SIGINT, &d->old_int, NULL);
	sigaction(SIGHUP, &d->old_hup, NULL);
	sigaction(SIGPIPE, &d->old_pipe, NULL);
	close(daemon_pipe[0]);
	close(daemon_pipe[1]);
	daemon_pipe[0] = daemon_pipe[1] = -1;
}

/* Sleeps up to ms, or until a signal arrives. */
static void
daemon_sleep(int64_t ms)
{
	struct pollfd pfd;
	char buf[64];

	pfd.fd = daemon_pipe[0];
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms) > 0)
		while (read(daemon_pipe[0], buf, sizeof(buf)) > 0)
			;
}

/* ------------------------------------------------------------ steps */

static void
daemon_log_level(const struct daemon *d)
{
	log_set_level(d->log_override >= 0 ? d->log_override :
	    d->cfg->log_level);
}

/* supervise_start() with the daemon's signals left to the main thread. */
static int
daemon_deliver_start(struct daemon *d, const struct config *cfg,
    struct supervisor **out)
{
	sigset_t old;
	int rc;

	daemon_signals_block(&old);
	rc = supervise_start(out, d->cache, cfg, d->log_override >= 0 ?
	    d->log_override : cfg->log_level);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		log_msg(LOG_ERR, "cannot start delivery: %s", fs_strerror(rc));
	return rc;
}

static void
daemon_prune(struct daemon *d)
{
	uint64_t n = 0;
	int rc;

	if ((rc = deliver_prune(d->cache, d->cfg, d->cfg->retention,
	    &n)) != 0)
		log_warnx("cannot prune old events: %s", fs_strerror(rc));
	else if (n > 0)
		log_info("pruned %llu delivered events older than %lld s",
		    (unsigned long long)n, (long long)d->cfg->retention);
}

static void
daemon_report(struct daemon *d, const struct poll_report *rep)
{
	char status[256];

	snprintf(status, sizeof(status), "polled %zu sources, %zu failed, "
	    "%zu events, next poll in %lld s", rep->sources, rep->failed,
	    rep->commit.nevents, daemon_next_in_s(d));
	daemon_notify("STATUS=%s", status);
	if (d->failures > 1)
		log_info("%s (backing off after %u failed cycles)", status,
		    d->failures);
	else
		log_debug("%s", status);
}

static void
daemon_run_cycle(struct daemon *d)
{
	struct poll_report rep;
	int rc;

	d->last_start = daemon_now_ms();
	daemon_progress(d);
	rc = poll_cycle(d->cfg, d->cache, &daemon_stop, &rep);
	daemon_progress(d);
	if (rep.commit.nevents > 0)
		supervise_notify(d->sup);
	if (daemon_stop)
		return;
	daemon_prune(d);
	if (rc != 0 || rep.failed > 0)
		d->failures++;
	else if (d->failures > 1) {
		log_info("every source polled again after %u failed cycles; "
		    "polling every %d s", d->failures, d->cfg->interval);
		d->failures = 0;
	} else
		d->failures = 0;
	daemon_schedule(d);
	daemon_report(d, &rep);
}

/* What check-config would refuse, and what the running daemon cannot
 * take over without a restart. */
static int
daemon_reload_check(const struct daemon *d, const struct config *ncfg)
{
	struct keys keys;
	char err[512];

	if (keys_init(&keys, ncfg->issue_key_pattern, err, sizeof(err)) != 0) {
		log_warnx("%s: [links] issue_key_pattern: %s; keeping the "
		    "previous configuration", ncfg->path, err);
		return FS_ECONFIG;
	}
	keys_release(&keys);
	if (strcmp(ncfg->state_dir, d->cfg->state_dir) != 0) {
		log_warnx("%s: [agent] state_dir: changing it (%s -> %s) "
		    "needs a restart; keeping the previous configuration",
		    ncfg->path, d->cfg->state_dir, ncfg->state_dir);
		return FS_ECONFIG;
	}
	/* a daemon still waiting for a key loses nothing by taking it */
	if (ncfg->split_admin_key == NULL && d->cfg->split_admin_key != NULL) {
		log_warnx("%s: no Split Admin API key: set [split] "
		    "admin_key_file, $FLAGSYNC_SPLIT_ADMIN_KEY, or the "
		    "split-admin-key credential; keeping the previous "
		    "configuration", ncfg->path);
		return FS_ECONFIG;
	}
	return 0;
}

/*
 * Makes ncfg current.  The supervisor keeps the processes of unchanged
 * outputs running and stops a changed one before its successor starts;
 * once it returns nothing refers to the old configuration.
 */
static void	daemon_httpd_reload(struct daemon *, const struct config *);

static void
daemon_reload_swap(struct daemon *d, struct config *ncfg)
{
	supervise_reload(d->sup, ncfg);
	daemon_progress(d);
	daemon_httpd_reload(d, ncfg);
	config_free(d->cfg);
	d->cfg = ncfg;
	daemon_log_level(d);
	log_info("configuration reloaded");
}

static void
daemon_reload(struct daemon *d)
{
	struct config *ncfg = NULL;
	struct timespec ts;
	char err[2048];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	daemon_notify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
	log_info("SIGHUP: reloading %s", d->config_path);
	supervise_reopen(d->sup);
	if (config_load(d->config_path, &ncfg, err, sizeof(err)) != 0)
		log_warnx("%s; keeping the previous configuration", err);
	else if (daemon_reload_check(d, ncfg) != 0)
		config_free(ncfg);
	else
		daemon_reload_swap(d, ncfg);
	daemon_schedule(d);
	daemon_progress(d);
	daemon_notify("READY=1");
}

/* How long a wait may sleep at once: with a watchdog, short enough to
 * show progress. */
static int64_t
daemon_slice_ms(const struct daemon *d)
{
	int64_t slice;

	slice = d->wd.running ? (int64_t)(d->wd.usec / 4000) : INT32_MAX;
	return slice > 0 ? slice : 1;
}

/* Waits for the next cycle's start, reloading on SIGHUP meanwhile. */
static void
daemon_wait_next(struct daemon *d)
{
	int64_t left, slice;

	slice = daemon_slice_ms(d);
	while (!daemon_stop) {
		if (daemon_hup) {
			daemon_hup = 0;
			daemon_reload(d);
			continue;
		}
		if ((left = d->next_start - daemon_now_ms()) <= 0)
			return;
		daemon_sleep(left < slice ? left : slice);
		daemon_progress(d);
	}
}

/* ------------------------------------------------------------ no key */

/*
 * The one line that says why nothing is polled and what brings a key.
 * systemd reads credentials when the unit starts, so a key put in the
 * credential's file needs a restart; admin_key_file is read on SIGHUP.
 */
static void
daemon_key_missing(const struct daemon *d)
{
	if (getenv("CREDENTIALS_DIRECTORY") != NULL)
		log_warnx("run: no Split Admin API key: the split-admin-key "
		    "credential is empty and %s has no [split] "
		    "admin_key_file; waiting: put the key in %s and run "
		    "systemctl restart flagsync (or set admin_key_file and "
		    "run systemctl reload flagsync)", d->cfg->path,
		    DAEMON_KEY_CREDENTIAL);
	else
		log_warnx("run: no Split Admin API key: %s has no [split] "
		    "admin_key_file and $FLAGSYNC_SPLIT_ADMIN_KEY is unset; "
		    "waiting: set admin_key_file and send SIGHUP (systemctl "
		    "reload flagsync)", d->cfg->path);
	daemon_notify("STATUS=waiting for a Split Admin API key");
}

/* Without a key there is nothing to poll: sleeps until a SIGHUP brings
 * one, or until SIGTERM. */
static void
daemon_wait_key(struct daemon *d)
{
	daemon_key_missing(d);
	while (!daemon_stop) {
		if (daemon_hup) {
			daemon_hup = 0;
			daemon_reload(d);
			if (d->cfg->split_admin_key != NULL)
				break;
			daemon_key_missing(d);
			continue;
		}
		daemon_sleep(daemon_slice_ms(d));
		daemon_progress(d);
	}
	if (!daemon_stop)
		log_info("Split Admin API key from %s; polling every %d s",
		    d->cfg->split_key_origin, d->cfg->interval);
}

/* ------------------------------------------------------------ start, stop */

/* The [http] server, in threads that leave the daemon's signals to it. */
static int
daemon_httpd_start(struct daemon *d)
{
	sigset_t old;
	char err[1024];
	int rc;

	err[0] = '\0';
	daemon_signals_block(&old);
	rc = httpd_start(&d->httpd, d->cfg, d->cache, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		log_msg(LOG_ERR, "run: %s: %s", d->cfg->path, err[0] ? err :
		    strerror(rc));
	return rc;
}

/* A listen address that cannot be served after a SIGHUP leaves the
 * daemon polling, without the HTTP surface, and says so. */
static void
daemon_httpd_reload(struct daemon *d, const struct config *ncfg)
{
	sigset_t old;
	char err[1024];
	int rc;

	err[0] = '\0';
	daemon_signals_block(&old);
	rc = httpd_reload(&d->httpd, ncfg, d->cache, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		log_warnx("%s: %s; no HTTP surface until the next reload",
		    ncfg->path, err[0] ? err : strerror(rc));
}

static int
daemon_setup(struct daemon *d)
{
	char err[1024];
	int rc;

	if ((rc = lock_acquire(d->cfg->state_dir, &d->lock_fd, err,
	    sizeof(err))) != 0) {
		log_msg(LOG_ERR, "run: %s", err);
		return EXIT_RUNTIME;
	}
	if ((rc = cache_open(&d->cache, d->cfg->state_dir, 0, err,
	    sizeof(err))) != 0) {
		log_msg(LOG_ERR, "run: %s", err[0] ? err : fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	/* an address that cannot be served is said before outputs start */
	if (daemon_httpd_start(d) != 0)
		return EXIT_RUNTIME;
	if (daemon_deliver_start(d, d->cfg, &d->sup) != 0)
		return EXIT_RUNTIME;
	if ((rc = watchdog_start(&d->wd)) != 0)
		log_warnx("cannot start the systemd watchdog thread: %s",
		    strerror(rc));
	return 0;
}

static void
daemon_started(const struct daemon *d)
{
	if (d->cfg->split_admin_key == NULL) {
		daemon_notify("READY=1");
		log_info("flagsync started (pid %ld)", (long)getpid());
		return;
	}
	daemon_notify("READY=1\nSTATUS=starting the first poll");
	log_info("flagsync started (pid %ld), polling every %d s",
	    (long)getpid(), d->cfg->interval);
}

static int
daemon_shutdown(struct daemon *d)
{
	if (daemon_signo == SIGTERM || daemon_signo == SIGINT)
		log_info("stopping on %s", daemon_signo == SIGTERM ?
		    "SIGTERM" : "SIGINT");
	else if (d->status != 0 && d->cache != NULL)
		log_info("stopping after an error");
	daemon_notify("STOPPING=1");
	/* no handler reads the cache or the configuration after this */
	httpd_stop(d->httpd);
	d->httpd = NULL;
	/* every output process has exited when this returns */
	if (d->sup != NULL)
		supervise_stop(d->sup, DAEMON_STOP_GRACE_MS);
	watchdog_stop(&d->wd);
	if (d->cache != NULL)
		cache_close(d->cache);
	if (d->lock_fd >= 0)
		lock_release(d->lock_fd);
	config_free(d->cfg);
	daemon_signals_restore(d);
	if (d->status == 0)
		log_info("stopped");
	return d->status;
}

int
daemon_run(const char *config_path, struct config *cfg, int log_override)
{
	struct daemon d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.config_path = config_path;
	d.cfg = cfg;
	d.log_override = log_override;
	d.lock_fd = -1;
	atomic_init(&d.wd.progress, 0);
	daemon_log_level(&d);
	if ((rc = daemon_signals_catch(&d)) != 0) {
		log_msg(LOG_ERR, "run: cannot make a pipe: %s", strerror(rc));
		config_free(cfg);
		return EXIT_RUNTIME;
	}
	daemon_notify_check();
	if ((d.status = daemon_setup(&d)) != 0)
		return daemon_shutdown(&d);
	daemon_seed(&d);
	daemon_started(&d);
	while (!daemon_stop) {
		if (d.cfg->split_admin_key == NULL) {
			daemon_wait_key(&d);
			continue;
		}
		daemon_run_cycle(&d);
		daemon_wait_next(&d);
	}
	return daemon_shutdown(&d);
}
