/*
 * fuzz_jira_field.c - the Jira field reader: jira_field_names() of any
 * JSON value a field can hold (string, labels, options, rich text
 * documents of any depth), and jira_field_jql() of any field name and
 * JQL (the input up to its first NUL is the field, the rest the JQL).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "jira.h"

#include "fuzz_common.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static int
fuzz_name_cb(void *arg, const char *name, int bad)
{
	size_t *n = arg;

	if (name == NULL || (!bad && name[0] == '\0'))
		fuzz_fail("jira_field_names gave an empty name");
	*n += strlen(name);
	return 0;
}

/* The value as jira.c parses an answer: strict JSON, whole input. */
static void
fuzz_names(const uint8_t *data, size_t size)
{
	struct json_tokener *tok;
	json_object *o;
	size_t n = 0;
	int rc;

	if (size > INT_MAX || (tok = json_tokener_new()) == NULL)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (o == NULL)
		return;
	rc = jira_field_names(o, fuzz_name_cb, &n);
	if (rc != 0 && rc != ENOMEM)
		fuzz_fail("jira_field_names failed without a reason");
	json_object_put(o);
}

static void
fuzz_jql(const uint8_t *data, size_t size)
{
	char *field, *jql;
	struct buf b;
	size_t flen;
	int rc;

	flen = strnlen((const char *)data, size);
	if ((field = strndup((const char *)data, flen)) == NULL)
		return;
	jql = NULL;
	if (flen < size && (jql = strndup((const char *)data + flen + 1,
	    size - flen - 1)) == NULL)
		goto field_free;
	buf_init(&b, 0);
	rc = jira_field_jql(field, jql, &b);
	if (rc == 0 && strstr(buf_str(&b), "ORDER BY key ASC") == NULL)
		fuzz_fail("the field JQL is not ordered");
	buf_release(&b);
	free(jql);
field_free:
	free(field);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_names(data, size);
	fuzz_jql(data, size);
	return 0;
}
