/* file.c — reading a small file whole (see file.h). */
#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

char *
ks_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE  *fp = fopen(path, "rb");
    char  *text = NULL;
    size_t used = 0, cap = 0, n;
    int    failed;

    if (fp == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (used + 4096 + 1 > cap)
            text = ks_realloc(text, cap = 2 * cap + 4096 + 1);
        n = fread(text + used, 1, cap - used - 1, fp);
        used += n;
    } while (n > 0 && used <= max);
    failed = ferror(fp);
    fclose(fp);
    if (failed || used > max) {
        if (failed)
            snprintf(err, errlen, "cannot read %s", path);
        else
            snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
        free(text);
        return NULL;
    }
    text[used] = '\0';
    if (len != NULL)
        *len = used;
    return text;
}
