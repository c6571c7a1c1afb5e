/* args.c - command arguments. */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "args.h"

static const struct arg_opt *
args_find(const struct arg_opt *opts, const char *arg, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len &&
		    strncmp(opts->name, arg, len) == 0)
			return opts;
	return NULL;
}

int
args_parse(const char *cmd, int argc, char **argv,
    const struct arg_opt *opts, char **pos, size_t maxpos, size_t *npos)
{
	const struct arg_opt *o;
	const char *eq;
	int i, dashdash = 0;
	size_t len;

	*npos = 0;
	for (i = 0; i < argc; i++) {
		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0') {
			if (*npos == maxpos) {
				fprintf(stderr, "flagsync %s: unexpected "
				    "argument '%s'\n", cmd, argv[i]);
				return 2;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		eq = strchr(argv[i], '=');
		len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		if ((o = args_find(opts, argv[i], len)) == NULL) {
			fprintf(stderr, "flagsync %s: unknown option '%.*s' "
			    "(see flagsync --help)\n", cmd, (int)len, argv[i]);
			return 2;
		}
		if (o->seen)
			*o->seen = 1;
		if (!o->takes_value) {
			if (eq) {
				fprintf(stderr, "flagsync %s: option %s takes "
				    "no value\n", cmd, o->name);
				return 2;
			}
			continue;
		}
		if (eq)
			*o->value = eq + 1;
		else if (i + 1 < argc)
			*o->value = argv[++i];
		else {
			fprintf(stderr, "flagsync %s: option %s needs a "
			    "value\n", cmd, o->name);
			return 2;
		}
	}
	return 0;
}
