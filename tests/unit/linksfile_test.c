/* linksfile_test.c - link sets and links.yaml, read from real files. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "keys.h"
#include "linksfile.h"
#include "linkset.h"
#include "maxlen.h"

struct fixture {
	char		 dir[64];
	char		 path[128];	/* dir/links.yaml */
	struct keys	 keys;
	struct linkset	 out;
	struct skipped	 skipped;	/* what the last load() skipped */
	char		 err[512];
};

static const char *const two_projects[] = { "Default", "Shop" };
static const char *const one_project[] = { "Default" };

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s", "/tmp/linksfile_test.XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/links.yaml", fx->dir);
	if (keys_init(&fx->keys, NULL, fx->err, sizeof(fx->err)) != 0) {
		rmdir(fx->dir);
		free(fx);
		return -1;
	}
	linkset_init(&fx->out);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	keys_release(&fx->keys);
	linkset_release(&fx->out);
	skipped_release(&fx->skipped);
	free(fx);
	return 0;
}

static void
write_links(const struct fixture *fx, const char *text, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(fx->path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int
load(struct fixture *fx, const char *text, const char *const *projects,
    size_t nprojects)
{
	write_links(fx, text, strlen(text));
	skipped_release(&fx->skipped);
	return linksfile_load(fx->path, projects, nprojects, &fx->keys,
	    &fx->out, &fx->skipped, fx->err, sizeof(fx->err));
}

/* Loads text with projects Default and Shop into a set holding one link
 * already, and checks the error "PATH:" want and that out is untouched. */
static void
check_error(struct fixture *fx, const char *text, const char *want)
{
	char full[512];

	assert_int_equal(linkset_add(&fx->out, "Default", "old", "OLD-1"), 0);
	assert_int_equal(load(fx, text, two_projects, 2), FS_ECONFIG);
	snprintf(full, sizeof(full), "%s:%s", fx->path, want);
	assert_string_equal(fx->err, full);
	assert_int_equal(fx->out.n, 1);
	assert_string_equal(fx->out.v[0].issue, "OLD-1");
	linkset_release(&fx->out);
}

/* link sets */

static void
test_source_names(void **state)
{
	int s;

	(void)state;
	assert_string_equal(link_source_name(LINK_SRC_SPLIT_TAG), "split-tag");
	assert_string_equal(link_source_name(LINK_SRC_SPLIT_DESC),
	    "split-description");
	assert_string_equal(link_source_name(LINK_SRC_FILE), "file");
	assert_string_equal(link_source_name(LINK_SRC_JIRA_FIELD),
	    "jira-field");
	assert_string_equal(link_source_name(LINK_SRC_LOCAL), "local");
	for (s = 0; s < LINK_SRC_COUNT; s++)
		assert_int_equal(link_source_parse(link_source_name(s)), s);
	assert_int_equal(link_source_parse("files"), -1);
	assert_int_equal(link_source_parse(""), -1);
	assert_int_equal(link_source_parse("Split-tag"), -1);
	assert_int_equal(LINK_BIT(LINK_SRC_LOCAL), 16u);
}

static void
test_linkset_sort_dedup(void **state)
{
	struct linkset s;
	char flag[8];
	size_t i;

	(void)state;
	linkset_init(&s);
	assert_true(s.sorted);
	assert_false(linkset_has(&s, "P", "f", "A-1"));
	assert_int_equal(linkset_add(&s, "P", "f", "B-2"), 0);
	assert_int_equal(linkset_add(&s, "P", "f", "A-1"), 0);
	assert_int_equal(linkset_add(&s, "O", "z", "Z-9"), 0);
	assert_int_equal(linkset_add(&s, "P", "f", "B-2"), 0);
	assert_int_equal(linkset_add(&s, "P", "e", "B-2"), 0);
	assert_int_equal(linkset_add(&s, "P", "f", "A-1"), 0);
	assert_int_equal(linkset_add(&s, NULL, "f", "A-1"), EINVAL);
	assert_int_equal(s.n, 6);
	assert_false(s.sorted);
	/* Unsorted lookups still answer (linear scan). */
	assert_true(linkset_has(&s, "O", "z", "Z-9"));
	assert_false(linkset_has(&s, "O", "z", "Z-8"));

	linkset_sort(&s);
	assert_true(s.sorted);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.v[0].project, "O");
	assert_string_equal(s.v[1].flag, "e");
	assert_string_equal(s.v[2].issue, "A-1");
	assert_string_equal(s.v[3].issue, "B-2");
	assert_string_equal(s.v[3].flag, "f");
	assert_true(linkset_has(&s, "P", "f", "A-1"));
	assert_true(linkset_has(&s, "P", "e", "B-2"));
	assert_true(linkset_has(&s, "O", "z", "Z-9"));
	assert_false(linkset_has(&s, "P", "e", "A-1"));
	assert_false(linkset_has(&s, "Q", "f", "A-1"));
	assert_false(linkset_has(&s, "A", "f", "A-1"));
	linkset_sort(&s);
	assert_int_equal(s.n, 4);

	/* Enough links to grow the array several times. */
	for (i = 0; i < 100; i++) {
		snprintf(flag, sizeof(flag), "f%02zu", 99 - i);
		assert_int_equal(linkset_add(&s, "P", flag, "A-1"), 0);
		assert_int_equal(linkset_add(&s, "P", flag, "A-1"), 0);
	}
	linkset_sort(&s);
	assert_int_equal(s.n, 104);
	for (i = 1; i < s.n; i++)
		assert_true(link_cmp(&s.v[i - 1], &s.v[i]) < 0);
	assert_true(linkset_has(&s, "P", "f42", "A-1"));
	assert_false(linkset_has(&s, "P", "f100", "A-1"));
	linkset_release(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.v);
	linkset_release(&s);
}

static void
test_link_cmp(void **state)
{
	struct link a = { "P", "f", "A-1" }, b = { "P", "f", "A-1" };

	(void)state;
	assert_int_equal(link_cmp(&a, &b), 0);
	b.issue = "A-2";
	assert_true(link_cmp(&a, &b) < 0);
	b.flag = "e";
	assert_true(link_cmp(&a, &b) > 0);
	b.project = "Q";
	assert_true(link_cmp(&a, &b) < 0);
}

/* links.yaml: good files */

static void
test_good_two_projects(void **state)
{
	struct fixture *fx = *state;
	const char *text =
	    "# flag <-> issue links\n"
	    "links:\n"
	    "  - flag: new_checkout\n"
	    "    project: Default\n"
	    "    issues: [SHOP-1, SHOP-7]\n"
	    "  - project: Shop\n"
	    "    flag: promo\n"
	    "    issues: PAY-22\n"
	    "  - flag: new_checkout\n"
	    "    project: \"Default\"\n"
	    "    issues:\n"
	    "      - SHOP-1\n"
	    "      - 'OPS-3'\n";

	assert_int_equal(load(fx, text, two_projects, 2), 0);
	assert_string_equal(fx->err, "");
	assert_int_equal(fx->out.n, 5);
	linkset_sort(&fx->out);
	assert_int_equal(fx->out.n, 4);
	assert_true(linkset_has(&fx->out, "Default", "new_checkout", "SHOP-1"));
	assert_true(linkset_has(&fx->out, "Default", "new_checkout", "SHOP-7"));
	assert_true(linkset_has(&fx->out, "Default", "new_checkout", "OPS-3"));
	assert_true(linkset_has(&fx->out, "Shop", "promo", "PAY-22"));
	assert_false(linkset_has(&fx->out, "Shop", "new_checkout", "SHOP-1"));
}

static void
test_good_one_project(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(linkset_add(&fx->out, "Default", "old", "OLD-1"), 0);
	assert_int_equal(load(fx,
	    "links:\n"
	    "- flag: a\n"
	    "  issues: [AB-1]\n"
	    "- {flag: b, project: Default, issues: CD-2}\n",
	    one_project, 1), 0);
	/* Links are appended to what out held. */
	assert_int_equal(fx->out.n, 3);
	assert_true(linkset_has(&fx->out, "Default", "old", "OLD-1"));
	assert_true(linkset_has(&fx->out, "Default", "a", "AB-1"));
	assert_true(linkset_has(&fx->out, "Default", "b", "CD-2"));
}

static void
test_good_empty(void **state)
{
	struct fixture *fx = *state;
	const char *empty[] = {
		"",
		"# nothing yet\n",
		"links: []\n",
		"links:\n",
		"links: ~\n",
		"---\nlinks: []\n...\n",
	};
	size_t i;

	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		assert_int_equal(load(fx, empty[i], two_projects, 2), 0);
		assert_int_equal(fx->out.n, 0);
		assert_string_equal(fx->err, "");
	}
}

static void
test_custom_key_pattern(void **state)
{
	struct fixture *fx = *state;
	char want[256];

	keys_release(&fx->keys);
	assert_int_equal(keys_init(&fx->keys, "OPS-[0-9]+", NULL, 0), 0);
	assert_int_equal(load(fx, "links:\n  - {flag: f, issues: OPS-12}\n",
	    one_project, 1), 0);
	assert_true(linkset_has(&fx->out, "Default", "f", "OPS-12"));
	assert_int_equal(load(fx, "links:\n  - {flag: f, issues: SHOP-12}\n",
	    one_project, 1), FS_ECONFIG);
	snprintf(want, sizeof(want), "%s:2:23: issue 'SHOP-12' is not an "
	    "issue key (issue_key_pattern)", fx->path);
	assert_string_equal(fx->err, want);
	assert_int_equal(fx->out.n, 1);
}

/* links.yaml: errors name LINE:COL and what was expected */

static void
test_err_unknown_key(void **state)
{
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    isues: [SHOP-1]\n",
	    "4:5: unknown key 'isues' (expected flag, project, issues)");
	check_error(*state,
	    "link:\n"
	    "  - flag: a\n",
	    "1:1: unknown key 'link' (expected links)");
	check_error(*state,
	    "links: []\n"
	    "extra: 1\n",
	    "2:1: unknown key 'extra' (expected links)");
	/* Control characters in a quoted key do not break the line. */
	check_error(*state,
	    "links:\n"
	    "  - {flag: a, \"is\\nsues\": SHOP-1}\n",
	    "2:15: unknown key 'is?sues' (expected flag, project, issues)");
}

static void
test_err_project(void **state)
{
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    issues: [SHOP-1]\n",
	    "2:5: 'project' missing and 2 projects are configured "
	    "(Default, Shop)");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Nope\n"
	    "    issues: [SHOP-1]\n",
	    "3:14: project 'Nope' is not configured "
	    "(expected one of Default, Shop)");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: [Default]\n"
	    "    issues: [SHOP-1]\n",
	    "3:14: 'project' must be a string, not a sequence");
}

static void
test_err_project_one(void **state)
{
	struct fixture *fx = *state;
	char want[256];

	assert_int_equal(load(fx,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Shop\n"
	    "    issues: SHOP-1\n", one_project, 1), FS_ECONFIG);
	snprintf(want, sizeof(want), "%s:3:14: project 'Shop' is not "
	    "configured (expected one of Default)", fx->path);
	assert_string_equal(fx->err, want);
	assert_int_equal(fx->out.n, 0);
}

static void
test_err_issues(void **state)
{
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    issues: [SHOP-1, shop-1]\n",
	    "4:22: issue 'shop-1' is not an issue key (issue_key_pattern)");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    issues: SHOP-1, SHOP-2\n",
	    "4:13: issue 'SHOP-1, SHOP-2' is not an issue key "
	    "(issue_key_pattern)");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    issues: []\n",
	    "4:13: 'issues' is empty (expected issue keys)");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    issues:\n",
	    "4:12: 'issues' is empty (expected issue keys)");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n",
	    "2:5: 'issues' missing");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    issues: {SHOP-1: x}\n",
	    "4:13: 'issues' must be an issue key or a sequence of them, "
	    "not a mapping");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    project: Default\n"
	    "    issues: [[SHOP-1]]\n",
	    "4:14: 'issues' must be a string, not a sequence");
}

static void
test_err_flag(void **state)
{
	check_error(*state,
	    "links:\n"
	    "  - project: Default\n"
	    "    issues: [SHOP-1]\n",
	    "2:5: 'flag' missing");
	check_error(*state,
	    "links:\n"
	    "  - flag:\n"
	    "    project: Default\n"
	    "    issues: [SHOP-1]\n",
	    "2:10: 'flag' has no value");
	check_error(*state,
	    "links:\n"
	    "  - flag: \"a\\0b\"\n"
	    "    project: Default\n"
	    "    issues: [SHOP-1]\n",
	    "2:11: 'flag' contains a NUL character");
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "    flag: b\n"
	    "    project: Default\n"
	    "    issues: [SHOP-1]\n",
	    "3:5: duplicate key 'flag'");
}

static void
test_err_shape(void **state)
{
	check_error(*state,
	    "- flag: a\n",
	    "1:1: expected a mapping with key 'links', not a sequence");
	check_error(*state,
	    "links: new_checkout\n",
	    "1:8: 'links' must be a sequence of mappings with flag, "
	    "project, issues, not a string");
	check_error(*state,
	    "links:\n"
	    "  - SHOP-1\n",
	    "2:5: expected a mapping with flag, project, issues, "
	    "not a string");
	check_error(*state,
	    "{}\n",
	    "1:1: 'links' missing");
	check_error(*state,
	    "links: []\n"
	    "links: []\n",
	    "2:1: duplicate key 'links'");
	check_error(*state,
	    "links: []\n"
	    "---\n"
	    "links: []\n",
	    "2:1: more than one YAML document (expected one)");
}

/* An error after good entries adds none of them. */
static void
test_err_all_or_nothing(void **state)
{
	check_error(*state,
	    "links:\n"
	    "  - {flag: a, project: Default, issues: [SHOP-1, SHOP-2]}\n"
	    "  - {flag: b, project: Shop, issues: [SHOP-3]}\n"
	    "  - {flag: c, project: Shop, issues: [SHOP-4], note: x}\n",
	    "4:48: unknown key 'note' (expected flag, project, issues)");
}

static void
test_err_yaml_syntax(void **state)
{
	check_error(*state,
	    "links:\n"
	    "  - flag: a\n"
	    "   issues: [SHOP-1]\n",
	    "3:4: did not find expected '-' indicator "
	    "(while parsing a block collection at line 2 column 3)");
	check_error(*state,
	    "links: [\n",
	    "2:1: did not find expected node content "
	    "(while parsing a flow node at line 2 column 1)");
	check_error(*state,
	    "links:\n"
	    "\t- flag: a\n",
	    "2:1: found character that cannot start any token "
	    "(while scanning for the next token at line 2 column 1)");
	check_error(*state,
	    "links:\n"
	    "  - flag: *x\n",
	    "2:11: anchors and aliases are not supported");
	check_error(*state,
	    "links:\n"
	    "  - &e {flag: a, project: Default, issues: SHOP-1}\n"
	    "  - *e\n",
	    "2:5: anchors and aliases are not supported");
}

static void
test_err_bad_utf8(void **state)
{
	struct fixture *fx = *state;
	const char text[] = "links:\n  - flag: \xc3\xa9\xff\n";
	char want[256];

	write_links(fx, text, sizeof(text) - 1);
	assert_int_equal(linksfile_load(fx->path, two_projects, 2, &fx->keys,
	    &fx->out, NULL, fx->err, sizeof(fx->err)), FS_ECONFIG);
	snprintf(want, sizeof(want), "%s:2:12: invalid leading UTF-8 octet "
	    "(byte 0xff)", fx->path);
	assert_string_equal(fx->err, want);
	assert_int_equal(fx->out.n, 0);
}

static void
test_err_unreadable(void **state)
{
	struct fixture *fx = *state;
	char path[160], want[256];

	snprintf(path, sizeof(path), "%s/missing.yaml", fx->dir);
	assert_int_equal(linksfile_load(path, one_project, 1, &fx->keys,
	    &fx->out, NULL, fx->err, sizeof(fx->err)), ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: %s", path,
	    strerror(ENOENT));
	assert_string_equal(fx->err, want);

	assert_int_equal(linksfile_load(fx->dir, one_project, 1, &fx->keys,
	    &fx->out, NULL, fx->err, sizeof(fx->err)), EISDIR);
	snprintf(want, sizeof(want), "%s: cannot read: %s", fx->dir,
	    strerror(EISDIR));
	assert_string_equal(fx->err, want);
	assert_int_equal(fx->out.n, 0);

	assert_int_equal(linksfile_load(path, NULL, 0, &fx->keys,
	    &fx->out, NULL, fx->err, sizeof(fx->err)), EINVAL);
}

static void
test_err_short_buffer(void **state)
{
	struct fixture *fx = *state;
	char small[8];

	memset(small, 'x', sizeof(small));
	write_links(fx, "bad: 1\n", 7);
	assert_int_equal(linksfile_load(fx->path, one_project, 1, &fx->keys,
	    &fx->out, NULL, small, sizeof(small)), FS_ECONFIG);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, fx->path, sizeof(small) - 1);
	assert_int_equal(linksfile_load(fx->path, one_project, 1, &fx->keys,
	    &fx->out, NULL, NULL, 0), FS_ECONFIG);
}

/* A FIFO (or device) as links.yaml is refused at once, not waited on. */
static void
test_err_fifo(void **state)
{
	struct fixture *fx = *state;
	char want[256];

	assert_int_equal(mkfifo(fx->path, 0600), 0);
	alarm(10);	/* the old code blocked in open() for ever */
	assert_int_equal(linksfile_load(fx->path, one_project, 1, &fx->keys,
	    &fx->out, NULL, fx->err, sizeof(fx->err)), FS_ECONFIG);
	alarm(0);
	snprintf(want, sizeof(want), "%s: not a regular file", fx->path);
	assert_string_equal(fx->err, want);
	assert_int_equal(fx->out.n, 0);
}

/* Deep flow nesting is refused at the first level too deep, before
 * libyaml builds (or even scans) the rest. */
static void
test_err_deep(void **state)
{
	struct fixture *fx = *state;
	size_t depth = 100000, i, n = 0;
	char *text, want[256];

	assert_non_null(text = malloc(2 * depth + 16));
	n += (size_t)sprintf(text, "links: ");
	for (i = 0; i < depth; i++)
		text[n++] = '[';
	for (i = 0; i < depth; i++)
		text[n++] = ']';
	text[n++] = '\n';
	write_links(fx, text, n);
	free(text);
	alarm(10);	/* the old code took about a minute */
	assert_int_equal(linksfile_load(fx->path, one_project, 1, &fx->keys,
	    &fx->out, NULL, fx->err, sizeof(fx->err)), FS_ECONFIG);
	alarm(0);
	snprintf(want, sizeof(want), "%s:1:39: nested deeper than 32 "
	    "levels", fx->path);
	assert_string_equal(fx->err, want);
	check_error(fx, "links:\n  - {flag: a, issues: "
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[SHOP-1]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]\n", "2:52: nested deeper than 32 levels");
}

/* Runs load() with stderr in a file; returns what was logged. */
static char *
load_logged(struct fixture *fx, const char *text, int *rc)
{
	char path[160], *out;
	int fd, saved;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/stderr", fx->dir);
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
	    0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	*rc = load(fx, text, two_projects, 2);
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_non_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	assert_non_null(out = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(out, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	return out;
}

/* A name longer than maxlen.h allows is skipped and reported, shortened;
 * the rest of the file is used. */
static void
test_long_names(void **state)
{
	struct fixture *fx = *state;
	char text[4096], longflag[FS_FLAG_MAX + 2], longissue[FS_ISSUE_MAX + 2];
	char want[512], *logged;
	int rc;

	memset(longflag, 'f', sizeof(longflag) - 1);
	longflag[sizeof(longflag) - 1] = '\0';
	snprintf(longissue, sizeof(longissue), "SHOP-");
	memset(longissue + 5, '7', sizeof(longissue) - 6);
	longissue[sizeof(longissue) - 1] = '\0';
	snprintf(text, sizeof(text),
	    "links:\n"
	    "  - {flag: a, project: Default, issues: [SHOP-1]}\n"
	    "  - {flag: %s, project: Default, issues: [SHOP-2]}\n"
	    "  - {flag: b, project: Shop, issues: [%s, SHOP-3]}\n",
	    longflag, longissue);
	logged = load_logged(fx, text, &rc);
	assert_int_equal(rc, 0);
	linkset_sort(&fx->out);
	assert_int_equal(fx->out.n, 2);
	assert_string_equal(fx->out.v[0].issue, "SHOP-1");
	assert_string_equal(fx->out.v[1].issue, "SHOP-3");
	snprintf(want, sizeof(want), "%s:3:12: flag 'ffffffffffffffffffff"
	    "ffffffffffffffffffff... (256 bytes)' is longer than 255 bytes; "
	    "entry skipped", fx->path);
	if (strstr(logged, want) == NULL)
		fail_msg("logged: %s", logged);
	snprintf(want, sizeof(want), "%s:4:39: issue 'SHOP-77777777777777777"
	    "777777777777777777... (65 bytes)' is longer than 64 bytes; "
	    "skipped", fx->path);
	assert_non_null(strstr(logged, want));
	free(logged);
	/* and both are in what the source's status will list */
	assert_int_equal(fx->skipped.n, 2);
	assert_string_equal(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(fx->skipped.list, 0), "why")),
	    "line 3 column 12: is longer than 255 bytes");
	assert_string_equal(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(fx->skipped.list, 1), "item")),
	    "issue 'SHOP-77777777777777777777777777777777777... (65 bytes)'");
}

#define FX_TEST(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_names),
		cmocka_unit_test(test_linkset_sort_dedup),
		cmocka_unit_test(test_link_cmp),
		FX_TEST(test_good_two_projects),
		FX_TEST(test_good_one_project),
		FX_TEST(test_good_empty),
		FX_TEST(test_custom_key_pattern),
		FX_TEST(test_err_unknown_key),
		FX_TEST(test_err_project),
		FX_TEST(test_err_project_one),
		FX_TEST(test_err_issues),
		FX_TEST(test_err_flag),
		FX_TEST(test_err_shape),
		FX_TEST(test_err_all_or_nothing),
		FX_TEST(test_err_yaml_syntax),
		FX_TEST(test_err_bad_utf8),
		FX_TEST(test_err_unreadable),
		FX_TEST(test_err_short_buffer),
		FX_TEST(test_err_fifo),
		FX_TEST(test_err_deep),
		FX_TEST(test_long_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
