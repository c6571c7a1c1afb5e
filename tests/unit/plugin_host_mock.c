/* plugin_host_mock.c - an in-memory flagsync host for plugin unit tests. */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flagsync/plugin.h>

#include "plugin_host_mock.h"

/* The limits plugin.h promises for the key/value store. */
#define MOCK_KV_KEY_MAX		256
#define MOCK_KV_VALUE_MAX	(1024 * 1024)

#define MOCK_NONE		SIZE_MAX

struct mock_pair {
	char	*key;
	char	*value;		/* NUL-terminated even when binary */
	size_t	 len;
};

struct mock_list {
	struct mock_pair *v;
	size_t	 n;
	size_t	 cap;
};

struct mock_line {
	int	 level;
	char	*text;
};

struct flagsync_host {
	char		*name;
	struct mock_list config;
	struct mock_list kv;
	struct mock_list views;		/* key: "PROJECT\nFLAG" */
	struct mock_list issues;
	struct mock_list agent;		/* key: "SECTION\nKEY" */
	struct mock_line *lines;
	size_t		 nlines;
	size_t		 linecap;
	size_t		 last_error;	/* index in lines, or MOCK_NONE */
	int		 kv_err;
	size_t		 outstanding;
};

static char *
mock_memdup(const void *p, size_t len)
{
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static size_t
mock_list_find(const struct mock_list *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return i;
	return MOCK_NONE;
}

static void
mock_list_remove(struct mock_list *l, size_t i)
{
	free(l->v[i].key);
	free(l->v[i].value);
	l->v[i] = l->v[--l->n];
}

/* Appends key = value (both copied).  Returns 0 or ENOMEM. */
static int
mock_list_add(struct mock_list *l, const char *key, const void *value,
    size_t len)
{
	struct mock_pair *v, p;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			return ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if ((p.key = strdup(key)) == NULL)
		return ENOMEM;
	if ((p.value = mock_memdup(value, len)) == NULL) {
		free(p.key);
		return ENOMEM;
	}
	p.len = len;
	l->v[l->n++] = p;
	return 0;
}

/* Replaces key's value, or removes it when value is NULL. */
static int
mock_list_set(struct mock_list *l, const char *key, const void *value,
    size_t len)
{
	size_t i;
	char *copy;

	i = mock_list_find(l, key);
	if (value == NULL) {
		if (i != MOCK_NONE)
			mock_list_remove(l, i);
		return 0;
	}
	if (i == MOCK_NONE)
		return mock_list_add(l, key, value, len);
	if ((copy = mock_memdup(value, len)) == NULL)
		return ENOMEM;
	free(l->v[i].value);
	l->v[i].value = copy;
	l->v[i].len = len;
	return 0;
}

static void
mock_list_release(struct mock_list *l)
{
	while (l->n > 0)
		mock_list_remove(l, l->n - 1);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Hands out a host-allocated copy, counted until release(). */
static int
mock_hand_out(struct flagsync_host *h, const struct mock_pair *p,
    char **out)
{
	if ((*out = mock_memdup(p->value, p->len)) == NULL)
		return ENOMEM;
	h->outstanding++;
	return 0;
}

/* ---------------------------------------------------------- the API */

static const char *
mock_config_get(struct flagsync_host *h, const char *key)
{
	size_t i;

	if ((i = mock_list_find(&h->config, key)) == MOCK_NONE)
		return NULL;
	return h->config.v[i].value;
}

static const char *
mock_config_key(struct flagsync_host *h, size_t i, const char **value)
{
	if (i >= h->config.n)
		return NULL;
	if (value != NULL)
		*value = h->config.v[i].value;
	return h->config.v[i].key;
}

static const char *
mock_instance_name(struct flagsync_host *h)
{
	return h->name;
}

static void mock_log(struct flagsync_host *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* A line that cannot be stored is dropped: the test then misses it. */
static void
mock_log(struct flagsync_host *h, int level, const char *fmt, ...)
{
	struct mock_line *lines;
	va_list ap;
	char *text;
	size_t cap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (h->nlines == h->linecap) {
		cap = h->linecap ? h->linecap * 2 : 16;
		if ((lines = reallocarray(h->lines, cap, sizeof(*lines))) ==
		    NULL) {
			free(text);
			return;
		}
		h->lines = lines;
		h->linecap = cap;
	}
	h->lines[h->nlines].level = level;
	h->lines[h->nlines].text = text;
	if (level <= FLAGSYNC_LOG_WARNING)
		h->last_error = h->nlines;
	h->nlines++;
}

static int
mock_flag_view(struct flagsync_host *h, const char *project,
    const char *flag, char **json)
{
	char *key;
	size_t i;

	if (project == NULL || flag == NULL || json == NULL)
		return EINVAL;
	if (asprintf(&key, "%s\n%s", project, flag) < 0)
		return ENOMEM;
	i = mock_list_find(&h->views, key);
	free(key);
	if (i == MOCK_NONE)
		return FLAGSYNC_ENOTFOUND;
	return mock_hand_out(h, &h->views.v[i], json);
}

static int
mock_issue_flags(struct flagsync_host *h, const char *issue, char **json)
{
	size_t i;

	if (issue == NULL || json == NULL)
		return EINVAL;
	if ((i = mock_list_find(&h->issues, issue)) == MOCK_NONE)
		return FLAGSYNC_ENOTFOUND;
	return mock_hand_out(h, &h->issues.v[i], json);
}

static int
mock_kv_key_ok(const char *key)
{
	size_t len;

	if (key == NULL)
		return 0;
	len = strlen(key);
	return len > 0 && len <= MOCK_KV_KEY_MAX;
}

static int
mock_kv_get(struct flagsync_host *h, const char *key, void **value,
    size_t *len)
{
	char *copy;
	size_t i;
	int rc;

	if (h->kv_err != 0)
		return h->kv_err;
	if (!mock_kv_key_ok(key) || value == NULL || len == NULL)
		return EINVAL;
	if ((i = mock_list_find(&h->kv, key)) == MOCK_NONE)
		return FLAGSYNC_ENOTFOUND;
	if ((rc = mock_hand_out(h, &h->kv.v[i], &copy)) != 0)
		return rc;
	*value = copy;
	*len = h->kv.v[i].len;
	return 0;
}

static int
mock_kv_put(struct flagsync_host *h, const char *key, const void *value,
    size_t len)
{
	if (h->kv_err != 0)
		return h->kv_err;
	if (!mock_kv_key_ok(key) || len > MOCK_KV_VALUE_MAX ||
	    (value == NULL && len > 0))
		return EINVAL;
	/* An empty value is a value, not a removal. */
	return mock_list_set(&h->kv, key, value != NULL ? value : "", len);
}

static int
mock_kv_del(struct flagsync_host *h, const char *key)
{
	if (h->kv_err != 0)
		return h->kv_err;
	if (!mock_kv_key_ok(key))
		return EINVAL;
	return mock_list_set(&h->kv, key, NULL, 0);
}

static void
mock_release(struct flagsync_host *h, void *p)
{
	if (p == NULL)
		return;
	free(p);
	h->outstanding--;
}

static const char *
mock_agent_config(struct flagsync_host *h, const char *section,
    const char *key)
{
	char *k;
	size_t i;

	if (section == NULL || key == NULL ||
	    asprintf(&k, "%s\n%s", section, key) < 0)
		return NULL;
	i = mock_list_find(&h->agent, k);
	free(k);
	return i == MOCK_NONE ? NULL : h->agent.v[i].value;
}

static const struct flagsync_host_api mock_api = {
	.abi_major = FLAGSYNC_PLUGIN_ABI_MAJOR,
	.abi_minor = FLAGSYNC_PLUGIN_ABI_MINOR,
	.struct_size = sizeof(struct flagsync_host_api),
	.config_get = mock_config_get,
	.config_key = mock_config_key,
	.instance_name = mock_instance_name,
	.log = mock_log,
	.flag_view = mock_flag_view,
	.issue_flags = mock_issue_flags,
	.kv_get = mock_kv_get,
	.kv_put = mock_kv_put,
	.kv_del = mock_kv_del,
	.release = mock_release,
	.agent_config = mock_agent_config,
};

/* ------------------------------------------------ the test's side */

const struct flagsync_host_api *
mock_host_api(void)
{
	return &mock_api;
}

struct flagsync_host *
mock_host_create(const char *name, const struct mock_config *keys,
    size_t nkeys)
{
	struct flagsync_host *h;
	size_t i;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->last_error = MOCK_NONE;
	if ((h->name = strdup(name)) == NULL)
		goto host_free;
	/* Kept in order, duplicates too, as the section lists them. */
	for (i = 0; i < nkeys; i++)
		if (mock_list_add(&h->config, keys[i].key, keys[i].value,
		    strlen(keys[i].value)) != 0)
			goto host_free;
	return h;
host_free:
	mock_host_free(h);
	return NULL;
}

void
mock_host_free(struct flagsync_host *h)
{
	if (h == NULL)
		return;
	mock_host_log_clear(h);
	free(h->lines);
	mock_list_release(&h->config);
	mock_list_release(&h->kv);
	mock_list_release(&h->views);
	mock_list_release(&h->issues);
	mock_list_release(&h->agent);
	free(h->name);
	free(h);
}

size_t
mock_host_log_count(const struct flagsync_host *h)
{
	return h->nlines;
}

const char *
mock_host_log_line(const struct flagsync_host *h, size_t i, int *level)
{
	if (i >= h->nlines)
		return NULL;
	if (level != NULL)
		*level = h->lines[i].level;
	return h->lines[i].text;
}

int
mock_host_log_has(const struct flagsync_host *h, int level,
    const char *text)
{
	size_t i;

	for (i = 0; i < h->nlines; i++)
		if ((level == -1 || h->lines[i].level == level) &&
		    strstr(h->lines[i].text, text) != NULL)
			return 1;
	return 0;
}

const char *
mock_host_last_error(const struct flagsync_host *h)
{
	if (h->last_error == MOCK_NONE)
		return NULL;
	return h->lines[h->last_error].text;
}

void
mock_host_log_clear(struct flagsync_host *h)
{
	size_t i;

	for (i = 0; i < h->nlines; i++)
		free(h->lines[i].text);
	h->nlines = 0;
	h->last_error = MOCK_NONE;
}

int
mock_host_set_flag_view(struct flagsync_host *h, const char *project,
    const char *flag, const char *json)
{
	char *key;
	int rc;

	if (asprintf(&key, "%s\n%s", project, flag) < 0)
		return ENOMEM;
	rc = mock_list_set(&h->views, key, json,
	    json != NULL ? strlen(json) : 0);
	free(key);
	return rc;
}

int
mock_host_set_issue_flags(struct flagsync_host *h, const char *issue,
    const char *json)
{
	return mock_list_set(&h->issues, issue, json,
	    json != NULL ? strlen(json) : 0);
}

int
mock_host_set_agent_config(struct flagsync_host *h, const char *section,
    const char *key, const char *value)
{
	char *k;
	int rc;

	if (asprintf(&k, "%s\n%s", section, key) < 0)
		return ENOMEM;
	rc = mock_list_set(&h->agent, k, value,
	    value != NULL ? strlen(value) : 0);
	free(k);
	return rc;
}

void
mock_host_kv_fail(struct flagsync_host *h, int err)
{
	h->kv_err = err;
}

size_t
mock_host_kv_count(const struct flagsync_host *h)
{
	return h->kv.n;
}

size_t
mock_host_outstanding(const struct flagsync_host *h)
{
	return h->outstanding;
}
