/* diag.h — a list of diagnostics for a person to read, each "file:line:column: message".
 *
 * Loaders (daemon configuration, sensor manifests) collect every problem they find instead of
 * stopping at the first one, so `ksensord -t` and a failed reload can report them all at once. */
#ifndef KS_CORE_DIAG_H
#define KS_CORE_DIAG_H

#include <stddef.h>

typedef struct ks_diag_pos {
    unsigned line;
    unsigned column;
} ks_diag_pos_t;

typedef struct ks_diag {
    char          **msgs;
    ks_diag_pos_t  *pos;
    size_t          n;
    size_t          cap;
} ks_diag_t;

/* Appends "file:line:column: message"; line and column are 1-based, 0 leaves them out. */
void ks_diag_at(ks_diag_t *diag, const char *file, unsigned line, unsigned column,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Moves every message of src to the end of dst and leaves src empty. */
void ks_diag_move(ks_diag_t *dst, ks_diag_t *src);

/* Orders the messages by line and column (stable), so a file's problems read top to bottom. */
void ks_diag_sort(ks_diag_t *diag);

void ks_diag_free(ks_diag_t *diag);

/* Formats a one-sentence message into a caller's buffer (err may be NULL or errlen 0: nothing). */
void ks_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
