/*
 * fuzz_config.c - the INI loader: config_load() of any flagsync.ini must
 * give a config or one terminated error line, never a fault or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "scrub.h"

#include "fuzz_common.h"
#include "fuzz_memfile.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	/* Secrets come from the input only, never from this environment. */
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("FLAGSYNC_SPLIT_ADMIN_KEY");
	unsetenv("FLAGSYNC_JIRA_API_TOKEN");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	const char *path;
	char err[1024];
	size_t i;
	int rc;

	path = fuzz_memfile_put(data, size);
	memset(err, 'x', sizeof(err));
	rc = config_load(path, &cfg, err, sizeof(err));
	/* Each input registers its own secrets: forget them, or the
	 * registry grows with every run and every scrub gets slower. */
	scrub_forget();
	if (rc != 0) {
		if (cfg != NULL)
			fuzz_fail("config_load failed but gave a config");
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			fuzz_fail("config_load failed without an error line");
		if (strchr(err, '\n') != NULL)
			fuzz_fail("config_load error is not one line");
		return 0;
	}
	if (cfg == NULL)
		fuzz_fail("config_load succeeded without a config");
	for (i = 0; i < cfg->nprojects; i++)
		if (config_project_find(cfg, cfg->projects[i].name) == NULL)
			fuzz_fail("a loaded project is not found by name");
	config_free(cfg);
	return 0;
}
