/* fuzz_cond.c — libFuzzer target for the condition parser: any text compiles or fails cleanly, and a
 * compiled condition evaluates for every held set without reading out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/cond.h"

static const char *const deps[] = { "a", "b", "c", "dep-1", "dep.2", "x_y" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char      *text = malloc(size + 1);
    char       err[256];
    size_t     where = 0;
    ks_cond_t *cond;

    memcpy(text, data, size);
    text[size] = '\0';
    cond = ks_cond_compile(text, deps, 6, err, sizeof(err), &where);
    if (cond == NULL) {
        if (where > strlen(text))
            abort();        /* an error position outside the text */
    } else {
        for (unsigned mask = 0; mask < 64; mask++) {
            bool held[6];

            for (int i = 0; i < 6; i++)
                held[i] = (mask >> i) & 1;
            (void)ks_cond_eval(cond, held);
        }
        ks_cond_free(cond);
    }
    free(text);
    return 0;
}
