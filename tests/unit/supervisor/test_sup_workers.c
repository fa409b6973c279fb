/* test_sup_workers.c — "workers: auto": the CPU count, capped by a cgroup's CPU quota. */
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_workers.h"
#include "unit.h"

static int
affinity_cpus(void)
{
    cpu_set_t set;

    ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
    return CPU_COUNT(&set);
}

static const char *
cgroup_dir(const char *name, const char *file, const char *content)
{
    static char dir[600];
    char        path[700];
    FILE       *fp;

    snprintf(dir, sizeof(dir), "%s/%s", unit_tmpdir(), name);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/cpu", dir);
    mkdir(path, 0700);
    if (file != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        ck_assert_ptr_nonnull(fp = fopen(path, "w"));
        fputs(content, fp);
        fclose(fp);
    }
    return dir;
}

START_TEST(test_no_quota)
{
    ck_assert_int_eq(ks_workers_auto(cgroup_dir("none", NULL, NULL)), affinity_cpus());
    ck_assert_int_eq(ks_workers_auto(cgroup_dir("max", "cpu.max", "max 100000\n")), affinity_cpus());
}
END_TEST

START_TEST(test_v2_quota)
{
    /* 1.5 CPUs round up to 2, but never above what the process may run on */
    int want = affinity_cpus() < 2 ? affinity_cpus() : 2;

    ck_assert_int_eq(ks_workers_auto(cgroup_dir("v2", "cpu.max", "150000 100000\n")), want);
    ck_assert_int_eq(ks_workers_auto(cgroup_dir("v2one", "cpu.max", "50000 100000\n")), 1);
    ck_assert_int_eq(ks_workers_auto(cgroup_dir("v2big", "cpu.max", "100000000 100000\n")), affinity_cpus());
}
END_TEST

START_TEST(test_v1_quota)
{
    const char *dir = cgroup_dir("v1", "cpu/cpu.cfs_quota_us", "100000\n");

    cgroup_dir("v1", "cpu/cpu.cfs_period_us", "100000\n");
    ck_assert_int_eq(ks_workers_auto(dir), 1);
    ck_assert_int_eq(ks_workers_auto(cgroup_dir("v1none", "cpu/cpu.cfs_quota_us", "-1\n")), affinity_cpus());
}
END_TEST

Suite *
suite_sup_workers(void)
{
    Suite *s = suite_create("sup_workers");
    TCase *tc = tcase_create("auto");

    tcase_add_test(tc, test_no_quota);
    tcase_add_test(tc, test_v2_quota);
    tcase_add_test(tc, test_v1_quota);
    suite_add_tcase(s, tc);
    return s;
}
