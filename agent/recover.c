/* recover.c - local links out and in, and the rebuild of a damaged cache. */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "clock.h"
#include "commit.h"
#include "error.h"
#include "jsonw.h"
#include "keys.h"
#include "linkset.h"
#include "lock.h"
#include "log.h"
#include "maxlen.h"
#include "poll.h"
#include "recover.h"

/* An import line: a JSON object of three short names and little else. */
#define RECOVER_LINE_MAX	2048
#define RECOVER_ASIDE_TRIES	100

/* ------------------------------------------------------------ export */

struct export_arg {
	FILE	*out;
	size_t	 n;
};

static int
export_cb(void *arg, const char *project, const char *flag,
    const char *issue, uint32_t mask)
{
	struct export_arg *x = arg;
	json_object *o;
	int rc;

	if (!(mask & LINK_BIT(LINK_SRC_LOCAL)))
		return 0;
	if ((o = json_object_new_object()) == NULL)
		return ENOMEM;
	if ((rc = jsonw_str(o, "project", project)) == 0 &&
	    (rc = jsonw_str(o, "flag", flag)) == 0 &&
	    (rc = jsonw_str(o, "issue", issue)) == 0 &&
	    fprintf(x->out, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		rc = errno ? errno : EIO;
	json_object_put(o);
	if (rc == 0)
		x->n++;
	return rc;
}

int
recover_links_export(struct cache *c, FILE *out, size_t *n)
{
	struct export_arg x = { out, 0 };
	struct cache_txn *t;
	int rc;

	*n = 0;
	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	rc = cache_link_foreach(t, NULL, export_cb, &x);
	cache_read_end(t);
	if (rc == 0 && fflush(out) != 0)
		rc = errno ? errno : EIO;
	*n = x.n;
	return rc;
}

/* ------------------------------------------------------------ import */

struct import_line {
	const char *project, *flag, *issue;
	json_object *doc;
};

/* A field that must be a non-empty string of at most max bytes. */
static const char *
import_name(json_object *o, const char *key, size_t max)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (s[0] == '\0' || strnlen(s, max + 1) > max)
		return NULL;
	return s;
}

/* Parses one line; 0, or EINVAL with why set. */
static int
import_parse(const char *text, size_t len, struct import_line *l,
    const char **why)
{
	memset(l, 0, sizeof(*l));
	if ((l->doc = jsonw_parse(text, len)) == NULL ||
	    !json_object_is_type(l->doc, json_type_object)) {
		*why = "not a JSON object";
		return EINVAL;
	}
	if ((l->project = import_name(l->doc, "project", FS_PROJECT_MAX)) ==
	    NULL || (l->flag = import_name(l->doc, "flag", FS_FLAG_MAX)) ==
	    NULL || (l->issue = import_name(l->doc, "issue", FS_ISSUE_MAX)) ==
	    NULL) {
		*why = "needs \"project\", \"flag\" and \"issue\", each a "
		    "non-empty string within the name limits";
		return EINVAL;
	}
	return 0;
}

/* What the cache says of the line: 0 to add, EEXIST already local,
 * FS_ENOTFOUND no such flag. */
static int
import_state(struct cache *c, const struct import_line *l)
{
	struct cache_txn *t;
	const void *rec;
	uint32_t mask = 0;
	size_t len;
	int rc;

	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	rc = cache_flag_get(t, l->project, l->flag, &rec, &len);
	if (rc == 0) {
		rc = cache_link_get(t, l->project, l->flag, l->issue, &mask);
		if (rc == FS_ENOTFOUND)
			rc = 0;
		if (rc == 0 && (mask & LINK_BIT(LINK_SRC_LOCAL)))
			rc = EEXIST;
	}
	cache_read_end(t);
	return rc;
}

/* Takes one line into cs, or says why not. */
static int
import_take(struct cache *c, const struct config *cfg,
    const struct keys *keys, const char *path, size_t lineno,
    const char *text, size_t len, struct changeset *cs,
    struct recover_import *r)
{
	const struct config_project *p;
	struct import_line l;
	const char *why;
	int rc = 0;

	if (import_parse(text, len, &l, &why) != 0) {
		log_warnx("%s:%zu: %s; skipped", path, lineno, why);
		r->skipped++;
		rc = 0;
		goto doc_put;
	}
	if ((p = config_project_find(cfg, l.project)) == NULL) {
		log_warnx("%s:%zu: no [project %s] in %s; skipped", path,
		    lineno, l.project, cfg->path);
		r->skipped++;
		goto doc_put;
	}
	if (!keys_is_key(keys, l.issue)) {
		log_warnx("%s:%zu: '%s' is not an issue key (issue_key_pattern "
		    "%s); skipped", path, lineno, l.issue,
		    cfg->issue_key_pattern);
		r->skipped++;
		goto doc_put;
	}
	rc = import_state(c, &l);
	if (rc == FS_ENOTFOUND) {
		log_warnx("%s:%zu: no flag '%s' in project '%s'; skipped", path,
		    lineno, l.flag, l.project);
		r->skipped++;
		rc = 0;
	} else if (rc == EEXIST) {
		r->present++;
		rc = 0;
	} else if (rc == 0 &&
	    (rc = changeset_add_edit(cs, l.project, l.flag, l.issue,
	    true)) == 0 &&
	    (rc = changeset_add_env(cs, l.project, p->environment)) == 0)
		r->added++;
doc_put:
	json_object_put(l.doc);
	return rc;
}

/* Reads a line of at most RECOVER_LINE_MAX bytes into line; a longer one
 * is consumed and *toolong set.  0 at the end of the file, else 1. */
static int
import_getline(FILE *in, char *line, size_t size, size_t *len, int *toolong)
{
	int ch;

	*toolong = 0;
	if (fgets(line, (int)size, in) == NULL)
		return 0;
	*len = strlen(line);
	if (*len > 0 && line[*len - 1] == '\n') {
		line[--*len] = '\0';
		return 1;
	}
	if (feof(in))
		return 1;
	*toolong = 1;
	while ((ch = fgetc(in)) != EOF && ch != '\n')
		;
	return 1;
}

int
recover_links_import(struct cache *c, const struct config *cfg,
    const char *path, FILE *in, struct recover_import *r)
{
	char line[RECOVER_LINE_MAX + 2], err[512];
	struct commit_result res;
	struct changeset cs;
	struct keys keys;
	size_t lineno = 0, len;
	int rc = 0, toolong;

	memset(r, 0, sizeof(*r));
	if ((rc = keys_init(&keys, cfg->issue_key_pattern, err,
	    sizeof(err))) != 0) {
		log_warnx("%s: [links] issue_key_pattern: %s", cfg->path, err);
		return rc;
	}
	changeset_init(&cs);
	cs.time = clock_now_ms();
	while (rc == 0 && import_getline(in, line, sizeof(line), &len,
	    &toolong)) {
		lineno++;
		if (toolong) {
			log_warnx("%s:%zu: longer than %d bytes; skipped", path,
			    lineno, RECOVER_LINE_MAX);
			r->skipped++;
			continue;
		}
		if (strspn(line, " \t\r") == len)
			continue;
		rc = import_take(c, cfg, &keys, path, lineno, line, len, &cs,
		    r);
	}
	if (rc == 0 && ferror(in))
		rc = errno ? errno : EIO;
	if (rc == 0 && cs.nedits > 0) {
		if ((rc = commit_apply(c, &cs, &res)) != 0)
			log_warnx("%s", res.error[0] ? res.error :
			    fs_strerror(rc));
		r->first_seq = res.first_seq;
		r->last_seq = res.last_seq;
	}
	changeset_release(&cs);
	keys_release(&keys);
	return rc;
}

/* ------------------------------------------------------------ rebuild */

/* STATE_DIR/damaged-YYYYmmddTHHMMSSZ, or with -N when that exists. */
static int
aside_make(const char *state_dir, char *out, size_t size)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int i, n;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return EINVAL;
	for (i = 0; i < RECOVER_ASIDE_TRIES; i++) {
		if (i == 0)
			n = snprintf(out, size, "%s/damaged-%s", state_dir,
			    stamp);
		else
			n = snprintf(out, size, "%s/damaged-%s-%d", state_dir,
			    stamp, i);
		if (n < 0 || (size_t)n >= size)
			return ENAMETOOLONG;
		if (mkdir(out, 0750) == 0)
			return 0;
		if (errno != EEXIST)
			return errno;
	}
	return EEXIST;
}

/* Moves dir/name into aside; a file that is not there is fine unless
 * required. */
static int
aside_move(const char *dir, const char *aside, const char *name,
    int required)
{
	struct buf from, to;
	int rc;

	buf_init(&from, 0);
	buf_init(&to, 0);
	if ((rc = buf_printf(&from, "%s/%s", dir, name)) != 0 ||
	    (rc = buf_printf(&to, "%s/%s", aside, name)) != 0)
		goto bufs_release;
	if (rename(from.data, to.data) == -1 &&
	    (required || errno != ENOENT))
		rc = errno;
bufs_release:
	buf_release(&from);
	buf_release(&to);
	return rc;
}

/* A new file in dir, for the salvage; NULL on error (logged). */
static FILE *
salvage_file(const char *dir, const char *name)
{
	struct buf path;
	FILE *f = NULL;
	int fd;

	buf_init(&path, 0);
	if (buf_printf(&path, "%s/%s", dir, name) == 0 &&
	    (fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640)) != -1 && (f = fdopen(fd, "w")) == NULL)
		close(fd);
	if (f == NULL)
		log_warn("cannot create %s", buf_str(&path));
	buf_release(&path);
	return f;
}

static int
salvage_event_cb(void *arg, uint64_t seq, const char *json, size_t len)
{
	size_t *n = arg;

	(void)seq;
	if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF)
		return errno ? errno : EIO;
	(*n)++;
	return 0;
}

/*
 * In the child: what the old cache still yields, into aside's
 * local-links.jsonl and events.jsonl.  Writes "LINKS EVENTS" to fd.
 */
static void
salvage_child(const char *aside, int fd)
{
	struct cache_txn *t;
	struct cache *c;
	char err[1024];
	size_t links = 0, events = 0;
	FILE *f;
	int rc;

	if ((rc = cache_open(&c, aside, CACHE_RDONLY, err,
	    sizeof(err))) != 0) {
		log_warnx("%s", err);
		_exit(1);
	}
	(void)cache_guard(c);
	if ((f = salvage_file(aside, "local-links.jsonl")) == NULL)
		_exit(1);
	rc = recover_links_export(c, f, &links);
	if (fclose(f) != 0 && rc == 0)
		rc = errno;
	if (rc != 0)
		log_warnx("the local links of the old cache: %s",
		    fs_strerror(rc));
	/* the events go through stdout, pointed at events.jsonl */
	if ((f = salvage_file(aside, "events.jsonl")) == NULL ||
	    dup2(fileno(f), STDOUT_FILENO) == -1)
		_exit(1);
	if ((rc = cache_read_begin(c, &t)) == 0) {
		rc = cache_event_foreach(t, 0, salvage_event_cb, &events);
		cache_read_end(t);
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = errno;
	if (rc != 0)
		log_warnx("the events of the old cache (kept: %zu): %s",
		    events, fs_strerror(rc));
	dprintf(fd, "%zu %zu\n", links, events);
	_exit(rc == 0 ? 0 : 1);
}

/* Runs salvage_child() and gathers its counts. */
static void
salvage(struct recover_report *r)
{
	char counts[64];
	ssize_t n;
	int p[2], st;
	pid_t pid;

	if (pipe(p) == -1) {
		log_warn("cannot salvage the old cache");
		return;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warn("cannot salvage the old cache");
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		salvage_child(r->aside, p[1]);
	}
	close(p[1]);
	n = read(p[0], counts, sizeof(counts) - 1);
	close(p[0]);
	counts[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (sscanf(counts, "%zu %zu", &r->local_links, &r->events) != 2)
		r->local_links = r->events = 0;
	r->salvaged = WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The salvaged local links, back into the new cache. */
static int
rebuild_import(struct cache *c, const struct config *cfg,
    struct recover_report *r)
{
	struct buf path;
	FILE *f;
	int rc;

	buf_init(&path, 0);
	if ((rc = buf_printf(&path, "%s/local-links.jsonl", r->aside)) != 0)
		goto path_release;
	if ((f = fopen(path.data, "re")) == NULL) {
		rc = errno == ENOENT ? 0 : errno;
		goto path_release;
	}
	rc = recover_links_import(c, cfg, path.data, f, &r->import);
	fclose(f);
path_release:
	buf_release(&path);
	return rc;
}

/* Moves the old cache aside; salvages it. */
static int
rebuild_aside(const struct config *cfg, struct recover_report *r)
{
	struct buf data;
	struct stat st;
	int rc;

	buf_init(&data, 0);
	if ((rc = buf_printf(&data, "%s/data.mdb", cfg->state_dir)) != 0)
		goto data_release;
	if (stat(data.data, &st) == -1) {
		rc = errno == ENOENT ? FS_ENOTFOUND : errno;
		if (rc == FS_ENOTFOUND)
			log_warnx("no cache in %s to rebuild; 'flagsync sync' "
			    "makes one", cfg->state_dir);
		else
			log_warn("%s", data.data);
		goto data_release;
	}
	if ((rc = aside_make(cfg->state_dir, r->aside,
	    sizeof(r->aside))) != 0) {
		log_warnx("cannot make a directory for the old cache in %s: %s",
		    cfg->state_dir, fs_strerror(rc));
		goto data_release;
	}
	if ((rc = aside_move(cfg->state_dir, r->aside, "data.mdb", 1)) != 0 ||
	    (rc = aside_move(cfg->state_dir, r->aside, "lock.mdb", 0)) != 0 ||
	    (rc = aside_move(cfg->state_dir, r->aside, "polls.json", 0)) != 0) {
		log_warnx("cannot move the old cache into %s: %s", r->aside,
		    fs_strerror(rc));
		goto data_release;
	}
	salvage(r);
data_release:
	buf_release(&data);
	return rc;
}

int
recover_rebuild(const struct config *cfg, volatile sig_atomic_t *cancel,
    struct recover_report *r)
{
	struct poll_report rep;
	struct cache *c;
	char err[1024];
	int fd, rc;

	memset(r, 0, sizeof(*r));
	if ((rc = lock_acquire(cfg->state_dir, &fd, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		return rc;
	}
	if ((rc = rebuild_aside(cfg, r)) != 0)
		goto lock_release;
	if ((rc = cache_open(&c, cfg->state_dir, 0, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		goto lock_release;
	}
	/* the local links need their flags back first: without a whole
	 * sync they wait in the file for `flagsync links import` */
	if ((r->sync_rc = poll_cycle(cfg, c, cancel, &rep)) == 0)
		rc = rebuild_import(c, cfg, r);
	cache_close(c);
lock_release:
	lock_release(fd);
	return rc;
}
