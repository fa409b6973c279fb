/* diag.c — collected file:line:column diagnostics (see diag.h). */
#include "core/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"

static void
diag_push(ks_diag_t *diag, char *msg, ks_diag_pos_t pos)
{
    if (diag->n == diag->cap) {
        diag->cap = diag->cap ? diag->cap * 2 : 8;
        diag->msgs = ks_realloc(diag->msgs, diag->cap * sizeof(*diag->msgs));
        diag->pos = ks_realloc(diag->pos, diag->cap * sizeof(*diag->pos));
    }
    diag->msgs[diag->n] = msg;
    diag->pos[diag->n] = pos;
    diag->n++;
}

void
ks_diag_at(ks_diag_t *diag, const char *file, unsigned line, unsigned column, const char *fmt, ...)
{
    char    text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);

    if (line > 0)
        diag_push(diag, ks_asprintf("%s:%u:%u: %s", file, line, column, text),
                  (ks_diag_pos_t){ line, column });
    else
        diag_push(diag, ks_asprintf("%s: %s", file, text), (ks_diag_pos_t){ 0, 0 });
}

void
ks_diag_move(ks_diag_t *dst, ks_diag_t *src)
{
    for (size_t i = 0; i < src->n; i++)
        diag_push(dst, src->msgs[i], src->pos[i]);
    free(src->msgs);
    free(src->pos);
    *src = (ks_diag_t){0};
}

static int
pos_before(ks_diag_pos_t a, ks_diag_pos_t b)
{
    return a.line < b.line || (a.line == b.line && a.column < b.column);
}

void
ks_diag_sort(ks_diag_t *diag)
{
    /* insertion sort: lists are short, and it keeps equal positions in their order */
    for (size_t i = 1; i < diag->n; i++) {
        char          *msg = diag->msgs[i];
        ks_diag_pos_t  pos = diag->pos[i];
        size_t         j = i;

        for (; j > 0 && pos_before(pos, diag->pos[j - 1]); j--) {
            diag->msgs[j] = diag->msgs[j - 1];
            diag->pos[j] = diag->pos[j - 1];
        }
        diag->msgs[j] = msg;
        diag->pos[j] = pos;
    }
}

void
ks_diag_free(ks_diag_t *diag)
{
    for (size_t i = 0; i < diag->n; i++)
        free(diag->msgs[i]);
    free(diag->msgs);
    free(diag->pos);
    *diag = (ks_diag_t){0};
}

void
ks_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
