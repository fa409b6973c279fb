/* tz.h — IANA time zones read from the system's TZif files, without touching the process's TZ.
 *
 * Argo's time filter and conditionsReset name zones such as "Europe/Paris". The sensor model is pure,
 * so instead of setenv("TZ") + localtime we load the zone's TZif file (RFC 8536, versions 1 to 4;
 * the 64-bit block when present) and answer "which UTC offset applies at instant t" ourselves. After
 * the file's last transition the footer's POSIX TZ string (std/dst offsets and Mm.w.d, Jn or n rules
 * with optional times, including the negative and beyond-24h times of version 3) takes over.
 *
 * Instants are int64 seconds since the Unix epoch (UTC); they are clamped to ±KS_TZ_LIMIT (about a
 * million years) so no arithmetic can overflow. Files with leap-second records ("right/...") are
 * refused: their transition times are not POSIX time. */
#ifndef KS_SENSOR_TZ_H
#define KS_SENSOR_TZ_H

#include <stddef.h>
#include <stdint.h>

#define KS_TZ_LIMIT ((int64_t)1 << 45)

typedef struct ks_tz ks_tz_t;

/* Civil (local) fields of an instant. */
typedef struct ks_civil {
    int year, month /* 1-12 */, day /* 1-31 */, hour, minute, second, wday /* 0 = Sunday */;
} ks_civil_t;

/* Loads a zone by IANA name ("Europe/Paris", "America/New_York", "UTC") from $TZDIR or
 * /usr/share/zoneinfo; NULL, "" and "UTC" give built-in UTC. A name with "." or ".." components,
 * an absolute path, characters outside [A-Za-z0-9/_+-.] or no zone file behind it fails with
 * "unknown time zone 'NAME'"; a damaged file fails with a sentence naming the file. */
ks_tz_t *ks_tz_load(const char *name, char *err, size_t errlen) __attribute__((warn_unused_result));
void ks_tz_free(ks_tz_t *tz);

/* The name given to ks_tz_load ("UTC" for NULL or ""). */
const char *ks_tz_name(const ks_tz_t *tz) __attribute__((warn_unused_result));

/* UTC offset in seconds (east positive) in effect at the UTC instant t. */
int32_t ks_tz_offset(const ks_tz_t *tz, int64_t t) __attribute__((warn_unused_result));

/* Like ks_tz_offset, and also a span [*start, *end) containing t in which that offset holds without
 * a change (INT64_MIN / INT64_MAX when unbounded). A span may end where the offset stays the same,
 * so callers must not assume the next span's offset differs. */
int32_t ks_tz_span(const ks_tz_t *tz, int64_t t, int64_t *start, int64_t *end) __attribute__((warn_unused_result));

/* Civil (local) fields of instant t in tz. */
void ks_tz_civil(const ks_tz_t *tz, int64_t t, ks_civil_t *out);

/* Seconds since local midnight of instant t in tz (0..86399). */
int32_t ks_tz_second_of_day(const ks_tz_t *tz, int64_t t) __attribute__((warn_unused_result));

/* Days from 1970-01-01 to a proleptic Gregorian date (month 1-12, day 1-31; negative before 1970). */
int64_t ks_tz_days_from_civil(int64_t year, int month, int day) __attribute__((warn_unused_result));

/* Fields of a count of seconds since 1970-01-01 00:00 read as a wall clock (no zone applied). */
void ks_tz_civil_from_seconds(int64_t seconds, ks_civil_t *out);

/* Days in a month of a proleptic Gregorian year. */
int ks_tz_days_in_month(int64_t year, int month) __attribute__((warn_unused_result));

#endif
