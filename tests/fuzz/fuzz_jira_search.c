/*
 * fuzz_jira_search.c - the Jira search answer
 * (POST /rest/api/3/search/jql): jira_search() pages through fuzzed
 * answers (fake_http.h) with its real status, retry and paging code, and
 * each issue's field goes through jira_field_names() as the jira-field
 * link source does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jira.h"

#include "fake_http.h"
#include "fuzz_common.h"

#define FUZZ_FIELD	"customfield_10050"

static struct jira_client *fuzz_jc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct jira_options o;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	memset(&o, 0, sizeof(o));
	o.url = "http://jira.invalid/";
	o.email = "fuzz@example.com";
	o.api_token = "fuzz-api-token";
	o.timeout = 1;
	o.backoff_base_ms = 1;
	if (jira_client_create(&fuzz_jc, &o) != 0)
		fuzz_fail("jira_client_create failed");
	return 0;
}

static int
fuzz_name_cb(void *arg, const char *name, int bad)
{
	(void)arg;
	if (name == NULL || (!bad && name[0] == '\0'))
		fuzz_fail("jira_field_names gave an empty name");
	(void)strlen(name);
	return 0;
}

static int
fuzz_issue_cb(void *arg, const char *key, json_object *fields)
{
	json_object *value = NULL;

	(void)arg;
	if (key == NULL)
		fuzz_fail("an issue without a key got through");
	(void)strlen(key);
	if (fields != NULL)
		json_object_object_get_ex(fields, FUZZ_FIELD, &value);
	return jira_field_names(value, fuzz_name_cb, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fields[] = { FUZZ_FIELD, "labels" };
	char err[1024];

	fake_http_set(data, size);
	memset(err, 'x', sizeof(err));
	(void)jira_search(fuzz_jc, "cf[10050] is not EMPTY ORDER BY key ASC",
	    fields, 2, fuzz_issue_cb, NULL, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fuzz_fail("error message not terminated");
	if (strstr(err, "fuzz-api-token") != NULL)
		fuzz_fail("the API token in an error message");
	return 0;
}
