/* cron.h — robfig/cron v3 standard 5-field schedules, for Argo's conditionsReset byTime.
 *
 * A spec is "minute hour day-of-month month day-of-week", each field a comma list of "*", "?" (same
 * as "*"), N, N-M, with an optional "/step" ("N/step" means N-max/step). Months take JAN-DEC and days
 * SUN-SAT, case-insensitive; day-of-week also accepts 7 for Sunday (robfig does not). Days follow
 * robfig: when day-of-month and day-of-week are both restricted either may match; when one of them
 * is "*" or "?" (without a step above 1) only the other counts. Descriptors (@hourly, @every) are
 * refused, as Argo's parser refuses them. A leading "CRON_TZ=Zone " or "TZ=Zone " picks the zone
 * and wins over the timezone argument, as in robfig.
 *
 * Activations are the instants at second 0 of each local minute, in the schedule's zone, whose local
 * fields match. Around daylight-saving changes this is what robfig's Next produces:
 *   - a local time that does not exist (spring-forward gap) is skipped, with no catch-up run:
 *     "30 2 * * *" in Europe/Paris has no activation on 2026-03-29;
 *   - a local time that occurs twice (fall back) fires on both occurrences: "30 2 * * *" in
 *     Europe/Paris fires at 00:30 and 01:30 UTC on 2026-10-25 (robfig's "1am nightly job (runs
 *     twice)" test), and "0 * * * *" keeps firing every real hour.
 * ks_cron_prev walks the same set of instants backwards, so it is the exact inverse of ks_cron_next.
 *
 * Both searches stop after 5 calendar years (the local year of t ± 5, like robfig) and work one
 * constant-offset span of the zone at a time, skipping non-matching months, days, hours and minutes
 * in whole steps: a few microseconds for dense specs, well under a millisecond for "0 0 29 2 *". */
#ifndef KS_SENSOR_CRON_H
#define KS_SENSOR_CRON_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_cron ks_cron_t;

/* Parses spec in timezone (IANA name; NULL or "" for UTC). On error returns NULL and one sentence,
 * e.g. "field 2 (hour): 24 is out of range 0-23" or "unknown time zone 'Mars/Base'". */
ks_cron_t *ks_cron_parse(const char *spec, const char *timezone, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void ks_cron_free(ks_cron_t *cron);

/* The first activation strictly after t (UTC seconds), or -1 when none exists within 5 years. */
int64_t ks_cron_next(const ks_cron_t *cron, int64_t t) __attribute__((warn_unused_result));

/* The latest activation at or before t, or -1 when none within 5 years. Argo uses robfig's
 * PrevCronTime at startup to find the last reset it missed while down. */
int64_t ks_cron_prev(const ks_cron_t *cron, int64_t t) __attribute__((warn_unused_result));

#endif
