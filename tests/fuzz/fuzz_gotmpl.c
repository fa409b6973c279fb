/* fuzz_gotmpl.c — libFuzzer target for the Go template engine: the input's first line is a
 * template, the rest the value of `.Input` (JSON, or else taken as a string, as a data filter's
 * template gets it). Any template parses or is refused with an offset inside it; a parsed one runs
 * to an output of the length it reports or to an error, within its bounds, without leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/gotmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t         tlen = nl ? (size_t)(nl - data) : size;
    char          *text = malloc(tlen + 1), err[256], *out;
    size_t         offset = 0, outlen = 0;
    ks_gotmpl_t   *t;
    json_t        *input = NULL;

    memcpy(text, data, tlen);
    text[tlen] = '\0';
    if (nl != NULL) {
        const char *rest = (const char *)nl + 1;
        size_t      rlen = size - tlen - 1;

        input = json_loadb(rest, rlen, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
        if (input == NULL)
            input = json_stringn_nocheck(rest, rlen);
    }
    t = ks_gotmpl_parse(text, &offset, err, sizeof(err));
    if (t == NULL) {
        if (offset > strlen(text))
            abort();        /* an error position outside the template */
    } else {
        out = ks_gotmpl_exec(t, input, &outlen, err, sizeof(err));
        if (out != NULL && (strlen(out) > outlen || outlen > KS_GOTMPL_MAX_OUTPUT + (1u << 20)))
            abort();        /* a length that is not the output's, or an output past its bound */
        free(out);
        ks_gotmpl_free(t);
    }
    json_decref(input);
    free(text);
    return 0;
}
