/* mem.c — allocation wrappers that abort on exhaustion (see mem.h). */
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noreturn))
mem_exhausted(size_t size)
{
    char msg[96];
    int  len = snprintf(msg, sizeof(msg), "ksensor: out of memory allocating %zu bytes\n", size);

    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0) {
        /* nothing more can be done */
    }
    abort();
}

void *
ks_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        mem_exhausted(size);
    return p;
}

void *
ks_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        mem_exhausted(n * size);
    return p;
}

void *
ks_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        mem_exhausted(size);
    return p;
}

char *
ks_strdup(const char *s)
{
    return ks_strndup(s, strlen(s));
}

char *
ks_strndup(const char *s, size_t n)
{
    char *p = ks_malloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
ks_asprintf(const char *fmt, ...)
{
    va_list ap;
    char   *p;
    int     len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        abort();

    p = ks_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return p;
}
