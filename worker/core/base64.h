/* base64.h — standard base64 (RFC 4648 §4, with padding), as Go's base64.StdEncoding reads and writes it.
 *
 * CloudEvents carry binary data as "data_base64", and Argo's whole-event parameter form carries the data
 * as base64; both are produced by Go, so decoding follows Go exactly: padding is required, CR and LF are
 * skipped anywhere, nothing but line breaks may follow the padding, and unused trailing bits need not be
 * zero ("QR==" decodes like "QQ=="). */
#ifndef KS_CORE_BASE64_H
#define KS_CORE_BASE64_H

#include <stddef.h>

/* The base64 text of len bytes: malloc'd, NUL-terminated; *outlen (if not NULL) gets its length. */
char *ks_base64_encode(const void *data, size_t len, size_t *outlen)
    __attribute__((returns_nonnull, warn_unused_result));

/* Decodes len characters of text into *out (malloc'd, NUL-terminated for convenience) and *outlen.
 * Returns 0, or -1 on malformed input with *out = NULL and *outlen = 0. */
int ks_base64_decode(const char *text, size_t len, unsigned char **out, size_t *outlen)
    __attribute__((warn_unused_result));

#endif
