/* cond.h — trigger conditions: `&&`, `||` and parentheses over dependency names.
 *
 * A condition is compiled once when a sensor loads, into postfix form over dependency indexes, and
 * evaluated for a set of held dependencies without allocating. `&&` binds tighter than `||`, both
 * associate left (Argo's govaluate precedence). An empty condition is the AND of all dependencies. */
#ifndef KS_SENSOR_COND_H
#define KS_SENSOR_COND_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ks_cond ks_cond_t;

/* Compiles text against the declared dependency names. On error returns NULL, writes one sentence
 * to err and the 0-based offset of the problem in text to *where. */
ks_cond_t *ks_cond_compile(const char *text, const char *const *deps, size_t ndeps, char *err,
                           size_t errlen, size_t *where) __attribute__((warn_unused_result));
void ks_cond_free(ks_cond_t *cond);

/* held[i] tells whether an event is held for dependency i. */
bool ks_cond_eval(const ks_cond_t *cond, const bool *held);

/* A condition without `&&` fires on each matching event and keeps no state (Argo's OneAndDone). */
bool ks_cond_has_and(const ks_cond_t *cond);

/* Whether dependency i appears in the condition. */
bool ks_cond_uses(const ks_cond_t *cond, size_t dep);

#endif
