/*
 * plughttp.c - the libcurl client pieces the jira and split output
 * plugins share (plughttp.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "plughttp.h"
#include "plugutil.h"

void
plughttp_answer_reset(struct plughttp_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
	a->cut = 0;
}

size_t
plughttp_answer_cb(char *p, size_t size, size_t n, void *arg)
{
	struct plughttp_answer *a = arg;
	size_t len = size * n;
	char *b;

	if (len > a->max - a->len) {
		a->cut = 1;
		return 0;
	}
	if ((b = realloc(a->body, a->len + len + 1)) == NULL)
		return 0;
	memcpy(b + a->len, p, len);
	a->len += len;
	b[a->len] = '\0';
	a->body = b;
	return len;
}

int
plughttp_answered(CURLcode cc, const struct plughttp_answer *a, long status)
{
	return cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && a->cut &&
	    status != 0);
}

json_object *
plughttp_answer_json(const struct plughttp_answer *a)
{
	if (a->cut || a->body == NULL)
		return NULL;
	return json_tokener_parse(a->body);
}

int
plughttp_global_init(char *err, size_t errlen)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		plug_err(err, errlen, "cannot initialise libcurl");
		return EIO;
	}
	return 0;
}

int
plughttp_header_status(const char *p, size_t len)
{
	return len > 5 && strncmp(p, "HTTP/", 5) == 0;
}

const char *
plughttp_header_field(const char *p, size_t len, const char *name,
    size_t *vlen)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(p, name, nl) != 0)
		return NULL;
	*vlen = len - nl;
	return p + nl;
}

int
plughttp_header_text(const char *v, size_t n, char *text, size_t textlen)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' ||
	    v[n - 1] == ' '))
		n--;
	if (n == 0 || n >= textlen)
		return -1;
	memcpy(text, v, n);
	text[n] = '\0';
	return 0;
}

int
plughttp_number(const char *text, long *num)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0)
		return -1;
	*num = v;
	return 0;
}

int
plughttp_header_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(*list, line)) == NULL)
		return ENOMEM;
	*list = l;
	return 0;
}

char *
plughttp_base(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return strndup(url, n);
}

char *
plughttp_escape(CURL *curl, const char *s)
{
	char *e, *copy;

	if ((e = curl_easy_escape(curl, s, 0)) == NULL)
		return NULL;
	/* The caller free()s: curl's allocator need not be malloc. */
	copy = strdup(e);
	curl_free(e);
	return copy;
}

#define PLUGHTTP_SETOPT(curl, cc, opt, val) do {			\
	if ((cc) == CURLE_OK)						\
		(cc) = curl_easy_setopt((curl), (opt), (val));		\
} while (0)

CURLcode
plughttp_setup(CURL *curl, const struct plughttp_call *c)
{
	CURLcode cc = CURLE_OK;

	curl_easy_reset(curl);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_URL, c->url);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_NOSIGNAL, 1L);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_CONNECTTIMEOUT_MS,
	    c->timeout_ms < c->connect_ms ? c->timeout_ms : c->connect_ms);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_SSL_VERIFYPEER, 1L);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		PLUGHTTP_SETOPT(curl, cc, CURLOPT_CAINFO, c->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_FOLLOWLOCATION, 0L);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_USERAGENT, c->user_agent);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_HTTPHEADER, c->headers);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_WRITEFUNCTION, plughttp_answer_cb);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_WRITEDATA, c->answer);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_HEADERFUNCTION, c->header_cb);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_HEADERDATA, c->header_arg);
	PLUGHTTP_SETOPT(curl, cc, CURLOPT_ERRORBUFFER, c->errbuf);
	if (c->body != NULL) {
		PLUGHTTP_SETOPT(curl, cc, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(c->body));
		PLUGHTTP_SETOPT(curl, cc, CURLOPT_POSTFIELDS, c->body);
	}
	if (strcmp(c->method, "POST") != 0)
		PLUGHTTP_SETOPT(curl, cc, CURLOPT_CUSTOMREQUEST, c->method);
	return cc;
}
