/* deliver_status_test.c - an output's status record is read as the bytes
 * LMDB hands back: a record that ends the last page of data.mdb must not
 * be read past (deliver_status_update() used to parse it as a C string
 * and faulted with SIGBUS one byte past the end of the file). */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "deliver.h"


struct put {
	const char *json;
};

static int
put_txn(struct cache_txn *t, void *arg)
{
	struct put *p = arg;

	return cache_status_put(t, "plugin:x", p->json, strlen(p->json));
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * A fresh cache whose last page ends with the record: a value too big
 * for a leaf page goes to overflow pages of its own, and one of exactly
 * k pages less their header ends where its last page does.  The writes
 * before it leave free pages behind, so the pages its own write touches
 * come from those, and the overflow run, which they cannot hold, is
 * appended: the last bytes of the file are the record's.
 */
static void
make_cache(const char *dir, int warm, size_t len)
{
	struct cache *c;
	struct put p;
	char err[256], *json, small[32];
	int i;

	assert_int_equal(cache_open(&c, dir, 0, err, sizeof(err)), 0);
	for (i = 0; i < warm; i++) {
		snprintf(small, sizeof(small), "{\"i\":%d}", i);
		p.json = small;
		assert_int_equal(cache_write(c, put_txn, &p), 0);
	}
	assert_non_null(json = malloc(len + 1));
	memset(json, ' ', len);
	memcpy(json, "{\"p\":\"", 6);
	memcpy(json + len - 2, "\"}", 2);
	json[len] = '\0';
	p.json = json;
	assert_int_equal(cache_write(c, put_txn, &p), 0);
	free(json);
	cache_close(c);
}

/* The update in a process of its own, as an output's runs: 0 when it
 * exited normally, else the signal that killed it. */
static int
update_in_child(const char *dir)
{
	struct deliver_status st;
	struct cache *c;
	char err[256];
	pid_t pid;
	int ws;

	if ((pid = fork()) == 0) {
		/* cmocka's handlers would carry on its tests in here */
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		memset(&st, 0, sizeof(st));
		st.state = "running";
		st.module = "m";
		if (cache_open(&c, dir, 0, err, sizeof(err)) != 0)
			_exit(2);
		if (deliver_status_update(c, "x", &st) != 0)
			_exit(3);
		cache_close(c);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (WIFSIGNALED(ws))
		return WTERMSIG(ws);
	assert_int_equal(WEXITSTATUS(ws), 0);
	return 0;
}

static void
test_record_at_end_of_file(void **state)
{
	char tmpl[] = "/tmp/flagsync-dst.XXXXXX", *dir;
	size_t k, len;
	int warm, sig;

	(void)state;
	for (warm = 0; warm < 6; warm++) {
		for (k = 2; k <= 3; k++) {
			len = k * 4096 - 16;	/* LMDB's page header */
			strcpy(tmpl, "/tmp/flagsync-dst.XXXXXX");
			assert_non_null(dir = mkdtemp(tmpl));
			make_cache(dir, warm, len);
			sig = update_in_child(dir);
			nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
			if (sig != 0)
				fail_msg("a record of %zu bytes ending the file "
				    "(after %d writes) killed the update with "
				    "signal %d", len, warm, sig);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_at_end_of_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
