/*
 * fake_http.c - http_request() served from the fuzz input (fake_http.h).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"

#include "fake_http.h"

int	__wrap_http_sleep_ms(int64_t ms, volatile sig_atomic_t *cancel);
int	__wrap_http_request(struct http_client *hc, const char *method,
	    const char *url, const struct http_header *hdrs, size_t nhdrs,
	    const char *body, struct http_response *r, char *err,
	    size_t errlen);

static const uint8_t *fake_pos;
static const uint8_t *fake_end;
static unsigned fake_nrequests;

void
fake_http_set(const uint8_t *data, size_t size)
{
	fake_pos = data;
	fake_end = data + size;
	fake_nrequests = 0;
}

unsigned
fake_http_requests(void)
{
	return fake_nrequests;
}

/* Cuts the next page off the input; 0 when none is left. */
static int
fake_next_page(const uint8_t **page, size_t *len)
{
	const size_t seplen = sizeof(FAKE_HTTP_SEP) - 1;
	const uint8_t *p;

	if (fake_pos == NULL || fake_pos > fake_end)
		return 0;
	*page = fake_pos;
	p = memmem(fake_pos, (size_t)(fake_end - fake_pos), FAKE_HTTP_SEP,
	    seplen);
	if (p == NULL) {
		*len = (size_t)(fake_end - fake_pos);
		fake_pos = fake_end + 1;	/* used up */
	} else {
		*len = (size_t)(p - fake_pos);
		fake_pos = p + seplen;
	}
	return 1;
}

/* "HTTP NNN\n" at the start of a page: the status; the body follows. */
static long
fake_status(const uint8_t **page, size_t *len)
{
	const uint8_t *p = *page;
	long status;

	if (*len < 9 || memcmp(p, "HTTP ", 5) != 0 || !isdigit(p[5]) ||
	    !isdigit(p[6]) || !isdigit(p[7]) || p[8] != '\n')
		return 200;
	status = (p[5] - '0') * 100 + (p[6] - '0') * 10 + (p[7] - '0');
	*page += 9;
	*len -= 9;
	return status;
}

/*
 * After a status line, lines "Retry-After: V", "X-RateLimit-Reset-
 * Seconds-Org: V" and "...-IP: V" set the headers the clients read.
 * Returns 0 or ENOMEM.
 */
static int
fake_headers(const uint8_t **page, size_t *len, struct http_response *r)
{
	static const struct {
		const char *name;
		size_t	 off;
	} known[] = {
		{ "Retry-After: ",
		    offsetof(struct http_response, retry_after) },
		{ "X-RateLimit-Reset-Seconds-Org: ",
		    offsetof(struct http_response, rl_reset_org) },
		{ "X-RateLimit-Reset-Seconds-IP: ",
		    offsetof(struct http_response, rl_reset_ip) },
	};
	const uint8_t *nl;
	size_t i, n;
	char **slot;

	for (;;) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			n = strlen(known[i].name);
			if (*len >= n && memcmp(*page, known[i].name, n) == 0)
				break;
		}
		if (i == sizeof(known) / sizeof(known[0]))
			return 0;
		if ((nl = memchr(*page + n, '\n', *len - n)) == NULL)
			return 0;
		slot = (char **)((char *)r + known[i].off);
		free(*slot);
		if ((*slot = strndup((const char *)*page + n,
		    (size_t)(nl - *page) - n)) == NULL)
			return ENOMEM;
		*len -= (size_t)(nl + 1 - *page);
		*page = nl + 1;
	}
}

/* No waiting in a fuzzer: a retry's backoff or a 429 wait returns at
 * once (not canceled). */
int
__wrap_http_sleep_ms(int64_t ms, volatile sig_atomic_t *cancel)
{
	(void)ms;
	(void)cancel;
	return 0;
}

/*
 * The body in an allocation of exactly len + 1 bytes: jscan_parse()
 * may read the NUL after the text and nothing past it, and buf_append()
 * leaves room that would hide an over-read from ASan.
 */
static int
fake_body_exact(struct buf *b)
{
	char *exact;

	if (b->data == NULL)
		return 0;
	if ((exact = malloc(b->len + 1)) == NULL)
		return ENOMEM;
	memcpy(exact, b->data, b->len + 1);
	free(b->data);
	b->data = exact;
	b->cap = b->len + 1;
	return 0;
}

int
__wrap_http_request(struct http_client *hc, const char *method,
    const char *url, const struct http_header *hdrs, size_t nhdrs,
    const char *body, struct http_response *r, char *err, size_t errlen)
{
	const uint8_t *page, *start;
	size_t len;
	int rc;

	(void)hc; (void)method; (void)url; (void)hdrs; (void)nhdrs;
	(void)body;
	/* As the real one: the previous answer goes, the new one starts
	 * empty. */
	http_response_release(r);
	http_response_init(r);
	if (errlen)
		err[0] = '\0';
	fake_nrequests++;
	if (!fake_next_page(&page, &len)) {
		r->status = 404;
		return 0;
	}
	start = page;
	r->status = fake_status(&page, &len);
	if (page != start && (rc = fake_headers(&page, &len, r)) != 0)
		return rc;
	if ((rc = buf_append(&r->body, page, len)) != 0)
		return rc;
	return fake_body_exact(&r->body);
}
