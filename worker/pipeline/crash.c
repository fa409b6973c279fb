/* crash.c — named crash points for the exactly-once tests (see crash.h). */
#include "pipeline/crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char crash_point[64];
static long crash_countdown;

void
ks_crash_init(void)
{
    const char *spec = getenv("KSENSOR_CRASH_AT");
    const char *colon = spec ? strrchr(spec, ':') : NULL;

    if (colon == NULL || (size_t)(colon - spec) >= sizeof(crash_point))
        return;
    snprintf(crash_point, sizeof(crash_point), "%.*s", (int)(colon - spec), spec);
    crash_countdown = atol(colon + 1);
}

void
ks_crash_point(const char *point)
{
    if (crash_countdown <= 0 || strcmp(point, crash_point) != 0)
        return;
    if (--crash_countdown == 0) {
        fprintf(stderr, "ksensor: injected crash at %s\n", point);
        _exit(99);
    }
}
