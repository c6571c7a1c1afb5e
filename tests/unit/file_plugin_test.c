/* file_plugin_test.c - the file output plugin, against the mock host. */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <flagsync/plugin.h>

#include "plugin_host_mock.h"

/* The plugin under test, compiled into this program. */
extern const struct flagsync_plugin flagsync_plugin;

#define EV1 "{\"seq\":1,\"time\":\"2026-11-29T22:50:15Z\"," \
	"\"type\":\"flag.killed\",\"project\":\"Default\"," \
	"\"environment\":\"Production\",\"flag\":\"new_checkout\"," \
	"\"issues\":[\"SHOP-1\"],\"before\":null,\"after\":null}"
#define EV2 "{\"seq\":2,\"time\":\"2026-11-29T22:50:16Z\"," \
	"\"type\":\"link.added\",\"project\":\"Caf\xc3\xa9\"," \
	"\"environment\":\"Production\",\"flag\":\"new_checkout\"," \
	"\"issue\":\"SHOP-7\",\"sources\":[\"split-tag\"]," \
	"\"issues\":[\"SHOP-1\",\"SHOP-7\"]}"
#define EV3 "{\"seq\":3,\"time\":\"2026-11-29T22:50:17Z\"," \
	"\"type\":\"flag.updated\",\"project\":\"Default\"," \
	"\"environment\":\"Production\",\"flag\":\"new_checkout\"," \
	"\"issues\":[],\"replay\":true}"

struct fixture {
	char		 dir[256];
	char		 path[300];
	struct flagsync_host *h;
	void		*ctx;
	char		 err[512];
	char		*big;		/* longer than the first line buffer */
};

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *fx;
	const char *tmp;
	size_t i, n = 20000;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	i = (size_t)snprintf(fx->dir, sizeof(fx->dir),
	    "%s/file_plugin_test.XXXXXX", tmp);
	if (i >= sizeof(fx->dir) || mkdtemp(fx->dir) == NULL ||
	    (fx->big = malloc(n + 64)) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/events.jsonl", fx->dir);
	/* {"seq":4,"pad":"xxxx...."} */
	i = (size_t)snprintf(fx->big, 64, "{\"seq\":4,\"pad\":\"");
	memset(fx->big + i, 'x', n);
	snprintf(fx->big + i + n, 64, "\"}");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->ctx != NULL)
		flagsync_plugin.shutdown(fx->ctx);
	mock_host_free(fx->h);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx->big);
	free(fx);
	return 0;
}

/* The instance's section: the host's own keys, path and maybe fsync. */
static void
host_with(struct fixture *fx, const char *path, const char *fsync)
{
	struct mock_config keys[] = {
		{ "module", "file" },
		{ "events", "*" },
		{ "timeout", "30" },
		{ "path", path },
		{ "fsync", fsync },
	};

	fx->h = mock_host_create("audit", keys, fsync != NULL ? 5 : 4);
	assert_non_null(fx->h);
}

static void
start(struct fixture *fx, const char *path, const char *fsync)
{
	host_with(fx, path, fsync);
	assert_int_equal(flagsync_plugin.check_config(mock_host_api(), fx->h,
	    fx->err, sizeof(fx->err)), 0);
	assert_int_equal(flagsync_plugin.init(mock_host_api(), fx->h,
	    &fx->ctx, fx->err, sizeof(fx->err)), 0);
	assert_non_null(fx->ctx);
}

static int
deliver(struct fixture *fx, uint64_t seq, const char *json)
{
	struct flagsync_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.struct_size = sizeof(ev);
	ev.seq = seq;
	ev.time_ms = INT64_C(1795992615000);
	ev.type = "flag.killed";
	ev.project = "Default";
	ev.flag = "new_checkout";
	ev.json = json;
	ev.json_len = strlen(json);
	fx->err[0] = '\0';
	return flagsync_plugin.deliver(fx->ctx, &ev, fx->err,
	    sizeof(fx->err));
}

/* The whole file, NUL-terminated; "" when it does not exist. */
static char *
slurp(const char *path)
{
	struct stat st;
	char *s;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		assert_int_equal(errno, ENOENT);
		return strdup("");
	}
	assert_int_equal(fstat(fd, &st), 0);
	s = malloc((size_t)st.st_size + 1);
	assert_non_null(s);
	assert_int_equal(read(fd, s, (size_t)st.st_size), st.st_size);
	s[st.st_size] = '\0';
	close(fd);
	return s;
}

static void
assert_file(const char *path, const char *want)
{
	char *got = slurp(path);

	assert_int_equal(strlen(got), strlen(want));
	assert_memory_equal(got, want, strlen(want));
	free(got);
}

static void
test_lines_appended(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	mode_t mask;
	char *want;

	start(fx, fx->path, NULL);
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);
	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	assert_int_equal(deliver(fx, 3, EV3), FLAGSYNC_OK);
	assert_int_equal(deliver(fx, 4, fx->big), FLAGSYNC_OK);
	assert_int_equal(deliver(fx, 5, EV1), FLAGSYNC_OK);
	assert_int_equal(asprintf(&want, "%s\n%s\n%s\n%s\n%s\n", EV1, EV2, EV3,
	    fx->big, EV1) > 0, 1);
	assert_file(fx->path, want);
	free(want);

	mask = umask(0);
	umask(mask);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640 & ~mask);
}

static void
test_existing_content_kept(void **state)
{
	struct fixture *fx = *state;
	int fd;

	fd = open(fx->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "old\n", 4), 4);
	close(fd);
	start(fx, fx->path, "no");
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);
	assert_file(fx->path, "old\n" EV1 "\n");
}

static void
test_fsync_yes(void **state)
{
	struct fixture *fx = *state;

	start(fx, fx->path, "yes");
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);
	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	assert_file(fx->path, EV1 "\n" EV2 "\n");
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_DEBUG, "(fsync)"));
	assert_null(mock_host_last_error(fx->h));
}

/* logrotate: rename, SIGHUP, and the next line starts a new file. */
static void
test_reopen_after_rename(void **state)
{
	struct fixture *fx = *state;
	char rotated[320];

	snprintf(rotated, sizeof(rotated), "%s.1", fx->path);
	start(fx, fx->path, NULL);
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);
	assert_int_equal(rename(fx->path, rotated), 0);
	/* Until the HUP the open file, now renamed, gets the lines. */
	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	flagsync_plugin.reopen(fx->ctx);
	assert_int_equal(deliver(fx, 3, EV3), FLAGSYNC_OK);
	assert_file(rotated, EV1 "\n" EV2 "\n");
	assert_file(fx->path, EV3 "\n");
}

/* A file that cannot be opened: RETRY naming it, and the events wait. */
static void
test_missing_dir_retry(void **state)
{
	struct fixture *fx = *state;
	char sub[300], path[350];

	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	snprintf(path, sizeof(path), "%s/events.jsonl", sub);
	start(fx, path, NULL);
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_WARNING, path));

	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, path));
	assert_non_null(strstr(fx->err, strerror(ENOENT)));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_RETRY);

	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);
	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	assert_file(path, EV1 "\n" EV2 "\n");
}

/* reopen() that fails is reported by the next deliver(), then heals. */
static void
test_reopen_failure_deferred(void **state)
{
	struct fixture *fx = *state;
	char sub[300], path[350];

	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	snprintf(path, sizeof(path), "%s/events.jsonl", sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	start(fx, path, "yes");
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(sub), 0);

	flagsync_plugin.reopen(fx->ctx);
	assert_true(mock_host_log_has(fx->h, FLAGSYNC_LOG_WARNING, path));
	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, path));
	assert_non_null(strstr(fx->err, strerror(ENOENT)));

	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	assert_file(path, EV2 "\n");
}

/* Lowers the file size limit to room bytes past the file's end. */
static void
limit_size(const char *path, off_t room, struct rlimit *old)
{
	struct rlimit rl;
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, old), 0);
	rl = *old;
	rl.rlim_cur = (rlim_t)(st.st_size + room);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* A write that stops part way: the partial line is cut off, RETRY. */
static void
test_short_write_cut(void **state)
{
	struct fixture *fx = *state;
	struct rlimit old;
	void (*oldsig)(int);
	int rc;

	start(fx, fx->path, NULL);
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);

	oldsig = signal(SIGXFSZ, SIG_IGN);
	limit_size(fx->path, 10, &old);
	rc = deliver(fx, 2, EV2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);

	assert_int_equal(rc, FLAGSYNC_RETRY);
	assert_non_null(strstr(fx->err, "short write"));
	assert_non_null(strstr(fx->err, fx->path));
	assert_file(fx->path, EV1 "\n");

	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	assert_file(fx->path, EV1 "\n" EV2 "\n");
}

/* A write that cannot start (EFBIG): RETRY with the reason. */
static void
test_write_error_retry(void **state)
{
	struct fixture *fx = *state;
	char want[1024];
	struct rlimit old;
	void (*oldsig)(int);
	int rc;

	start(fx, fx->path, "yes");
	assert_int_equal(deliver(fx, 1, EV1), FLAGSYNC_OK);

	oldsig = signal(SIGXFSZ, SIG_IGN);
	limit_size(fx->path, 0, &old);
	rc = deliver(fx, 2, EV2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);

	assert_int_equal(rc, FLAGSYNC_RETRY);
	snprintf(want, sizeof(want), "cannot write to %s: %s", fx->path,
	    strerror(EFBIG));
	assert_string_equal(fx->err, want);
	assert_file(fx->path, EV1 "\n");

	assert_int_equal(deliver(fx, 2, EV2), FLAGSYNC_OK);
	assert_file(fx->path, EV1 "\n" EV2 "\n");
}

struct config_case {
	const char	*key;
	const char	*value;
	const char	*want;		/* in err; NULL: accepted */
};

static void
check_config_case(const struct config_case *c)
{
	struct mock_config keys[] = {
		{ "module", "file" },
		{ "path", "/var/lib/flagsync/events.jsonl" },
		{ c->key, c->value },
	};
	struct flagsync_host *h;
	char err[256] = "";
	void *ctx = NULL;
	int rc;

	/* The case's key replaces path when it is path. */
	if (strcmp(c->key, "path") == 0)
		keys[1] = keys[2];
	h = mock_host_create("audit", keys, strcmp(c->key, "path") == 0 ?
	    2 : 3);
	assert_non_null(h);
	rc = flagsync_plugin.check_config(mock_host_api(), h, err,
	    sizeof(err));
	if (c->want == NULL) {
		assert_int_equal(rc, 0);
	} else {
		assert_int_not_equal(rc, 0);
		assert_non_null(strstr(err, c->want));
		/* init refuses what check_config refuses. */
		err[0] = '\0';
		assert_int_not_equal(flagsync_plugin.init(mock_host_api(), h,
		    &ctx, err, sizeof(err)), 0);
		assert_null(ctx);
		assert_non_null(strstr(err, c->want));
	}
	mock_host_free(h);
}

static void
test_check_config(void **state)
{
	static const struct config_case cases[] = {
		{ "paht", "/tmp/x", "unknown key \"paht\"" },
		{ "mode", "0600", "unknown key \"mode\"" },
		{ "path", "events.jsonl", "path \"events.jsonl\" is not "
		    "absolute" },
		{ "path", "", "path is required" },
		{ "fsync", "maybe", "fsync = \"maybe\"" },
		{ "fsync", "", "fsync = \"\"" },
		{ "fsync", "yes", NULL },
		{ "fsync", "no", NULL },
		{ "fsync", "True", NULL },
		{ "events", "flag.*", NULL },
		{ "timeout", "5", NULL },
	};
	struct flagsync_host *h;
	char err[256] = "";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_config_case(&cases[i]);
	/* No path at all. */
	h = mock_host_create("audit", NULL, 0);
	assert_non_null(h);
	assert_int_not_equal(flagsync_plugin.check_config(mock_host_api(), h,
	    err, sizeof(err)), 0);
	assert_non_null(strstr(err, "path is required"));
	mock_host_free(h);
}

static void
test_descriptor(void **state)
{
	(void)state;
	assert_int_equal(flagsync_plugin.abi_major, FLAGSYNC_PLUGIN_ABI_MAJOR);
	assert_int_equal(flagsync_plugin.abi_minor, FLAGSYNC_PLUGIN_ABI_MINOR);
	assert_int_equal(flagsync_plugin.struct_size,
	    sizeof(struct flagsync_plugin));
	assert_string_equal(flagsync_plugin.name, "file");
	assert_non_null(flagsync_plugin.reopen);
	assert_non_null(flagsync_plugin.check_config);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test_setup_teardown(test_lines_appended, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_existing_content_kept,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_yes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_rename, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir_retry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_failure_deferred,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_write_cut, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_error_retry, setup,
		    teardown),
		cmocka_unit_test(test_check_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
