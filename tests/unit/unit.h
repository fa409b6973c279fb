/* unit.h — the suites of the unit-test runner, one per module, and shared test helpers. */
#ifndef KS_UNIT_H
#define KS_UNIT_H

#include <check.h>

/* Every tests/unit/LAYER/test_NAME.c defines Suite *suite_NAME(void); the build lists them in unit_suites.h. */
#define KS_SUITE(name) Suite *suite_##name(void);
#include "unit_suites.h"
#undef KS_SUITE

/* Path of a file under tests/data (the runner's KS_TEST_DATA); returns a static buffer. */
const char *unit_data(const char *relative);

/* A fresh temporary directory for one test; removed by the runner's fork when the test ends. */
const char *unit_tmpdir(void);

/* The whole content of a file (NUL-terminated, malloc'd); fails the test when it cannot be read. */
char *unit_read(const char *path);

/* Writes text to a new file in the test's temporary directory and returns its path (static). */
const char *unit_write(const char *name, const char *text);

#endif
