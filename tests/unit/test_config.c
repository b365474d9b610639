/* Unit tests for the configuration keys of issue 10 (util/config.c): TOML string lists for
 * list keys (CORS origins), their validation, arrays of other keys still ignored; and the
 * request log's levels (server/reqlog.c) and CORS origin matching (server/cors.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/cors.h"
#include "server/reqlog.h"
#include "util/config.h"
#include "util/log.h"

/* Loads text as a config file over the defaults: 0 or -1 (message in e). */
static int load(const char *text, config *c, err *e) {
    char path[] = "/tmp/strata-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    config_defaults(c);
    err_clear(e);
    int rc = config_load_file(c, path, e);
    unlink(path);
    return rc;
}

static void test_origin_lists(void **state) {
    config c;
    err e;
    assert_int_equal(load("[http]\ncors_allowed_origins = [ \"https://a.example\" , "
                          "'http://b.example:3000', \"*\" ]  # comment\n",
                          &c, &e),
                     0);
    assert_string_equal(c.cors_origins, "https://a.example,http://b.example:3000,*");
    assert_int_equal(load("[http]\ncors_allowed_origins = [\"null\"]\n", &c, &e), 0);
    assert_string_equal(c.cors_origins, "null");
    assert_int_equal(load("[http]\ncors_allowed_origins = []\n", &c, &e), 0);
    assert_string_equal(c.cors_origins, "");
    /* one origin as a plain string, as the environment gives a list */
    assert_int_equal(config_set(&c, "http", "cors_allowed_origins", "https://a.example,*", &e), 0);
    static const char *const bad[] = {
        "[http]\ncors_allowed_origins = [\"a.example\"]\n",            /* no scheme */
        "[http]\ncors_allowed_origins = [\"https://a.example/x\"]\n",  /* a path */
        "[http]\ncors_allowed_origins = [\"https://\"]\n",             /* no host */
        "[http]\ncors_allowed_origins = [\"https://a.example\", 3]\n", /* not a string */
        "[http]\ncors_allowed_origins = [\"https://a,b\"]\n",          /* a comma */
        "[http]\ncors_allowed_origins = [[\"https://a.example\"]]\n",  /* nested */
        "[http]\ncors_allowed_origins = \"https://a example\"\n",      /* a space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (load(bad[i], &c, &e) != -1) fail_msg("accepted: %s", bad[i]);
        if (!strstr(e.msg, "cors_allowed_origins")) fail_msg("%s: message '%s'", bad[i], e.msg);
    }
    /* an array of another key (CnosDB's files have some) is still ignored */
    assert_int_equal(load("[cluster]\nmeta_service_addr = [\"127.0.0.1:8901\", 3, [1]]\n"
                          "[service]\nhttp_listen_port = 9000\n",
                          &c, &e),
                     0);
    assert_int_equal(c.port, 9000);
}

static void test_new_keys(void **state) {
    config c;
    err e;
    assert_int_equal(load("[log]\nrequest_level = \"info\"\n[opentsdb]\ntcp_listen_port = 8905\n"
                          "tcp_listen_host = \"0.0.0.0\"\ntenant = \"t1\"\ndatabase = \"d1\"\n",
                          &c, &e),
                     0);
    assert_string_equal(c.log_request_level, "info");
    assert_int_equal(c.tsdb_tcp_port, 8905);
    assert_string_equal(c.tsdb_tcp_host, "0.0.0.0");
    assert_string_equal(c.tsdb_tenant, "t1");
    assert_string_equal(c.tsdb_database, "d1");
    config_defaults(&c);
    assert_string_equal(c.log_request_level, "debug");
    assert_int_equal(c.tsdb_tcp_port, 0);
    assert_string_equal(c.tsdb_database, "public");
    assert_int_equal(config_set(&c, "log", "request_level", "loud", &e), -1);
    assert_int_equal(config_set(&c, "opentsdb", "tcp_listen_port", "65536", &e), -1);
    assert_int_equal(config_set(&c, "opentsdb", "database", "", &e), -1);
}

static void test_request_levels(void **state) {
    assert_int_equal(reqlog_level(LOG_DEBUG, 200), LOG_DEBUG);
    assert_int_equal(reqlog_level(LOG_DEBUG, 204), LOG_DEBUG);
    assert_int_equal(reqlog_level(LOG_DEBUG, 404), LOG_INFO);
    assert_int_equal(reqlog_level(LOG_WARN, 404), LOG_WARN); /* the more severe of the two */
    assert_int_equal(reqlog_level(LOG_TRACE, 500), LOG_WARN);
    assert_int_equal(reqlog_level(LOG_INFO, 503), LOG_WARN);
}

static void test_cors_matching(void **state) {
    assert_null(cors_new(""));
    assert_false(cors_allowed(NULL, "https://a.example"));
    cors *c = cors_new("https://a.example,http://b.example:3000");
    assert_true(cors_allowed(c, "https://a.example"));
    assert_true(cors_allowed(c, "HTTPS://A.EXAMPLE")); /* scheme and host are case-blind */
    assert_true(cors_allowed(c, "http://b.example:3000"));
    assert_false(cors_allowed(c, "http://b.example"));
    assert_false(cors_allowed(c, "https://a.example.evil"));
    assert_false(cors_allowed(c, "https://a.exampl"));
    assert_false(cors_allowed(c, ""));
    assert_false(cors_allowed(c, NULL));
    assert_false(cors_allowed(c, "null"));
    cors_free(c);
    c = cors_new("*");
    assert_true(cors_allowed(c, "https://any.example"));
    assert_false(cors_allowed(c, "null"));
    cors_free(c);
    c = cors_new("null,*");
    assert_true(cors_allowed(c, "null"));
    cors_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_lists),
        cmocka_unit_test(test_new_keys),
        cmocka_unit_test(test_request_levels),
        cmocka_unit_test(test_cors_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
