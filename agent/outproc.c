/* outproc.c - the process of one output plugin instance (outproc.h). */
#include "autoconf.h"

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cli.h"
#include "config.h"
#include "deliver.h"
#include "error.h"
#include "log.h"
#include "outproc.h"
#include "supervise.h"

/* A number from argv; -1 when it is not one. */
static long long
outproc_num(const char *s, int base)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	return v;
}

/*
 * The supervisor stops us by closing the wake pipe, so the signals a
 * terminal or systemd sends to the whole group are left to it: an
 * instance inside deliver() finishes the call instead of dying in it.
 */
static void
outproc_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
outproc_forget(char **secret)
{
	if (*secret == NULL)
		return;
	explicit_bzero(*secret, strlen(*secret));
	free(*secret);
	*secret = NULL;
}

/*
 * Secrets this instance is not granted leave its memory now (host.c
 * would not hand them out either; here a plugin that reads memory it
 * should not finds nothing).
 */
static void
outproc_drop_secrets(struct config *cfg, const struct config_plugin *pcfg)
{
	unsigned grants = pcfg->credentials;

	if (strcmp(pcfg->module, "jira") == 0)
		grants |= CONFIG_CRED_JIRA;
	if (strcmp(pcfg->module, "split") == 0)
		grants |= CONFIG_CRED_SPLIT;
	if (!(grants & CONFIG_CRED_SPLIT))
		outproc_forget(&cfg->split_admin_key);
	if (!(grants & CONFIG_CRED_JIRA))
		outproc_forget(&cfg->jira_api_token);
}

static const struct config_plugin *
outproc_section(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nplugins; i++)
		if (strcmp(cfg->plugins[i].name, name) == 0)
			return &cfg->plugins[i];
	return NULL;
}

/* Runs the instance; the process's exit status. */
static int
outproc_run(struct config *cfg, const char *name, uint64_t digest,
    int wake_fd, struct outproc_board *b)
{
	const struct config_plugin *pcfg;
	struct instance *in;
	struct cache *c;
	char err[1024];
	int rc, status = 0;

	if ((pcfg = outproc_section(cfg, name)) == NULL ||
	    supervise_digest(cfg, pcfg) != digest) {
		log_warnx("plugin %s: %s changed since flagsync read it; "
		    "not starting on settings it did not load (send SIGHUP "
		    "to reload)", name, cfg->path);
		return OUTPROC_EXIT_CONFIG;
	}
	outproc_drop_secrets(cfg, pcfg);
	if ((rc = cache_open(&c, cfg->state_dir, 0, err, sizeof(err))) != 0) {
		log_warnx("plugin %s: %s", name, err[0] ? err :
		    fs_strerror(rc));
		return EXIT_FAILURE;
	}
	if ((rc = deliver_open(&in, c, cfg, pcfg, b, wake_fd)) != 0)
		status = rc == FS_ECONFIG ? OUTPROC_EXIT_REFUSED : EXIT_FAILURE;
	else {
		deliver_run(in);
		deliver_close(in);
	}
	cache_close(c);
	return status;
}

int
outproc_main(int argc, char **argv)
{
	struct outproc_board *b;
	struct config *cfg;
	long long wake_fd, board_fd, level, digest;
	char err[2048];
	int status;

	log_init("flagsync", LOG_INFO);
	if (argc != 7 || (wake_fd = outproc_num(argv[4], 10)) < 0 ||
	    (board_fd = outproc_num(argv[5], 10)) < 0 ||
	    (level = outproc_num(argv[6], 10)) < 0) {
		fprintf(stderr, "flagsync: %s is started by flagsync itself\n",
		    OUTPROC_COMMAND);
		return EXIT_USAGE;
	}
	errno = 0;
	digest = (long long)strtoull(argv[3], NULL, 16);
	log_set_level((int)level);
	outproc_signals();
	if (fcntl((int)wake_fd, F_SETFL, O_NONBLOCK) == -1) {
		log_warn("plugin %s: its wake pipe", argv[2]);
		return EXIT_FAILURE;
	}
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED,
	    (int)board_fd, 0);
	if (b == MAP_FAILED) {
		log_warn("plugin %s: its scoreboard", argv[2]);
		return EXIT_FAILURE;
	}
	close((int)board_fd);
	if (config_load(argv[1], &cfg, err, sizeof(err)) != 0) {
		log_warnx("plugin %s: %s", argv[2], err);
		munmap(b, sizeof(*b));
		return OUTPROC_EXIT_CONFIG;
	}
	status = outproc_run(cfg, argv[2], (uint64_t)digest, (int)wake_fd, b);
	config_free(cfg);
	munmap(b, sizeof(*b));
	return status;
}
