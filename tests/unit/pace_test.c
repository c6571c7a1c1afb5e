/* pace_test.c - the request rate shared across processes (pace.h). */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pace.h"

#define RPS		20.0
#define PER_CHILD	12
#define CHILDREN	2

static char dir[] = "/tmp/pace_test.XXXXXX";
static char path[sizeof(dir) + 16];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/pace", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Takes PER_CHILD slots, writing the time each began to fd. */
static void
child_run(int fd)
{
	struct pace *p;
	int64_t t;
	int i;

	if (pace_open(&p, path, RPS) != 0)
		_exit(2);
	for (i = 0; i < PER_CHILD; i++) {
		if (pace_take(p, NULL, NULL) != 0)
			_exit(3);
		t = pace_now_ns();
		if (write(fd, &t, sizeof(t)) != (ssize_t)sizeof(t))
			_exit(4);
	}
	pace_close(p);
	_exit(0);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Two processes together never start more than RPS requests in any
 * second, and never two within a gap (the shared file orders them). */
static void
test_two_processes(void **state)
{
	int64_t t[CHILDREN * PER_CHILD], gap = pace_gap_ns(RPS);
	size_t n = 0, i, j;
	pid_t pid[CHILDREN];
	int fds[2], st, k;
	ssize_t r;

	(void)state;
	unlink(path);
	assert_int_equal(pipe(fds), 0);
	for (k = 0; k < CHILDREN; k++) {
		assert_true((pid[k] = fork()) >= 0);
		if (pid[k] == 0) {
			close(fds[0]);
			child_run(fds[1]);
		}
	}
	close(fds[1]);
	while (n < CHILDREN * PER_CHILD &&
	    (r = read(fds[0], &t[n], sizeof(t[n]))) == (ssize_t)sizeof(t[n]))
		n++;
	close(fds[0]);
	for (k = 0; k < CHILDREN; k++) {
		assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(n, CHILDREN * PER_CHILD);
	qsort(t, n, sizeof(t[0]), cmp_i64);
	/* every window of one second from a start holds at most RPS */
	for (i = 0; i < n; i++) {
		for (j = i; j < n && t[j] < t[i] + 1000000000; j++)
			;
		assert_true(j - i <= (size_t)RPS);
	}
	/* all of them took their turn: n - 1 gaps at least */
	assert_true(t[n - 1] - t[0] >= (int64_t)(n - 1) * gap - gap / 10);
}

/* A child that takes one turn at rps and writes when it began to fd. */
static pid_t
child_once(int fd, double rps)
{
	struct pace *p;
	pid_t pid;
	int64_t t;

	if ((pid = fork()) != 0)
		return pid;
	if (pace_open(&p, path, rps) != 0 || pace_take(p, NULL, NULL) != 0)
		_exit(2);
	t = pace_now_ns();
	_exit(write(fd, &t, sizeof(t)) == (ssize_t)sizeof(t) ? 0 : 4);
}

static int64_t
read_time(int fd)
{
	int64_t t = 0;

	assert_int_equal(read(fd, &t, sizeof(t)), sizeof(t));
	return t;
}

static void
sleep_until(int64_t t)
{
	while (pace_now_ns() < t)
		usleep(1000);
}

/*
 * A process that wakes late (stopped, descheduled) must not crowd the
 * next one: a turn is written when the request goes, not when it is
 * promised.  A goes; B waits its gap and is stopped meanwhile; C comes
 * after B's turn was due, and goes; B, woken after C, waits a gap after
 * C.  No two starts are closer than a gap.
 */
static void
test_late_waker(void **state)
{
	int64_t gap = pace_gap_ns(5), ta, tb, tc;
	pid_t a, b, c;
	int fds[2], st;

	(void)state;
	unlink(path);
	assert_int_equal(pipe(fds), 0);
	a = child_once(fds[1], 5);
	ta = read_time(fds[0]);
	b = child_once(fds[1], 5);
	sleep_until(ta + gap / 4);
	kill(b, SIGSTOP);
	sleep_until(ta + gap * 3 / 2);
	c = child_once(fds[1], 5);
	tc = read_time(fds[0]);
	kill(b, SIGCONT);
	tb = read_time(fds[0]);
	assert_int_equal(waitpid(a, &st, 0), a);
	assert_int_equal(waitpid(b, &st, 0), b);
	assert_int_equal(waitpid(c, &st, 0), c);
	close(fds[0]);
	close(fds[1]);
	assert_true(tc - ta >= gap - gap / 10);
	assert_true(tb - tc >= gap - gap / 10);
}

/* A file from another boot (a start far ahead) or garbage never blocks. */
static void
test_stale_file(void **state)
{
	const char *junk[] = { "999999999999999999\n", "not a time\n",
	    "-5\n", "" };
	struct pace *p;
	int64_t t0;
	size_t i;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		assert_non_null(f = fopen(path, "w"));
		fputs(junk[i], f);
		fclose(f);
		assert_int_equal(pace_open(&p, path, 0.1), 0);
		t0 = pace_now_ns();
		assert_int_equal(pace_take(p, NULL, NULL), 0);
		/* a gap is 10.2 s at 0.1/s: no wait at all */
		assert_true(pace_now_ns() - t0 < 1000000000);
		pace_close(p);
	}
}

static int
always(void *arg)
{
	(*(int *)arg)++;
	return 1;
}

/* A wait for a slot ends at once when the caller is cancelled. */
static void
test_cancelled(void **state)
{
	struct pace *p;
	int64_t t0;
	int asked = 0;

	(void)state;
	unlink(path);
	assert_int_equal(pace_open(&p, path, 0.1), 0);
	assert_int_equal(pace_take(p, always, &asked), 0);
	assert_int_equal(asked, 0);
	t0 = pace_now_ns();
	assert_int_equal(pace_take(p, always, &asked), ECANCELED);
	assert_true(asked > 0);
	assert_true(pace_now_ns() - t0 < 1000000000);
	pace_close(p);
}

static void
test_refuses(void **state)
{
	struct pace *p;

	(void)state;
	assert_int_equal(pace_open(&p, path, 0), EINVAL);
	assert_null(p);
	assert_int_equal(pace_open(&p, path, -1), EINVAL);
	assert_int_equal(pace_open(&p, "/nonexistent/dir/pace", 1), ENOENT);
	/* a FIFO planted in the state directory neither blocks nor is
	 * taken */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(pace_open(&p, path, 1), EINVAL);
	unlink(path);
	assert_true(pace_gap_ns(1e-300) == (int64_t)PACE_MAX_GAP_S * 1000000000);
	assert_true(pace_gap_ns(2) == 510000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_late_waker),
		cmocka_unit_test(test_stale_file),
		cmocka_unit_test(test_cancelled),
		cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
