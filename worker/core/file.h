/* file.h — reading a small file whole (a token, a manifest, a source object). */
#ifndef KS_CORE_FILE_H
#define KS_CORE_FILE_H

#include <stddef.h>

/* The content of path, NUL-terminated (malloc'd; its length in *len when len is not NULL), or NULL
 * with a sentence in err when it cannot be read or holds more than max bytes. */
char *ks_read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
