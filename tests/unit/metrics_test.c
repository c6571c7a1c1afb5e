/* metrics_test.c - the request counters and the Prometheus exposition. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "metrics.h"

static const char status_text[] =
    "{\"healthy\":false,"
    "\"sources\":["
    "{\"source\":\"split:Sh\\\"op\\\\x\\ny\",\"ok\":true,"
    "\"last_poll\":\"2026-12-01T10:00:05Z\","
    "\"last_ok\":\"2026-12-01T10:00:05Z\",\"duration\":1.25,"
    "\"healthy\":true},"
    "{\"source\":\"file\",\"ok\":null,\"never_polled\":true,"
    "\"last_poll\":null,\"last_ok\":null,\"duration\":null,"
    "\"healthy\":false},"
    "{\"source\":\"plugin:audit\",\"ok\":true,\"last_poll\":null}],"
    "\"flags\":{\"total\":4,\"active\":2,\"killed\":1,\"undefined\":1},"
    "\"links\":3,\"issues\":2,"
    "\"events\":{\"first\":1,\"last\":9,"
    "\"by_type\":{\"flag.created\":3,\"link.added\":6}},"
    "\"plugins\":[{\"name\":\"audit\",\"state\":\"stuck\",\"cursor\":7,"
    "\"backlog\":2,\"dead_letters\":1,\"restarts\":3}]}";

static char *
render(void)
{
	json_object *st;
	struct buf b;

	assert_non_null(st = json_tokener_parse(status_text));
	buf_init(&b, 0);
	assert_int_equal(metrics_render(st, &b), 0);
	json_object_put(st);
	return buf_detach(&b);
}

static void
has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	for (; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void
test_status_figures(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	t = render();
	has_line(t, "# TYPE flagsync_healthy gauge");
	has_line(t, "flagsync_healthy 0");
	/* label values escape \, " and line feeds */
	has_line(t, "flagsync_source_up{source=\"split:Sh\\\"op\\\\x\\ny\"} 1");
	has_line(t, "flagsync_source_last_success_timestamp_seconds"
	    "{source=\"split:Sh\\\"op\\\\x\\ny\"} 1796119205");
	has_line(t, "flagsync_source_poll_duration_seconds"
	    "{source=\"split:Sh\\\"op\\\\x\\ny\"} 1.250");
	has_line(t, "flagsync_source_healthy{source=\"file\"} 0");
	has_line(t, "flagsync_source_up{source=\"file\"} 0");
	/* never succeeded: no time at all rather than a made-up one */
	assert_null(strstr(t, "timestamp_seconds{source=\"file\"}"));
	/* outputs are not poll sources */
	assert_null(strstr(t, "plugin:audit"));
	has_line(t, "# TYPE flagsync_events_total counter");
	has_line(t, "flagsync_events_total 9");
	has_line(t, "flagsync_events_retained{type=\"link.added\"} 6");
	has_line(t, "flagsync_flags{state=\"active\"} 2");
	has_line(t, "flagsync_flags{state=\"killed\"} 1");
	has_line(t, "flagsync_flags{state=\"undefined\"} 1");
	has_line(t, "flagsync_links 3");
	has_line(t, "flagsync_issues 2");
	has_line(t, "flagsync_output_cursor{output=\"audit\"} 7");
	has_line(t, "flagsync_output_backlog{output=\"audit\"} 2");
	has_line(t, "flagsync_output_dead_letters{output=\"audit\"} 1");
	has_line(t, "# TYPE flagsync_output_restarts_total counter");
	has_line(t, "flagsync_output_restarts_total{output=\"audit\"} 3");
	has_line(t, "flagsync_output_state{output=\"audit\",state=\"stuck\"} 1");
	assert_null(strstr(t, "findings"));
	assert_int_equal(t[strlen(t) - 1], '\n');
	free(t);
}

static void
test_counters(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	metrics_count_request(METRICS_API_ADMIN, 200);
	metrics_count_request(METRICS_API_ADMIN, 200);
	metrics_count_request(METRICS_API_ADMIN, 429);
	metrics_count_request(METRICS_API_JIRA, 0);
	metrics_count_request("bogus", 200);	/* not an API: not counted */
	metrics_count_request(NULL, 200);
	metrics_count_request(METRICS_API_SDK, 600);	/* not a status */
	metrics_count_request(METRICS_API_SDK, -1);
	metrics_count_wait(METRICS_API_ADMIN, 1500);
	metrics_count_wait(METRICS_API_ADMIN, 250);
	t = render();
	has_line(t, "# TYPE flagsync_http_requests_total counter");
	has_line(t, "flagsync_http_requests_total{api=\"admin\",code=\"200\"} 2");
	has_line(t, "flagsync_http_requests_total{api=\"admin\",code=\"429\"} 1");
	has_line(t, "flagsync_http_requests_total{api=\"jira\",code=\"0\"} 1");
	assert_null(strstr(t, "api=\"sdk\",code"));
	assert_null(strstr(t, "bogus"));
	has_line(t, "flagsync_ratelimit_waits_total{api=\"admin\"} 2");
	has_line(t, "flagsync_ratelimit_waits_total{api=\"sdk\"} 0");
	has_line(t, "flagsync_ratelimit_wait_seconds_total{api=\"admin\"} 1.750");
	free(t);
	metrics_reset();
	t = render();
	assert_null(strstr(t, "flagsync_http_requests_total{"));
	free(t);
}

/* A capped buffer ends in EFBIG, never in a cut exposition that looks
 * whole. */
static void
test_cap(void **state)
{
	json_object *st;
	struct buf b;

	(void)state;
	assert_non_null(st = json_tokener_parse(status_text));
	buf_init(&b, 100);
	assert_int_equal(metrics_render(st, &b), EFBIG);
	buf_release(&b);
	json_object_put(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_figures),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
