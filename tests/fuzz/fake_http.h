/*
 * fake_http.h - answers http_request() from the fuzzer's input, so the
 * Split and Jira clients parse fuzzed bodies through their real code
 * (status handling, JSON parse, paging) without a socket.
 *
 * The targets that use it link with -Wl,--wrap=http_request: every call
 * the agent objects make to http_request() lands in __wrap_http_request()
 * below.  The input is a sequence of pages separated by FAKE_HTTP_SEP
 * (a line "--", which JSON text cannot hold outside a string and a JSON
 * string cannot hold a raw line break); each request takes the next page.
 * A page that starts with "HTTP NNN\n" is answered with status NNN, any
 * other with 200; after the status line, "Retry-After: V\n" and
 * "X-RateLimit-Reset-Seconds-{Org,IP}: V\n" lines set those headers.
 * http_sleep_ms() is wrapped too (--wrap=http_sleep_ms) and returns at
 * once, so retries and 429 waits cost no time.  Once the pages are used
 * up every request gets a 404, so paging always ends.
 *
 * Ownership: the pages point into the fuzzer's buffer, which must live
 * until the last request of the run.
 */
#ifndef FLAGSYNC_FAKE_HTTP_H
#define FLAGSYNC_FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define FAKE_HTTP_SEP	"\n--\n"

void	fake_http_set(const uint8_t *data, size_t size);
/* Requests answered since fake_http_set(). */
unsigned fake_http_requests(void);

#endif
