/* mem.h — allocation that never returns NULL.
 *
 * Running out of memory is not a condition a worker can recover from in a useful way: the process
 * aborts and the supervisor respawns it. Every other module may therefore assume success. */
#ifndef KS_CORE_MEM_H
#define KS_CORE_MEM_H

#include <stddef.h>

void *ks_malloc(size_t size) __attribute__((malloc, returns_nonnull));
void *ks_calloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *ks_realloc(void *ptr, size_t size) __attribute__((returns_nonnull));
char *ks_strdup(const char *s) __attribute__((malloc, returns_nonnull));
char *ks_strndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
char *ks_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

#endif
