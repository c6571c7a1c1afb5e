/*
 * log.h - logging to stderr, OpenBSD style.
 *
 * Levels are syslog(3) priorities.  When stderr is the journal
 * ($JOURNAL_STREAM names stderr's device and inode), each line carries a
 * "<N>" prefix that journald turns into the priority (the journal keeps
 * its own time); otherwise lines read
 * "2026-01-31T12:00:00.123Z flagsync: message", an RFC 3339 UTC time.
 * log_warn() appends ": strerror(errno)"; the x variants do not.  No log
 * function changes errno.  Every line goes through scrub.h first, so a
 * registered secret or a URL's userinfo never reaches the log; lines are
 * cut at 16 KiB.  The level may be changed by one thread while others log.
 */
#ifndef FLAGSYNC_LOG_H
#define FLAGSYNC_LOG_H

#include <stdarg.h>
#include <syslog.h>

void	log_init(const char *progname, int level);
void	log_set_level(int level);
int	log_get_level(void);
/* Parses error|warning|info|debug; returns the priority or -1. */
int	log_level_parse(const char *name);

void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(int prio, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
