/* json_out.c — writing JSON text without building a document (see json_out.h). */
#include "core/json_out.h"

void
ks_json_put_string(FILE *f, const char *s)
{
    putc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            putc(c, f);
    }
    putc('"', f);
}
