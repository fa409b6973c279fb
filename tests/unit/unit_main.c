/* unit_main.c — runs every Check suite (fork mode) and exits non-zero when a test fails. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

const char *
unit_data(const char *relative)
{
    static char path[4096];
    const char *root = getenv("KS_TEST_DATA");

    snprintf(path, sizeof(path), "%s/%s", root ? root : "tests/data", relative);
    return path;
}

static char base_dir[256];

/* Each test runs in its own forked child, so this static starts empty in every test. */
const char *
unit_tmpdir(void)
{
    static char dir[512];

    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "%s/test.XXXXXX", base_dir);
        ck_assert_ptr_nonnull(mkdtemp(dir));
    }
    return dir;
}

char *
unit_read(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *text;
    long  len;

    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    rewind(fp);
    text = calloc(1, (size_t)len + 1);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    return text;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

const char *
unit_write(const char *name, const char *text)
{
    static char path[512];
    FILE       *fp;

    snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

int
main(void)
{
    SRunner    *runner;
    const char *tmp = getenv("TMPDIR");
    int         failed;

    snprintf(base_dir, sizeof(base_dir), "%s/ksensor-unit.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(base_dir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    runner = srunner_create(NULL);
#define KS_SUITE(name) srunner_add_suite(runner, suite_##name());
#include "unit_suites.h"
#undef KS_SUITE
    srunner_set_fork_status(runner, CK_FORK);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    nftw(base_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
