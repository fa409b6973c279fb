/* ctl_table.c — tables for people: columns padded to their widest cell, the last one left free. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

void
ctl_table_add(ctl_table_t *t, const char *const *cells)
{
    json_t *row = json_array();

    for (size_t i = 0; i < t->ncols; i++) {
        size_t len = strlen(cells[i]);

        json_array_append_new(row, json_string(cells[i]));
        if (len > t->width[i])
            t->width[i] = len;
    }
    json_array_append_new(t->rows, row);
}

void
ctl_table_print(const ctl_table_t *t)
{
    size_t  i;
    json_t *row;

    json_array_foreach(t->rows, i, row) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = json_string_value(json_array_get(row, c));

            if (c + 1 < t->ncols)
                printf("%-*s  ", (int)t->width[c], cell);
            else
                printf("%s\n", cell);
        }
    }
}
