/* cli.c - command line parsing, dispatch, and the commands that write. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "args.h"
#include "array.h"
#include "cache.h"
#include "cli.h"
#include "clock.h"
#include "commit.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "error.h"
#include "findq.h"
#include "jsonw.h"
#include "keys.h"
#include "linkset.h"
#include "linksfile.h"
#include "host.h"
#include "loader.h"
#include "lock.h"
#include "log.h"
#include "maxlen.h"
#include "names.h"
#include "poll.h"
#include "privdrop.h"
#include "supervise.h"
#include "query.h"
#include "recover.h"
#include "scrub.h"
#include "table.h"

struct cli {
	const char *config_path;
	int	 json;
	int	 verbose;
	int	 quiet;
	struct config *cfg;
};

static volatile sig_atomic_t cli_stop;

static void
cli_on_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

static void
cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
cli_usage(FILE *out)
{
	fputs(
"usage: flagsync [-c FILE] [--json] [-v|-q] COMMAND [ARGS]\n"
"\n"
"  sync                     poll every source once, commit, deliver, exit\n"
"  flags  [--project P] [--killed|--active] [--linked|--unlinked]\n"
"  flag   NAME [--project P]         the flag view, its issues, its recent events\n"
"  issue  KEY                        the flags connected to an issue\n"
"  events [--since SEQ|TIME] [--flag NAME] [--issue KEY] [--type GLOB]\n"
"         [--project P] [--limit N] [--follow]\n"
"  link   FLAG ISSUE [--project P]   connect a flag and an issue (source local)\n"
"  unlink FLAG ISSUE [--project P]   remove a local link\n"
"  status                   last poll of each source, errors, counts\n"
"  plugins                  each output: module, version, ABI, state,\n"
"                           restarts, cursor, backlog, dead letters, last error\n"
"  replay --plugin NAME [--from SEQ | --state]\n"
"                           deliver NAME's events again from SEQ (default:\n"
"                           the oldest retained event), or send the current\n"
"                           state as flag.created/link.added replay events\n"
"  deadletters [--plugin NAME [--retry|--drop [SEQ]]]\n"
"                           list dead letters (instance, seq, time, error);\n"
"                           deliver NAME's again, or discard them\n"
"  run                      the daemon: poll, diff, deliver; until SIGTERM\n"
"  check-config             parse and validate everything, touch no network\n"
"  findings [--type GLOB] [--open|--closed]\n"
"                           flag-hygiene findings, oldest first ([findings])\n"
"  export [--format json|csv] [--findings]\n"
"  links export [FILE] | import FILE\n"
"                           the local links (flagsync link) as JSON lines,\n"
"                           to FILE or stdout; add such a file back\n"
"  rebuild                  move a damaged cache aside (kept), sync a new\n"
"                           one, restore the old one's local links\n"
"\n"
"  -c, --config FILE        configuration (default $FLAGSYNC_CONFIG or\n"
"                           " CONFIG_DEFAULT_PATH ")\n"
"  --json                   one JSON document instead of tables\n"
"  -v, --verbose            debug logging;  -q, --quiet  errors only\n"
"  -h, --help               this text;  -V, --version  the version\n"
"\n"
"Exit status: 0 success, 1 runtime failure or not found, 2 usage or\n"
"configuration error.\n", out);
}

/* ------------------------------------------------------------ helpers */

static int
cli_open_cache(struct cli *cl, int flags, struct cache **c)
{
	char err[1024];
	int rc;

	if ((rc = cache_open(c, cl->cfg->state_dir, flags, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "flagsync: %s\n", err[0] ? err :
		    fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* No sync has made a cache yet (what cache_open() calls FS_ENOTFOUND). */
static int
cli_no_cache(const struct cli *cl)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data.mdb", cl->cfg->state_dir);
	return stat(path, &st) == -1 && (errno == ENOENT || errno == ENOTDIR);
}

/* The project a FLAG argument belongs to: --project, or the only one. */
static const char *
cli_project(struct cli *cl, const char *cmd, const char *given)
{
	if (given) {
		if (config_project_find(cl->cfg, given) == NULL) {
			fprintf(stderr, "flagsync %s: no [project %s] in %s\n",
			    cmd, given, cl->cfg->path);
			return NULL;
		}
		return given;
	}
	if (cl->cfg->nprojects == 1)
		return cl->cfg->projects[0].name;
	fprintf(stderr, "flagsync %s: %zu projects are configured; say which "
	    "with --project\n", cmd, cl->cfg->nprojects);
	return NULL;
}

/* ------------------------------------------------------------ sync */

/* Dead letters of every instance; 0 when they cannot be counted. */
static uint64_t
cli_dead_count(struct cache *c)
{
	struct cache_txn *t;
	uint64_t n = 0;

	if (cache_read_begin(c, &t) == 0) {
		cache_dead_count(t, NULL, &n);
		cache_read_end(t);
	}
	return n;
}

/*
 * Delivers pending events to every configured output for up to
 * [agent] deliver_timeout, as `sync` and `replay` do, each output in its
 * own process under the supervisor (as `run` does); 0 when every
 * instance started and took every event, and none crashed or
 * dead-lettered one.
 */
static int
cli_deliver(struct cli *cl, struct cache *c, const char *cmd)
{
	struct supervisor *s;
	uint64_t dead, after, crashes;
	size_t refused;
	int rc;

	if (cl->cfg->nplugins == 0)
		return 0;
	dead = cli_dead_count(c);
	if ((rc = supervise_start(&s, c, cl->cfg, log_get_level())) != 0) {
		fprintf(stderr, "flagsync %s: %s\n", cmd, fs_strerror(rc));
		return rc;
	}
	rc = supervise_wait_idle(s, (int64_t)cl->cfg->deliver_timeout * 1000);
	refused = supervise_refused(s);
	crashes = supervise_crashes(s);
	/* every output process has exited when this returns */
	supervise_stop(s, 5000);
	/* new letters only: a retried one that went counts down */
	after = cli_dead_count(c);
	dead = after > dead ? after - dead : 0;
	if (refused) {
		fprintf(stderr, "flagsync %s: %zu output%s could not start "
		    "(see above)\n", cmd, refused, refused == 1 ? "" : "s");
		return FS_ECONFIG;
	}
	if (rc != 0)
		fprintf(stderr, "flagsync %s: not every event was delivered "
		    "within deliver_timeout (%d s); see 'flagsync plugins'\n",
		    cmd, cl->cfg->deliver_timeout);
	else if (crashes || dead) {
		fprintf(stderr, "flagsync %s: %llu output crash%s, %llu "
		    "event%s dead-lettered; see 'flagsync deadletters'\n", cmd,
		    (unsigned long long)crashes, crashes == 1 ? "" : "es",
		    (unsigned long long)dead, dead == 1 ? "" : "s");
		rc = EIO;
	}
	return rc;
}

/*
 * The one line `sync` prints.  "no change" only when every source was
 * polled and the commit went through: a failed or canceled cycle says
 * what it did commit instead.
 */
static void
cli_sync_summary(const struct poll_report *rep, int rc)
{
	size_t polled = rep->sources - rep->failed;
	int whole = rc != FS_ECANCELED && rep->commit.error[0] == '\0';

	printf("sync: %zu of %zu sources polled", polled, rep->sources);
	if (rep->commit.nevents)
		printf(", %zu events (seq %llu-%llu)", rep->commit.nevents,
		    (unsigned long long)rep->commit.first_seq,
		    (unsigned long long)rep->commit.last_seq);
	if (rc == FS_ECANCELED)
		printf(", canceled%s", rep->commit.nevents ? "" :
		    ": nothing committed");
	else if (!whole)
		printf(", %s", rep->commit.nevents ? "then the commit failed" :
		    "nothing committed: the cache could not be written");
	else if (rc != 0 && rep->commit.nevents == 0)
		printf(", no events from those polled");
	else if (rep->commit.nevents == 0)
		printf(", no change");
	if (rep->commit.skipped)
		printf(", %zu item%s skipped (see 'flagsync status')",
		    rep->commit.skipped, rep->commit.skipped == 1 ? "" : "s");
	putchar('\n');
}

static int
cmd_sync(struct cli *cl, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	struct poll_report rep;
	struct cache *c;
	uint64_t pruned;
	char *pos[1], err[1024];
	size_t npos;
	int fd, rc, drc, status;

	if ((rc = args_parse("sync", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (cl->cfg->split_admin_key == NULL) {
		fprintf(stderr, "flagsync sync: no Split Admin API key: set "
		    "[split] admin_key_file in %s, $FLAGSYNC_SPLIT_ADMIN_KEY, "
		    "or the split-admin-key credential\n", cl->cfg->path);
		return EXIT_USAGE;
	}
	if ((rc = lock_acquire(cl->cfg->state_dir, &fd, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "flagsync sync: %s\n", err);
		return EXIT_RUNTIME;
	}
	if ((status = cli_open_cache(cl, 0, &c)) != 0)
		goto lock_release;
	/* a fault on a damaged page ends the uncommitted cycle, saying so */
	(void)cache_guard(c);
	cli_catch_signals();
	rc = poll_cycle(cl->cfg, c, &cli_stop, &rep);
	drc = cli_deliver(cl, c, "sync");
	if (deliver_prune(c, cl->cfg, cl->cfg->retention, &pruned) == 0 &&
	    pruned)
		log_info("pruned %llu delivered events older than the "
		    "retention", (unsigned long long)pruned);
	if (cl->json)
		printf("{\"ok\":%s,\"sources\":%zu,\"failed\":%zu,"
		    "\"requests\":%llu,\"flags\":%zu,\"changed\":%zu,"
		    "\"events\":%zu,\"first_seq\":%llu,\"last_seq\":%llu}\n",
		    rc == 0 && drc == 0 ? "true" : "false", rep.sources,
		    rep.failed,
		    (unsigned long long)rep.requests, rep.flags_seen,
		    rep.changed, rep.commit.nevents,
		    (unsigned long long)rep.commit.first_seq,
		    (unsigned long long)rep.commit.last_seq);
	else
		cli_sync_summary(&rep, rc);
	if (rc != 0)
		fprintf(stderr, "flagsync sync: %zu of %zu sources failed "
		    "(see the messages above and 'flagsync status')\n",
		    rep.failed ? rep.failed : 1, rep.sources);
	status = rc == 0 && drc == 0 ? 0 : EXIT_RUNTIME;
	cache_close(c);
lock_release:
	lock_release(fd);
	return status;
}

/* ------------------------------------------------------------ link */

static int
cli_link_args(struct cli *cl, const char *cmd, int argc, char **argv,
    const char **project, char **pos, struct keys *keys)
{
	const char *given = NULL;
	const struct arg_opt opts[] = {
		{ "--project", 1, &given, NULL },
		{ NULL, 0, NULL, NULL },
	};
	char err[512], shown[2][NAME_SHOW_MAX];
	size_t npos;
	int rc;

	if ((rc = args_parse(cmd, argc, argv, opts, pos, 2, &npos)) != 0)
		return rc;
	if (npos != 2) {
		fprintf(stderr, "usage: flagsync %s FLAG ISSUE [--project P]\n",
		    cmd);
		return EXIT_USAGE;
	}
	if (name_check(pos[0], FS_FLAG_MAX) != 0 ||
	    name_check(pos[1], FS_ISSUE_MAX) != 0) {
		fprintf(stderr, "flagsync %s: '%s' '%s': a flag name takes 1 to "
		    "%d bytes, an issue key 1 to %d, no control characters\n",
		    cmd, name_show(shown[0], sizeof(shown[0]), pos[0]),
		    name_show(shown[1], sizeof(shown[1]), pos[1]), FS_FLAG_MAX,
		    FS_ISSUE_MAX);
		return EXIT_USAGE;
	}
	if ((*project = cli_project(cl, cmd, given)) == NULL)
		return EXIT_USAGE;
	if (keys_init(keys, cl->cfg->issue_key_pattern, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "flagsync %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	if (!keys_is_key(keys, pos[1])) {
		fprintf(stderr, "flagsync %s: '%s' is not an issue key "
		    "(issue_key_pattern %s)\n", cmd, pos[1],
		    cl->cfg->issue_key_pattern);
		keys_release(keys);
		return EXIT_USAGE;
	}
	return 0;
}

/* Reads the flag's existence and the link's source mask. */
static int
cli_link_state(struct cache *c, const char *project, const char *flag,
    const char *issue, int *exists, uint32_t *mask)
{
	struct cache_txn *t;
	const void *rec;
	size_t len;
	int rc;

	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	rc = cache_flag_get(t, project, flag, &rec, &len);
	*exists = rc == 0;
	*mask = 0;
	rc = cache_link_get(t, project, flag, issue, mask);
	cache_read_end(t);
	return rc == FS_ENOTFOUND ? 0 : rc;
}

static void
cli_sources(uint32_t mask, char *out, size_t len)
{
	const char *src[LINK_SRC_COUNT + 1];
	size_t i, n;

	n = commit_mask_sources(mask, src);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strncat(out, ", ", len - strlen(out) - 1);
		strncat(out, src[i], len - strlen(out) - 1);
	}
}

static int
cli_link_commit(struct cli *cl, struct cache *c, const char *project,
    const char *flag, const char *issue, int add)
{
	struct commit_result res;
	struct changeset cs;
	const struct config_project *p;
	int rc;

	changeset_init(&cs);
	cs.time = clock_now_ms();
	p = config_project_find(cl->cfg, project);
	rc = changeset_add_edit(&cs, project, flag, issue, add);
	if (rc == 0)
		rc = changeset_add_env(&cs, project, p->environment);
	if (rc == 0)
		rc = commit_apply(c, &cs, &res);
	changeset_release(&cs);
	if (rc != 0) {
		fprintf(stderr, "flagsync: cannot write the cache: %s\n",
		    fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	if (res.nevents)
		printf("%s %s %s %s (event %llu)\n", add ? "linked" : "unlinked",
		    flag, add ? "to" : "from", issue,
		    (unsigned long long)res.last_seq);
	return 0;
}

static int
cmd_link(struct cli *cl, int argc, char **argv)
{
	const char *project;
	struct keys keys;
	struct cache *c;
	char *pos[2], src[128];
	uint32_t mask;
	int rc, exists, status;

	if ((rc = cli_link_args(cl, "link", argc, argv, &project, pos,
	    &keys)) != 0)
		return rc;
	keys_release(&keys);
	if ((status = cli_open_cache(cl, 0, &c)) != 0)
		return status;
	if ((rc = cli_link_state(c, project, pos[0], pos[1], &exists,
	    &mask)) != 0) {
		fprintf(stderr, "flagsync link: %s\n", fs_strerror(rc));
		status = EXIT_RUNTIME;
	} else if (!exists) {
		fprintf(stderr, "flagsync link: no flag '%s' in project '%s' "
		    "(is the name right? has 'flagsync sync' run?)\n", pos[0],
		    project);
		status = EXIT_RUNTIME;
	} else if (mask & LINK_BIT(LINK_SRC_LOCAL)) {
		printf("%s is already linked to %s\n", pos[0], pos[1]);
	} else {
		if (mask) {
			cli_sources(mask, src, sizeof(src));
			printf("%s and %s are already linked by %s; adding "
			    "the local link too\n", pos[0], pos[1], src);
		}
		status = cli_link_commit(cl, c, project, pos[0], pos[1], 1);
	}
	cache_close(c);
	return status;
}

static int
cmd_unlink(struct cli *cl, int argc, char **argv)
{
	const char *project;
	struct keys keys;
	struct cache *c;
	char *pos[2], src[128];
	uint32_t mask, others;
	int rc, exists, status;

	if ((rc = cli_link_args(cl, "unlink", argc, argv, &project, pos,
	    &keys)) != 0)
		return rc;
	keys_release(&keys);
	if ((status = cli_open_cache(cl, 0, &c)) != 0)
		return status;
	if ((rc = cli_link_state(c, project, pos[0], pos[1], &exists,
	    &mask)) != 0) {
		fprintf(stderr, "flagsync unlink: %s\n", fs_strerror(rc));
		status = EXIT_RUNTIME;
		goto cache_close;
	}
	others = mask & ~LINK_BIT(LINK_SRC_LOCAL);
	cli_sources(others, src, sizeof(src));
	if (mask == 0) {
		fprintf(stderr, "flagsync unlink: %s is not linked to %s\n",
		    pos[0], pos[1]);
		status = EXIT_RUNTIME;
	} else if (!(mask & LINK_BIT(LINK_SRC_LOCAL))) {
		fprintf(stderr, "flagsync unlink: the link between %s and %s "
		    "is held by %s, not by 'flagsync link'; remove it there\n",
		    pos[0], pos[1], src);
		status = EXIT_RUNTIME;
	} else {
		status = cli_link_commit(cl, c, project, pos[0], pos[1], 0);
		if (status == 0 && others) {
			fprintf(stderr, "flagsync unlink: local link removed, "
			    "but %s and %s stay linked by %s\n", pos[0],
			    pos[1], src);
			status = EXIT_RUNTIME;
		}
	}
cache_close:
	cache_close(c);
	return status;
}

/* ------------------------------------------------------------ check-config */

/* Loads one output's module and lets it check its keys; what it is
 * ("VERSION, ABI M.N") goes to what. */
static int
cli_check_plugin(const struct config *cfg, const struct config_plugin *pc,
    char *what, size_t whatlen)
{
	struct loaded_plugin lp;
	struct flagsync_host host;
	char err[1024];
	int rc;

	err[0] = '\0';
	if ((rc = loader_open(pc->module, &lp, err, sizeof(err))) != 0) {
		fprintf(stderr, "flagsync: %s:%d: [plugin %s]: %s\n", cfg->path,
		    pc->line, pc->name, err);
		return rc;
	}
	snprintf(what, whatlen, "%s, ABI %u.%u", lp.desc->version ?
	    lp.desc->version : "no version", lp.desc->abi_major,
	    lp.desc->abi_minor);
	host_init(&host, cfg, pc, NULL);
	host_config_reset(&host);
	if (lp.desc->check_config &&
	    (rc = lp.desc->check_config(host_api(), &host, err,
	    sizeof(err))) != 0 && host_config_message(&host) != NULL)
		fprintf(stderr, "flagsync: %s\n", host_config_message(&host));
	else if (rc != 0)
		fprintf(stderr, "flagsync: %s:%d: [plugin %s]: %s\n", cfg->path,
		    pc->line, pc->name, err[0] ? err : "rejected by the plugin");
	host_release(&host);
	loader_close(&lp);
	return rc;
}

/* A duration in seconds as the configuration writes it: 14d, 12h, 90s. */
static void
cli_duration(int64_t secs, char *out, size_t len)
{
	if (secs % 86400 == 0)
		snprintf(out, len, "%lldd", (long long)(secs / 86400));
	else if (secs % 3600 == 0)
		snprintf(out, len, "%lldh", (long long)(secs / 3600));
	else if (secs % 60 == 0)
		snprintf(out, len, "%lldm", (long long)(secs / 60));
	else
		snprintf(out, len, "%llds", (long long)secs);
}

static int
cmd_check_config(struct cli *cl, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	const struct config *cfg = cl->cfg;
	char grace[32], stale[32];
	const char **names = NULL;
	struct linkset set;
	struct keys keys;
	char *pos[1], err[1024], url[1024], (*what)[64], dirmsg[1024];
	size_t npos, i, nlinks = 0;
	int rc;

	if ((rc = args_parse("check-config", argc, argv, opts, pos, 0,
	    &npos)) != 0)
		return rc;
	if (privdrop_check_state_dir(cfg->state_dir, dirmsg,
	    sizeof(dirmsg)) != 0) {
		fprintf(stderr, "flagsync: %s: [agent] state_dir: %s\n",
		    cfg->path, dirmsg);
		return EXIT_USAGE;
	}
	if (keys_init(&keys, cfg->issue_key_pattern, err, sizeof(err)) != 0) {
		fprintf(stderr, "flagsync: %s: [links] issue_key_pattern: %s\n",
		    cfg->path, err);
		return EXIT_USAGE;
	}
	if (cfg->links_file) {
		if ((names = calloc(cfg->nprojects + 1, sizeof(*names))) ==
		    NULL) {
			keys_release(&keys);
			return EXIT_RUNTIME;
		}
		for (i = 0; i < cfg->nprojects; i++)
			names[i] = cfg->projects[i].name;
		linkset_init(&set);
		rc = linksfile_load(cfg->links_file, names, cfg->nprojects,
		    &keys, &set, NULL, err, sizeof(err));
		nlinks = set.n;
		linkset_release(&set);
		free(names);
		if (rc != 0) {
			fprintf(stderr, "flagsync: %s\n", err);
			keys_release(&keys);
			return EXIT_USAGE;
		}
	}
	keys_release(&keys);
	if ((what = calloc(cfg->nplugins + 1, sizeof(*what))) == NULL)
		return EXIT_RUNTIME;
	for (i = 0; i < cfg->nplugins; i++)
		if (cli_check_plugin(cfg, &cfg->plugins[i], what[i],
		    sizeof(what[i])) != 0)
			rc = EXIT_USAGE;
	if (rc != 0) {
		free(what);
		return rc;
	}
	if (cl->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "config",
		    json_object_new_string(cfg->path));
		json_object_object_add(o, "state_dir",
		    json_object_new_string(cfg->state_dir));
		json_object_object_add(o, "state_dir_check",
		    json_object_new_string(dirmsg));
		json_object_object_add(o, "projects",
		    json_object_new_int64((int64_t)cfg->nprojects));
		json_object_object_add(o, "split_admin_key",
		    json_object_new_boolean(cfg->split_admin_key != NULL));
		json_object_object_add(o, "links_file_links",
		    json_object_new_int64((int64_t)nlinks));
		json_object_object_add(o, "jira_create",
		    json_object_new_boolean(cfg->jira_create));
		json_object_object_add(o, "create_traffic_type",
		    json_object_new_string(cfg->create_traffic_type));
		json_object_object_add(o, "plugins",
		    json_object_new_int64((int64_t)cfg->nplugins));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		free(what);
		return 0;
	}
	printf("configuration OK: %s\n", cfg->path);
	printf("  state_dir   %s: %s\n", cfg->state_dir, dirmsg);
	printf("  split       %s, at most %g requests/s\n",
	    scrub_copy(url, sizeof(url), cfg->split_api_url),
	    cfg->split_max_rps);
	printf("  admin key   %s\n", cfg->split_admin_key ?
	    cfg->split_key_origin : "not set: sync will refuse to run");
	for (i = 0; i < cfg->nprojects; i++)
		printf("  project     %s (primary environment %s)\n",
		    cfg->projects[i].name, cfg->projects[i].environment);
	if (cfg->links_file)
		printf("  links file  %s: %zu links\n", cfg->links_file, nlinks);
	if (cfg->jira_field)
		printf("  jira field  %s (jira_create %s, create_traffic_type "
		    "%s)\n", cfg->jira_field, cfg->jira_create ? "yes" : "no",
		    cfg->create_traffic_type);
	if (cfg->http_listen)
		printf("  http        %s (served by run)%s\n", cfg->http_listen,
		    cfg->http_token ? "; /v1/ needs the bearer token" : "");
	if (cfg->findings) {
		cli_duration(cfg->findings_done_grace, grace, sizeof(grace));
		cli_duration(cfg->findings_stale_after, stale, sizeof(stale));
		printf("  findings    done_grace %s, stale_after %s%s%s\n",
		    grace, stale, cfg->findings_ignore ? ", ignore " : "",
		    cfg->findings_ignore ? cfg->findings_ignore : "");
	}
	for (i = 0; i < cfg->nplugins; i++)
		printf("  output      %s (module %s %s, events %s)\n",
		    cfg->plugins[i].name, cfg->plugins[i].module, what[i],
		    cfg->plugins[i].events);
	free(what);
	return 0;
}

/* ------------------------------------------------------------ replay */

struct replay_op {
	const char *key;	/* the cursor, or the daemon's request slot */
	uint64_t seq;
};

static int
replay_txn(struct cache_txn *t, void *arg)
{
	struct replay_op *op = arg;

	return cache_cursor_put(t, op->key, op->seq);
}

/* The cursor that makes delivery resume at from (0: the oldest event). */
static int
replay_target(struct cache *c, const char *from, uint64_t *cursor)
{
	struct cache_txn *t;
	uint64_t first = 0, last = 0, seq;
	char *end;
	int rc;

	if ((rc = cache_read_begin(c, &t)) != 0)
		return rc;
	if ((rc = cache_event_first(t, &first)) == 0)
		rc = cache_event_last(t, &last);
	cache_read_end(t);
	if (rc != 0)
		return rc;
	seq = first ? first : last + 1;
	if (from) {
		seq = strtoull(from, &end, 10);
		if (*end != '\0' || from[0] == '-' || seq == 0) {
			fprintf(stderr, "flagsync replay: --from needs a "
			    "sequence number\n");
			return FS_ECONFIG;
		}
		if (first && seq < first) {
			fprintf(stderr, "flagsync replay: events before %llu "
			    "were pruned; replaying from %llu\n",
			    (unsigned long long)first,
			    (unsigned long long)first);
			seq = first;
		}
	}
	*cursor = seq - 1;
	return 0;
}

static int
cmd_replay(struct cli *cl, int argc, char **argv)
{
	const char *name = NULL, *from = NULL;
	int state = 0;
	const struct arg_opt opts[] = {
		{ "--plugin", 1, &name, NULL },
		{ "--from", 1, &from, NULL },
		{ "--state", 0, NULL, &state },
		{ NULL, 0, NULL, NULL },
	};
	struct replay_op op;
	struct cache *c;
	char *pos[1], key[256], err[1024];
	size_t npos, i;
	int rc, fd = -1, status;

	if ((rc = args_parse("replay", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	for (i = 0; name && i < cl->cfg->nplugins; i++)
		if (strcmp(cl->cfg->plugins[i].name, name) == 0)
			break;
	if (name == NULL || i == cl->cfg->nplugins) {
		fprintf(stderr, "flagsync replay: --plugin NAME must name a "
		    "[plugin NAME] section of %s\n", cl->cfg->path);
		return EXIT_USAGE;
	}
	if (state && from) {
		fprintf(stderr, "flagsync replay: --state and --from exclude "
		    "each other\n");
		return EXIT_USAGE;
	}
	if ((status = cli_open_cache(cl, 0, &c)) != 0)
		return status;
	if (state)
		op.seq = 1;	/* the request's presence is what counts */
	else if ((rc = replay_target(c, from, &op.seq)) != 0) {
		status = rc == FS_ECONFIG ? EXIT_USAGE : EXIT_RUNTIME;
		goto cache_close;
	}
	rc = lock_acquire(cl->cfg->state_dir, &fd, err, sizeof(err));
	/* a running daemon takes the rewind from its request slot */
	snprintf(key, sizeof(key), "%s%s", state ? "replay-state:" :
	    rc == FS_ELOCKED ? "replay:" : "", name);
	op.key = key;
	if ((rc != 0 && rc != FS_ELOCKED) ||
	    (rc = cache_write(c, replay_txn, &op)) != 0) {
		fprintf(stderr, "flagsync replay: %s\n", rc == 0 ? err :
		    fs_strerror(rc));
		status = EXIT_RUNTIME;
		goto lock_release;
	}
	if (state)
		printf("%s will get the current state as replayed events%s\n",
		    name, fd == -1 ? " from the running flagsync" : "");
	else
		printf("%s will get the events from seq %llu%s\n", name,
		    (unsigned long long)op.seq + 1, fd == -1 ?
		    " from the running flagsync" : "");
	if (fd != -1 && cli_deliver(cl, c, "replay") != 0)
		status = EXIT_RUNTIME;
lock_release:
	lock_release(fd);
cache_close:
	cache_close(c);
	return status;
}

/* ------------------------------------------------------------ deadletters */

struct dl_list {
	json_object *arr;
	const char *only;	/* NULL: every instance */
	uint64_t seq;		/* 0: every seq */
	bool	 retry;		/* --retry: mark; --drop: delete */
	struct dl_item *items;	/* --retry/--drop: what they act on */
	size_t	 n, cap;
};

/* "state-replay:NAME" letters belong to NAME, as state-replay items. */
static const char *
dl_owner(const char *instance, bool *replay)
{
	size_t plen = strlen(DELIVER_STATE_DEAD_PREFIX);

	*replay = strncmp(instance, DELIVER_STATE_DEAD_PREFIX, plen) == 0;
	return *replay ? instance + plen : instance;
}

static int
dl_list_cb(void *arg, const char *instance, uint64_t seq, const char *json,
    size_t len)
{
	struct dl_list *l = arg;
	json_object *d, *o, *v;
	const char *owner;
	bool replay;

	owner = dl_owner(instance, &replay);
	if (l->only && strcmp(owner, l->only) != 0)
		return 0;
	d = jsonw_parse(json, len);
	if ((o = json_object_new_object()) == NULL) {
		json_object_put(d);
		return ENOMEM;
	}
	jsonw_str(o, "instance", owner);
	jsonw_put(o, "seq", json_object_new_int64(replay ? 0 :
	    (int64_t)seq));
	if (replay)
		jsonw_put(o, "item", json_object_new_int64((int64_t)seq));
	jsonw_put(o, "replay", json_object_new_boolean(replay));
	jsonw_put(o, "time", d && json_object_object_get_ex(d, "time", &v) ?
	    json_object_get(v) : NULL);
	jsonw_put(o, "error", d && json_object_object_get_ex(d, "message",
	    &v) ? json_object_get(v) : NULL);
	jsonw_put(o, "retry", json_object_new_boolean(d &&
	    json_object_object_get_ex(d, "retry", &v) &&
	    json_object_get_boolean(v)));
	json_object_put(d);
	return json_object_array_add(l->arr, o) == 0 ? 0 : ENOMEM;
}

static void
dl_print(struct cli *cl, json_object *arr)
{
	struct table *tab;
	json_object *o;
	char seq[32];
	size_t i;

	if (cl->json) {
		printf("%s\n", json_object_to_json_string_ext(arr,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	if (json_object_array_length(arr) == 0) {
		printf("no dead letters\n");
		return;
	}
	if ((tab = table_new(5, "INSTANCE", "SEQ", "TIME", "RETRY",
	    "ERROR")) == NULL)
		return;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if (json_object_get_boolean(json_object_object_get(o,
		    "replay")))
			snprintf(seq, sizeof(seq), "replay item %lld",
			    (long long)json_object_get_int64(
			    json_object_object_get(o, "item")));
		else
			snprintf(seq, sizeof(seq), "%lld", (long long)
			    json_object_get_int64(json_object_object_get(o,
			    "seq")));
		table_add(tab, json_object_get_string(json_object_object_get(o,
		    "instance")), seq, json_object_get_string(
		    json_object_object_get(o, "time")),
		    json_object_get_boolean(json_object_object_get(o,
		    "retry")) ? "pending" : "", json_object_get_string(
		    json_object_object_get(o, "error")));
	}
	table_print(tab, stdout);
	table_free(tab);
}

/* One letter --retry or --drop acts on (copies: the walk's are not). */
struct dl_item {
	char	*instance;
	uint64_t seq;
	char	*json;
	size_t	 len;
};

static int
dl_collect_cb(void *arg, const char *instance, uint64_t seq,
    const char *json, size_t len)
{
	struct dl_list *l = arg;
	struct dl_item *it;

	if (l->seq != 0 && seq != l->seq)
		return 0;
	if (ARRAY_GROW(l->items, l->cap, l->n + 1) != 0)
		return ENOMEM;
	it = &l->items[l->n];
	if ((it->instance = strdup(instance)) == NULL)
		return ENOMEM;
	if ((it->json = strndup(json, len)) == NULL) {
		free(it->instance);
		return ENOMEM;
	}
	it->seq = seq;
	it->len = len;
	l->n++;
	return 0;
}

static void
dl_items_free(struct dl_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->items[i].instance);
		free(l->items[i].json);
	}
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

/* --retry marks a letter "retry": true (the instance delivers it again);
 * --drop deletes it. */
static int
dl_act_one(struct cache_txn *t, const struct dl_item *it, bool retry)
{
	json_object *d;
	const char *js;
	int rc;

	if (!retry)
		return cache_dead_del(t, it->instance, it->seq);
	if ((d = jsonw_parse(it->json, it->len)) == NULL)
		return FS_EDAMAGED;
	if (json_object_object_add(d, "retry",
	    json_object_new_boolean(1)) != 0 ||
	    (js = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL) {
		json_object_put(d);
		return ENOMEM;
	}
	rc = cache_dead_put(t, it->instance, it->seq, js, strlen(js));
	json_object_put(d);
	return rc;
}

static int
dl_act_txn(struct cache_txn *t, void *arg)
{
	struct dl_list *l = arg;
	size_t i;
	int rc;

	/* collect first, then change: no write under a running walk */
	dl_items_free(l);
	if ((rc = cache_dead_foreach(t, l->only, dl_collect_cb, l)) != 0)
		return rc;
	for (i = 0; i < l->n; i++)
		if ((rc = dl_act_one(t, &l->items[i], l->retry)) != 0)
			return rc;
	return 0;
}

static int
dl_list(struct cli *cl, struct cache *c, const char *name)
{
	struct dl_list l;
	struct cache_txn *t;
	int rc;

	memset(&l, 0, sizeof(l));
	l.only = name;
	if ((l.arr = json_object_new_array()) == NULL)
		return EXIT_RUNTIME;
	if ((rc = cache_read_begin(c, &t)) == 0) {
		rc = cache_dead_foreach(t, NULL, dl_list_cb, &l);
		cache_read_end(t);
	}
	if (rc == 0)
		dl_print(cl, l.arr);
	else
		fprintf(stderr, "flagsync deadletters: %s\n", fs_strerror(rc));
	json_object_put(l.arr);
	return rc == 0 ? 0 : EXIT_RUNTIME;
}

/* --retry or --drop on NAME's letters (SEQ, or all). */
static int
dl_act(struct cli *cl, struct cache *c, const char *name, const char *seqs,
    bool retry)
{
	struct dl_list l;
	char *end, err[1024];
	int rc, fd = -1, status = 0;

	memset(&l, 0, sizeof(l));
	l.only = name;
	l.retry = retry;
	if (seqs != NULL) {
		errno = 0;
		l.seq = strtoull(seqs, &end, 10);
		if (errno || *end != '\0' || seqs[0] == '-' || l.seq == 0) {
			fprintf(stderr, "flagsync deadletters: SEQ must be a "
			    "sequence number, not '%s'\n", seqs);
			return EXIT_USAGE;
		}
	}
	if ((rc = cache_write(c, dl_act_txn, &l)) != 0) {
		fprintf(stderr, "flagsync deadletters: %s\n", fs_strerror(rc));
		dl_items_free(&l);
		return EXIT_RUNTIME;
	}
	if (l.n == 0) {
		fprintf(stderr, "flagsync deadletters: %s has no dead letter%s"
		    "%s\n", name, seqs ? " for seq " : "s", seqs ? seqs : "");
		return EXIT_RUNTIME;
	}
	printf("%s: %zu dead letter%s %s\n", name, l.n, l.n == 1 ? "" : "s",
	    retry ? "to deliver again" : "dropped");
	dl_items_free(&l);
	if (!retry)
		return 0;
	/* a running daemon delivers them; otherwise deliver now, as sync */
	rc = lock_acquire(cl->cfg->state_dir, &fd, err, sizeof(err));
	if (rc == FS_ELOCKED) {
		printf("the running flagsync delivers them\n");
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "flagsync deadletters: %s\n", err);
		return EXIT_RUNTIME;
	}
	if (cli_deliver(cl, c, "deadletters") != 0)
		status = EXIT_RUNTIME;
	lock_release(fd);
	return status;
}

static int
cmd_deadletters(struct cli *cl, int argc, char **argv)
{
	const char *name = NULL;
	int retry = 0, drop = 0;
	const struct arg_opt opts[] = {
		{ "--plugin", 1, &name, NULL },
		{ "--retry", 0, NULL, &retry },
		{ "--drop", 0, NULL, &drop },
		{ NULL, 0, NULL, NULL },
	};
	struct cache *c;
	char *pos[1];
	size_t npos, i;
	int rc, status;

	if ((rc = args_parse("deadletters", argc, argv, opts, pos, 1,
	    &npos)) != 0)
		return rc;
	for (i = 0; name && i < cl->cfg->nplugins; i++)
		if (strcmp(cl->cfg->plugins[i].name, name) == 0)
			break;
	if (name != NULL && i == cl->cfg->nplugins) {
		fprintf(stderr, "flagsync deadletters: --plugin NAME must name "
		    "a [plugin NAME] section of %s\n", cl->cfg->path);
		return EXIT_USAGE;
	}
	if ((retry || drop) && (name == NULL || (retry && drop))) {
		fprintf(stderr, "flagsync deadletters: --retry or --drop needs "
		    "--plugin NAME (and not both)\n");
		return EXIT_USAGE;
	}
	if (npos && !(retry || drop)) {
		fprintf(stderr, "flagsync deadletters: SEQ goes with --retry "
		    "or --drop\n");
		return EXIT_USAGE;
	}
	if ((status = cli_open_cache(cl, retry || drop ? 0 : CACHE_RDONLY,
	    &c)) != 0)
		return status;
	if (retry || drop)
		status = dl_act(cl, c, name, npos ? pos[0] : NULL, retry);
	else
		status = dl_list(cl, c, name);
	cache_close(c);
	return status;
}

/* ------------------------------------------------------------ links */

static int
links_export(struct cli *cl, const char *path)
{
	struct cache *c;
	FILE *out = stdout;
	size_t n;
	int rc, status;

	if ((status = cli_open_cache(cl, CACHE_RDONLY, &c)) != 0)
		return status;
	(void)cache_guard(c);
	if (path && (out = fopen(path, "we")) == NULL) {
		fprintf(stderr, "flagsync links export: %s: %s\n", path,
		    strerror(errno));
		cache_close(c);
		return EXIT_RUNTIME;
	}
	rc = recover_links_export(c, out, &n);
	if (out != stdout && fclose(out) != 0 && rc == 0)
		rc = errno;
	cache_close(c);
	if (rc != 0) {
		fprintf(stderr, "flagsync links export: %s%s%s\n",
		    path ? path : "", path ? ": " : "", fs_strerror(rc));
		return EXIT_RUNTIME;
	}
	if (path)
		printf("%zu local link%s written to %s\n", n, n == 1 ? "" : "s",
		    path);
	return 0;
}

static int
links_import(struct cli *cl, const char *path)
{
	struct recover_import r;
	struct cache *c;
	FILE *in = stdin;
	int rc, status;

	if (strcmp(path, "-") != 0 && (in = fopen(path, "re")) == NULL) {
		fprintf(stderr, "flagsync links import: %s: %s\n", path,
		    strerror(errno));
		return EXIT_RUNTIME;
	}
	if ((status = cli_open_cache(cl, 0, &c)) == 0) {
		rc = recover_links_import(c, cl->cfg, path, in, &r);
		cache_close(c);
		if (rc != 0)
			status = EXIT_RUNTIME;
		else {
			printf("%zu local link%s added, %zu already there, %zu "
			    "skipped\n", r.added, r.added == 1 ? "" : "s",
			    r.present, r.skipped);
			status = r.skipped ? EXIT_RUNTIME : 0;
		}
	}
	if (in != stdin)
		fclose(in);
	return status;
}

static int
cmd_links(struct cli *cl, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	char *pos[3];
	size_t npos;
	int rc;

	if ((rc = args_parse("links", argc, argv, opts, pos, 3, &npos)) != 0)
		return rc;
	if (npos >= 1 && npos <= 2 && strcmp(pos[0], "export") == 0)
		return links_export(cl, npos == 2 ? pos[1] : NULL);
	if (npos == 2 && strcmp(pos[0], "import") == 0)
		return links_import(cl, pos[1]);
	fprintf(stderr, "usage: flagsync links export [FILE] | "
	    "flagsync links import FILE\n");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------ rebuild */

static int
cmd_rebuild(struct cli *cl, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	struct recover_report r;
	char *pos[1];
	size_t npos;
	int rc;

	if ((rc = args_parse("rebuild", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (cl->cfg->split_admin_key == NULL) {
		fprintf(stderr, "flagsync rebuild: no Split Admin API key: a "
		    "rebuild syncs from Split; set [split] admin_key_file in "
		    "%s\n", cl->cfg->path);
		return EXIT_USAGE;
	}
	cli_catch_signals();
	rc = recover_rebuild(cl->cfg, &cli_stop, &r);
	if (r.aside[0] == '\0')
		return EXIT_RUNTIME;	/* nothing moved: said why */
	printf("rebuild: the old cache is kept in %s\n", r.aside);
	if (r.salvaged)
		printf("rebuild: saved from it: %zu local links "
		    "(local-links.jsonl), %zu events (events.jsonl)\n",
		    r.local_links, r.events);
	else
		printf("rebuild: it could not be read whole (see above); "
		    "whatever it gave is in local-links.jsonl and events.jsonl "
		    "there; a file from 'flagsync links export' can be "
		    "imported with 'flagsync links import FILE'\n");
	if (r.sync_rc != 0) {
		fprintf(stderr, "flagsync rebuild: the new sync did not "
		    "complete (see above); run 'flagsync sync', then 'flagsync "
		    "links import %s/local-links.jsonl'\n", r.aside);
		return EXIT_RUNTIME;
	}
	printf("rebuild: new cache synced; %zu local links restored, %zu "
	    "already there, %zu skipped\n", r.import.added, r.import.present,
	    r.import.skipped);
	/* without the salvage the local links may be gone: make it show */
	return rc == 0 && r.salvaged && r.import.skipped == 0 ? 0 :
	    EXIT_RUNTIME;
}

/* ------------------------------------------------------------ run */

static int
cmd_run(struct cli *cl, int argc, char **argv)
{
	static const struct arg_opt opts[] = { { NULL, 0, NULL, NULL } };
	char *pos[1];
	size_t npos;
	int rc;

	if ((rc = args_parse("run", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	rc = daemon_run(cl->config_path, cl->cfg,
	    cl->verbose ? LOG_DEBUG : cl->quiet ? LOG_ERR : -1);
	cl->cfg = NULL;		/* the daemon owned it */
	return rc;
}

/* ------------------------------------------------------------ dispatch */

static int
cli_query(struct cli *cl, int (*fn)(struct query *, int, char **),
    int argc, char **argv)
{
	struct query q;
	int status;

	q.cfg = cl->cfg;
	q.json = cl->json;
	q.out = stdout;
	q.stop = &cli_stop;
	q.c = NULL;
	/* status works before the first sync: every source "never polled" */
	if (fn == query_status && cli_no_cache(cl))
		;
	else if ((status = cli_open_cache(cl, CACHE_RDONLY, &q.c)) != 0)
		return status;
	/* a damaged page then ends in a message, not a signal */
	if (q.c)
		(void)cache_guard(q.c);
	if (fn == query_events)
		cli_catch_signals();
	status = fn(&q, argc, argv);
	if (q.c)
		cache_close(q.c);
	return status;
}

static const struct {
	const char *name;
	int (*run)(struct cli *, int, char **);
	int (*query)(struct query *, int, char **);
} cli_commands[] = {
	{ "run", cmd_run, NULL },
	{ "sync", cmd_sync, NULL },
	{ "replay", cmd_replay, NULL },
	{ "deadletters", cmd_deadletters, NULL },
	{ "plugins", NULL, query_plugins },
	{ "link", cmd_link, NULL },
	{ "unlink", cmd_unlink, NULL },
	{ "check-config", cmd_check_config, NULL },
	{ "flags", NULL, query_flags },
	{ "flag", NULL, query_flag },
	{ "issue", NULL, query_issue },
	{ "events", NULL, query_events },
	{ "status", NULL, query_status },
	{ "export", NULL, query_export },
	{ "findings", NULL, query_findings },
	{ "links", cmd_links, NULL },
	{ "rebuild", cmd_rebuild, NULL },
};

/*
 * The commands that may create files in state_dir (the cache, the lock,
 * polls.json, a damaged-* copy) or start outputs: run as root against a
 * state_dir another user owns, they become that user first (privdrop.h).
 * `links` is not one: it creates nothing there, and its FILE argument is
 * root's to read or write.
 */
static int
cli_as_owner(const char *cmd)
{
	static const char *const writers[] = { "sync", "run", "link",
	    "unlink", "replay", "deadletters", "rebuild" };
	size_t i;

	for (i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
		if (strcmp(cmd, writers[i]) == 0)
			return 1;
	return 0;
}

/* Takes the global options out of argv, wherever they stand. */
static int
cli_globals(struct cli *cl, int argc, char **argv, char **rest, int *nrest,
    int *help, int *version)
{
	int i;

	*nrest = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			while (i < argc)
				rest[(*nrest)++] = argv[i++];
			break;
		}
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "flagsync: %s needs a file\n",
				    a);
				return EXIT_USAGE;
			}
			cl->config_path = argv[++i];
		} else if (strncmp(a, "--config=", 9) == 0)
			cl->config_path = a + 9;
		else if (strcmp(a, "--json") == 0)
			cl->json = 1;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			cl->verbose = 1;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			cl->quiet = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			*help = 1;
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
			*version = 1;
		else
			rest[(*nrest)++] = argv[i];
	}
	return 0;
}

int
cli_main(int argc, char **argv)
{
	struct cli cl;
	char **rest, err[2048];
	int nrest, help = 0, version = 0, status;
	size_t i;

	memset(&cl, 0, sizeof(cl));
	log_init("flagsync", LOG_INFO);
	if ((rest = calloc((size_t)argc + 1, sizeof(*rest))) == NULL)
		return EXIT_RUNTIME;
	if ((status = cli_globals(&cl, argc, argv, rest, &nrest, &help,
	    &version)) != 0)
		goto rest_free;
	if (help || version) {
		if (version)
			printf("flagsync %s\n", PACKAGE_VERSION);
		else
			cli_usage(stdout);
		goto rest_free;
	}
	if (nrest == 0) {
		cli_usage(stderr);
		status = EXIT_USAGE;
		goto rest_free;
	}
	for (i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
		if (strcmp(rest[0], cli_commands[i].name) == 0)
			break;
	if (i == sizeof(cli_commands) / sizeof(cli_commands[0])) {
		fprintf(stderr, "flagsync: unknown command '%s' (see flagsync "
		    "--help)\n", rest[0]);
		status = EXIT_USAGE;
		goto rest_free;
	}
	if (cl.config_path == NULL)
		cl.config_path = getenv("FLAGSYNC_CONFIG");
	if (cl.config_path == NULL)
		cl.config_path = CONFIG_DEFAULT_PATH;
	/* a query never reads a secret: an unreadable key cannot stop it */
	if (config_load_flags(cl.config_path, cli_commands[i].query ?
	    CONFIG_NO_SECRETS : 0, &cl.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "flagsync: %s\n", err);
		status = EXIT_USAGE;
		goto rest_free;
	}
	log_set_level(cl.verbose ? LOG_DEBUG : cl.quiet ? LOG_ERR :
	    cl.cfg->log_level);
	/* after the secrets were read (as root), before the cache opens */
	if (cli_as_owner(rest[0]) && privdrop_to_owner(cl.cfg->state_dir,
	    strcmp(cl.config_path, CONFIG_DEFAULT_PATH) == 0 ? NULL :
	    cl.config_path, rest[0], err, sizeof(err)) != 0) {
		fprintf(stderr, "flagsync %s: %s\n", rest[0], err);
		status = EXIT_RUNTIME;
	} else if (cli_commands[i].run)
		status = cli_commands[i].run(&cl, nrest - 1, rest + 1);
	else
		status = cli_query(&cl, cli_commands[i].query, nrest - 1,
		    rest + 1);
	config_free(cl.cfg);
rest_free:
	free(rest);
	return status;
}
