/*
 * daemon.h - `flagsync run` (flagsync(8)): poll on a schedule, hand new
 * events to delivery, reload on SIGHUP, stop cleanly on SIGTERM.
 *
 * The daemon holds the state_dir writer lock (lock.h) for its whole life
 * and keeps the cache open in write mode.  A cycle starts `interval`
 * seconds (± `jitter` percent, drawn afresh each time) after the previous
 * one started, or right after it ended when it overran; a cycle in which
 * any source failed doubles the wait, up to max(interval, 15 min), until
 * a cycle succeeds.  SIGTERM and SIGINT cancel an HTTP request in flight
 * and stop within seconds.  SIGHUP reloads the configuration file: a new
 * configuration that fails to load or validate is logged and the running
 * one kept; state_dir cannot change without a restart.  Under systemd
 * (Type=notify) it sends READY, STATUS, RELOADING, STOPPING and, when
 * WatchdogSec= is set, WATCHDOG pings while the main loop makes
 * progress.
 *
 * Signal dispositions for SIGTERM, SIGINT, SIGHUP and SIGPIPE are the
 * daemon's while it runs and are restored on return.  Threads it starts
 * (delivery workers, the watchdog) run with those signals blocked.
 */
#ifndef FLAGSYNC_DAEMON_H
#define FLAGSYNC_DAEMON_H

#include "config.h"

/* The longest wait between cycles of a failing poll, unless interval is
 * longer still. */
#define DAEMON_BACKOFF_CAP_S	(15 * 60)
/* How long delivery workers may take to finish when stopped. */
#define DAEMON_STOP_GRACE_MS	5000

/*
 * Runs the daemon until SIGTERM or SIGINT; returns the exit status.
 * Takes ownership of cfg (which it may replace on SIGHUP) and frees it
 * before returning, on every path: the caller must not use or free cfg
 * afterwards.  config_path is read again on SIGHUP.  log_override is -1
 * to follow each configuration's log_level, or a syslog priority (from
 * -v / -q) that wins over it.
 *
 * Without a Split Admin API key it polls nothing: it says so in one log
 * line and STATUS=, and waits for a SIGHUP whose configuration brings a
 * key (or for SIGTERM).
 *
 * Exit status: 0 after SIGTERM/SIGINT; 1 (EXIT_RUNTIME) when the lock is
 * held by another process or the cache or delivery cannot start.
 */
int	daemon_run(const char *config_path, struct config *cfg,
	    int log_override);

#endif
