/* source.c - the standalone link sources. */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>

#include "linksfile.h"
#include "source.h"

static bool
file_enabled(const struct config *cfg)
{
	return cfg->links_file != NULL;
}

static int
file_gather(const struct source_env *env, struct linkset *out, char *err,
    size_t errlen)
{
	const struct config *cfg = env->cfg;
	const char **names;
	size_t i;
	int rc;

	if ((names = calloc(cfg->nprojects + 1, sizeof(*names))) == NULL)
		return ENOMEM;
	for (i = 0; i < cfg->nprojects; i++)
		names[i] = cfg->projects[i].name;
	rc = linksfile_load(cfg->links_file, names, cfg->nprojects, env->keys,
	    out, err, errlen);
	free(names);
	return rc;
}

static const struct source source_file = {
	.id = LINK_SRC_FILE,
	.status_name = "file",
	.scope = NULL,
	.enabled = file_enabled,
	.gather = file_gather,
};

const struct source *const sources[] = {
	&source_file,
	NULL,
};
