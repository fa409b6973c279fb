/* fuzz_event.c — libFuzzer target for CloudEvents decoding: any bytes decode or fail cleanly, and a
 * decoded event survives encode → decode unchanged (and encodes to the same text again). The same bytes
 * are also read as Kafka binary mode: "name:value" header lines, an empty line, then the record value,
 * and the strict JSON scanner must accept exactly what jansson accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/json_scan.h"
#include "sensor/event.h"

#define MAX_HEADERS 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* decode(encode(ev)) must equal ev, and encoding that again must give the same text. */
static void
check_round_trip(const ks_event_t *ev)
{
    size_t     n, n2;
    char      *text = ks_event_encode(ev, &n), *text2, err[256];
    ks_event_t again;
    json_t    *j;

    if (ks_event_decode(&again, text, n, err, sizeof(err)) != 0) {
        fprintf(stderr, "re-decoding failed: %s\n%s\n", err, text);
        abort();
    }
    if (!ks_event_equal(ev, &again)) {
        fprintf(stderr, "round trip changed the event:\n%s\n", text);
        abort();
    }
    text2 = ks_event_encode(&again, &n2);
    if (n != n2 || memcmp(text, text2, n) != 0) {
        fprintf(stderr, "encoding is not stable:\n%s\n%s\n", text, text2);
        abort();
    }
    j = ks_event_argo_json(ev);
    free(json_dumps(j, JSON_COMPACT));
    json_decref(j);
    json_decref(ks_event_data_json(ev));
    ks_event_free(&again);
    free(text);
    free(text2);
}

static void
fuzz_binary(const uint8_t *data, size_t size)
{
    ks_event_header_t headers[MAX_HEADERS];
    char             *names[MAX_HEADERS];
    size_t            n = 0, i = 0;
    const void       *value = NULL;
    char              err[256];
    ks_event_t        ev;

    while (i < size && n < MAX_HEADERS) {
        const uint8_t *line = data + i, *nl = memchr(line, '\n', size - i), *colon;
        size_t         len = nl ? (size_t)(nl - line) : size - i;

        i += len + (nl != NULL);
        if (len == 0) {
            value = data + i;
            break;
        }
        colon = memchr(line, ':', len);
        names[n] = strndup((const char *)line, colon ? (size_t)(colon - line) : len);
        headers[n].name = names[n];
        headers[n].value = colon ? colon + 1 : NULL;
        headers[n].len = colon ? len - (size_t)(colon - line) - 1 : 0;
        n++;
    }
    (void)ks_event_is_binary(headers, n);
    if (ks_event_decode_binary(&ev, headers, n, value, value ? size - i : 0, err, sizeof(err)) == 0) {
        check_round_trip(&ev);
        ks_event_free(&ev);
    }
    for (size_t k = 0; k < n; k++)
        free(names[k]);
}

static void
fuzz_base64(const uint8_t *data, size_t size)
{
    unsigned char *bytes, *again;
    size_t         n, n2;
    char          *text;

    if (ks_base64_decode((const char *)data, size, &bytes, &n) != 0)
        return;
    text = ks_base64_encode(bytes, n, NULL);
    if (ks_base64_decode(text, strlen(text), &again, &n2) != 0 || n2 != n || memcmp(bytes, again, n) != 0)
        abort();
    free(again);
    free(text);
    free(bytes);
}

/* The scanner and jansson (with the flags events use) agree on what is valid JSON. */
static void
fuzz_scanner(const uint8_t *data, size_t size)
{
    ks_json_member_t m[8];
    size_t           n;
    int              scanned;
    json_t          *j;

    if (size == 0 || memchr(data, '\0', size) != NULL)
        return;     /* jansson stops at a NUL byte; decoding refuses it before either runs */
    scanned = ks_json_scan_object((const char *)data, size, m, 8, &n);
    j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
    if ((scanned >= 0) != (j != NULL)) {
        fprintf(stderr, "scanner says %d, jansson %s: %.*s\n", scanned, j ? "valid" : "invalid", (int)size,
                (const char *)data);
        abort();
    }
    if (scanned == 0 && !json_is_object(j))
        abort();
    json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char       err[256] = "";
    ks_event_t ev;

    if (ks_event_decode(&ev, data, size, err, sizeof(err)) == 0) {
        check_round_trip(&ev);
        ks_event_free(&ev);
    } else if (err[0] == '\0' || ev.id || ev.data) {
        abort(); /* a failure says why and leaves nothing behind */
    }
    fuzz_scanner(data, size);
    fuzz_binary(data, size);
    fuzz_base64(data, size);
    return 0;
}
