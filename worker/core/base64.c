/* base64.c — standard base64 encoding and Go-compatible strict decoding (see ks_base64.h). */
#include "core/base64.h"

#include <stdlib.h>

#include "core/mem.h"

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
ks_base64_encode(const void *data, size_t len, size_t *outlen)
{
    const unsigned char *in = data;
    size_t               n = len / 3 * 4 + (len % 3 ? 4 : 0);
    char                *out = ks_malloc(n + 1);
    char                *o = out;
    size_t               i = 0;

    for (; i + 3 <= len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];

        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = b64_alphabet[v >> 6 & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)in[i] << 16 | (i + 1 < len ? (unsigned long)in[i + 1] << 8 : 0);

        *o++ = b64_alphabet[v >> 18 & 63];
        *o++ = b64_alphabet[v >> 12 & 63];
        *o++ = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    if (outlen)
        *outlen = n;
    return out;
}

/* The 6-bit value of a base64 digit, or -1. */
static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int
ks_base64_decode(const char *text, size_t len, unsigned char **out, size_t *outlen)
{
    unsigned char *buf = ks_malloc(len / 4 * 3 + 3);
    size_t         n = 0, i = 0;

    *out = NULL;
    *outlen = 0;
    for (;;) {
        int    q[4];
        size_t got = 0, pad = 0;

        /* gather one quantum of four characters, skipping line breaks */
        while (got < 4 && i < len) {
            unsigned char c = (unsigned char)text[i++];

            if (c == '\r' || c == '\n')
                continue;
            if (c == '=') {
                /* padding may only fill the last one or two places of a quantum */
                if (got < 2)
                    goto bad;
                q[got++] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (q[got] = b64_value(c)) < 0)
                goto bad;
            got++;
        }
        if (got == 0)
            break;
        if (got < 4)
            goto bad;
        buf[n++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
        if (pad < 2)
            buf[n++] = (unsigned char)((q[1] & 15) << 4 | q[2] >> 2);
        if (pad < 1)
            buf[n++] = (unsigned char)((q[2] & 3) << 6 | q[3]);
        if (pad > 0) {
            /* only line breaks may follow the padding */
            for (; i < len; i++)
                if (text[i] != '\r' && text[i] != '\n')
                    goto bad;
            break;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;

bad:
    free(buf);
    return -1;
}
