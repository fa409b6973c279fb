/* crash.h — injected crashes for tests: KSENSOR_CRASH_AT=<point>:<n> makes the worker _exit(99)
 * the n-th time it passes the named point (after-consume, after-sqlite-apply, before-kafka-commit,
 * after-kafka-commit, before-sqlite-commit, after-sqlite-commit, after-action). Unset: no effect. */
#ifndef KS_PIPELINE_CRASH_H
#define KS_PIPELINE_CRASH_H

void ks_crash_init(void);
void ks_crash_point(const char *point);

#endif
