/* log.c - logging to stderr with journald priority prefixes. */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "scrub.h"

/* The longest line logged; the rest is cut, after scrubbing. */
#define LOG_LINE_MAX	16384

static const char *log_progname = "flagsync";
/* Read by every thread, set by the main one on SIGHUP. */
static atomic_int log_level = LOG_INFO;
static int log_journal;
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

/*
 * systemd sets $JOURNAL_STREAM to the "DEV:INODE" of the stream it gives
 * the service; a child whose stderr went elsewhere (a terminal, a file)
 * inherits the variable, so only a match with stderr itself counts.
 */
static int
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	/* descriptor 2: stderr itself may be scrub.h's stream over it */
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, int level)
{
	if (progname)
		log_progname = progname;
	atomic_store(&log_level, level);
	log_journal = log_stderr_is_journal();
}

/* "2026-01-31T12:00:00.123Z": RFC 3339, UTC, milliseconds. */
static void
log_stamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    (n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(out, len, "0000-00-00T00:00:00.000Z");
		return;
	}
	snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void
log_set_level(int level)
{
	atomic_store(&log_level, level);
}

int
log_get_level(void)
{
	return atomic_load(&log_level);
}

int
log_level_parse(const char *name)
{
	static const struct { const char *name; int prio; } tab[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(name, tab[i].name) == 0)
			return tab[i].prio;
	return -1;
}

/* The formatted message, scrubbed, into out (LOG_LINE_MAX at most). */
static void __attribute__((format(printf, 2, 0)))
log_format(struct buf *out, const char *fmt, va_list ap)
{
	char small[1024], *msg = small;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0) {
		buf_puts(out, "(unprintable message)");
		return;
	}
	if ((size_t)n >= sizeof(small)) {
		if ((size_t)n > LOG_LINE_MAX)
			n = LOG_LINE_MAX;
		/* Short of memory: the cut first 1 KiB is still scrubbed. */
		if ((msg = malloc((size_t)n + 1)) != NULL)
			vsnprintf(msg, (size_t)n + 1, fmt, ap);
		else
			msg = small;
	}
	if (scrub_buf(out, msg, strlen(msg)) != 0) {
		buf_reset(out);
		buf_puts(out, "(message withheld: out of memory)");
	}
	if (msg != small) {
		explicit_bzero(msg, (size_t)n + 1);
		free(msg);
	}
}

void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	struct buf line;
	char stamp[40];
	int saved = errno;

	if (prio > atomic_load(&log_level)) {
		errno = saved;
		return;
	}
	/* Scrubbing grows a line by 2 bytes a URL at most: no cap needed. */
	buf_init(&line, 0);
	log_format(&line, fmt, ap);
	pthread_mutex_lock(&log_mtx);
	if (log_journal)
		fprintf(stderr, "<%d>", prio);
	else {
		log_stamp(stamp, sizeof(stamp));
		fprintf(stderr, "%s %s: ", stamp, log_progname);
	}
	fputs(buf_str(&line), stderr);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_mtx);
	if (line.data != NULL)
		explicit_bzero(line.data, line.cap);
	buf_release(&line);
	errno = saved;
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_WARNING, "%s: %s", msg, strerror(saved));
	errno = saved;
}

#define LOG_FORWARD(fn, prio)					\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	log_vmsg(prio, fmt, ap);				\
	va_end(ap);						\
}

LOG_FORWARD(log_warnx, LOG_WARNING)
LOG_FORWARD(log_info, LOG_INFO)
LOG_FORWARD(log_debug, LOG_DEBUG)
