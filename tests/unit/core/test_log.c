/* test_log.c — log lines: text and JSON formats, the level filter, reopening a file. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "unit.h"

static char *
slurp(const char *path)
{
    static char buf[8192];
    FILE       *fp = fopen(path, "r");
    size_t      n;

    ck_assert_ptr_nonnull(fp);
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

START_TEST(test_text_and_level)
{
    char        path[600], expect[128];
    const char *text;

    snprintf(path, sizeof(path), "%s/text.log", unit_tmpdir());
    ks_log_setup("worker", 3, KS_LOG_INFO, false);
    ck_assert_int_eq(ks_log_open(path), 0);
    ks_log_debug("hidden %d", 1);
    ks_log_warning("shown %s", "here");
    text = slurp(path);

    snprintf(expect, sizeof(expect), " warning worker/3[%d]: shown here\n", (int)getpid());
    ck_assert_ptr_null(strstr(text, "hidden"));
    ck_assert_ptr_nonnull(strstr(text, expect));
    ck_assert_uint_eq(strlen(text), 24 + strlen(expect));   /* 2026-01-02T03:04:05.678Z + rest */
    ck_assert_int_eq(text[10], 'T');
    ck_assert_int_eq(text[23], 'Z');
}
END_TEST

START_TEST(test_json)
{
    char         path[600];
    json_t      *obj;
    json_error_t err;

    snprintf(path, sizeof(path), "%s/json.log", unit_tmpdir());
    ks_log_setup("supervisor", -1, KS_LOG_DEBUG, true);
    ck_assert_int_eq(ks_log_open(path), 0);
    ks_log_error("quote \" and newline\n in %s", "message");

    obj = json_loads(slurp(path), 0, &err);
    ck_assert_msg(obj != NULL, "not JSON: %s", err.text);
    ck_assert_str_eq(json_string_value(json_object_get(obj, "level")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(obj, "component")), "supervisor");
    ck_assert_str_eq(json_string_value(json_object_get(obj, "msg")), "quote \" and newline\n in message");
    ck_assert_int_eq(json_integer_value(json_object_get(obj, "pid")), getpid());
    ck_assert_ptr_null(json_object_get(obj, "slot"));
    json_decref(obj);
}
END_TEST

/* The descriptor open on path (-1 if none), from /proc/self/fd. */
static int
fd_of(const char *path)
{
    char link[64], target[700];

    for (int fd = 0; fd < 1024; fd++) {
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        if ((n = readlink(link, target, sizeof(target) - 1)) > 0) {
            target[n] = '\0';
            if (strcmp(target, path) == 0)
                return fd;
        }
    }
    return -1;
}

START_TEST(test_reopen)
{
    char path[600], moved[600];
    int  fd;

    snprintf(path, sizeof(path), "%s/r.log", unit_tmpdir());
    snprintf(moved, sizeof(moved), "%s/r.log.1", unit_tmpdir());
    ks_log_setup("supervisor", -1, KS_LOG_INFO, false);
    ck_assert_int_eq(ks_log_open(path), 0);
    ks_log_info("before rotation");
    fd = fd_of(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(rename(path, moved), 0);
    ck_assert_int_eq(ks_log_open(path), 0);
    ks_log_info("after rotation");
    /* the same descriptor now names the new file (other threads never see it closed), none the old */
    ck_assert_int_eq(fd_of(path), fd);
    ck_assert_int_eq(fd_of(moved), -1);
    ck_assert_ptr_nonnull(strstr(slurp(path), "after rotation"));
    ck_assert_ptr_null(strstr(slurp(path), "before rotation"));
    ck_assert_ptr_nonnull(strstr(slurp(moved), "before rotation"));

    ck_assert_int_eq(ks_log_open("/nonexistent-dir/x.log"), -1);
    ks_log_info("still to the old file");
    ck_assert_ptr_nonnull(strstr(slurp(path), "still to the old file"));
}
END_TEST

START_TEST(test_level_names)
{
    ks_log_level_t level;

    ck_assert_int_eq(ks_log_level_parse("warning", &level), 0);
    ck_assert_int_eq(level, KS_LOG_WARNING);
    ck_assert_int_eq(ks_log_level_parse("verbose", &level), -1);
}
END_TEST

Suite *
suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");

    tcase_add_test(tc, test_text_and_level);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_reopen);
    tcase_add_test(tc, test_level_names);
    suite_add_tcase(s, tc);
    return s;
}
