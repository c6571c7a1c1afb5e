/*
 * fuzz_linksfile.c - links.yaml: linksfile_load() of any file must add
 * links or refuse with one error line and add nothing (linksfile.h),
 * with one project configured (project may be omitted) and with two.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "linkset.h"
#include "linksfile.h"
#include "skipped.h"

#include "fuzz_common.h"
#include "fuzz_memfile.h"

static struct keys fuzz_keys;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (keys_init(&fuzz_keys, KEYS_DEFAULT_PATTERN, err, sizeof(err)) != 0)
		fuzz_fail("keys_init failed");
	return 0;
}

static void
fuzz_load(const char *path, const char *const *projects, size_t nprojects)
{
	struct linkset s;
	struct skipped sk;
	char err[1024];
	size_t i, j;
	int rc;

	linkset_init(&s);
	skipped_init(&sk);
	memset(err, 'x', sizeof(err));
	rc = linksfile_load(path, projects, nprojects, &fuzz_keys, &s, &sk,
	    err, sizeof(err));
	if (sk.list != NULL && json_object_to_json_string(sk.list) == NULL)
		fuzz_fail("the skipped items do not make JSON");
	skipped_release(&sk);
	if (rc != 0) {
		if (s.n != 0)
			fuzz_fail("links added although the file was refused");
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			fuzz_fail("refused without an error line");
		if (strchr(err, '\n') != NULL)
			fuzz_fail("the error is not one line");
	}
	/* What was added is what the contract allows. */
	for (i = 0; i < s.n; i++) {
		for (j = 0; j < nprojects; j++)
			if (strcmp(s.v[i].project, projects[j]) == 0)
				break;
		if (j == nprojects)
			fuzz_fail("a link to a project not configured");
		if (!keys_is_key(&fuzz_keys, s.v[i].issue))
			fuzz_fail("a link to an issue that is not a key");
		if (s.v[i].flag[0] == '\0')
			fuzz_fail("a link with an empty flag name");
	}
	linkset_release(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const one[] = { "Default" };
	static const char *const two[] = { "Default", "Mobile" };
	const char *path;

	path = fuzz_memfile_put(data, size);
	fuzz_load(path, one, 1);
	fuzz_load(path, two, 2);
	return 0;
}
