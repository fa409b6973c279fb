/* test_event.c — CloudEvents decoding (structured and Kafka binary), sdk-go-exact encoding, Argo's
 * EventContext and whole-event JSON, and RFC 3339 time. */
#include <stdlib.h>
#include <string.h>

#include "sensor/event.h"
#include "unit.h"

/* The event Argo's webhook EventSource publishes (argo-sensor.md §3.2), byte for byte. */
static const char argo_example[] =
    "{\"specversion\":\"1.0\",\"id\":\"3f2a9c0e5b7d4e21a8f06c1d2e3b4a59\",\"source\":\"webhook\","
    "\"type\":\"webhook\","
    "\"subject\":\"example\",\"datacontenttype\":\"application/json\",\"time\":\"2026-07-18T12:00:00.123456789Z\","
    "\"data_base64\":\"eyJoZWFkZXIiOnsiQ29udGVudC1UeXBlIjpbImFwcGxpY2F0aW9uL2pzb24iXX0sImJvZHkiOnsibWVzc2FnZSI6"
    "ImhlbGxvIn19\"}";

#define HEAD "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\""
#define V1   "{\"specversion\":\"1.0\","
#define BODY "{\"header\":{\"Content-Type\":[\"application/json\"]},\"body\":{\"message\":\"hello\"}}"
#define CTX  "{\"id\":\"3f2a9c0e5b7d4e21a8f06c1d2e3b4a59\",\"source\":\"webhook\",\"specversion\":\"1.0\"," \
             "\"type\":\"webhook\",\"datacontenttype\":\"application/json\",\"subject\":\"example\"," \
             "\"time\":\"2026-07-18T12:00:00Z\"}"
#define CTX1 "{\"context\":{\"id\":\"1\",\"source\":\"s\",\"specversion\":\"1.0\",\"type\":\"t\"," \
             "\"datacontenttype\":\"\",\"subject\":\"\",\"time\":null},\"data\":"

static void
decode_ok(ks_event_t *ev, const char *text)
{
    char err[256] = "";

    ck_assert_msg(ks_event_decode(ev, text, strlen(text), err, sizeof(err)) == 0, "%s: %s", text, err);
}

/* The error message for text, which must not decode. */
static const char *
decode_err(const char *text, size_t len)
{
    static char err[256];
    ks_event_t  ev;

    ck_assert_msg(ks_event_decode(&ev, text, len, err, sizeof(err)) == -1, "decoded: %s", text);
    ck_assert_ptr_null(ev.id);
    ck_assert_ptr_null(ev.data);
    return err;
}

#define ck_assert_err(text, want) ck_assert_str_eq(decode_err(text, strlen(text)), want)

static void
encode_is(const ks_event_t *ev, const char *want)
{
    size_t n;
    char  *got = ks_event_encode(ev, &n);

    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(n, strlen(want));
    free(got);
}

/* decode(encode(ev)) must give back ev. */
static void
round_trip(const ks_event_t *ev)
{
    size_t     n;
    char      *text = ks_event_encode(ev, &n);
    ks_event_t again;
    char       err[256] = "";

    ck_assert_msg(ks_event_decode(&again, text, n, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert_msg(ks_event_equal(ev, &again), "changed by a round trip: %s", text);
    ks_event_free(&again);
    free(text);
}

static void
json_is(json_t *j, const char *want)
{
    char *got;

    ck_assert_ptr_nonnull(j);
    got = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_str_eq(got, want);
    free(got);
    json_decref(j);
}

START_TEST(test_argo_example)
{
    ks_event_t ev;

    decode_ok(&ev, argo_example);
    ck_assert_str_eq(ev.specversion, "1.0");
    ck_assert_str_eq(ev.id, "3f2a9c0e5b7d4e21a8f06c1d2e3b4a59");
    ck_assert_str_eq(ev.source, "webhook");
    ck_assert_str_eq(ev.type, "webhook");
    ck_assert_str_eq(ev.subject, "example");
    ck_assert_str_eq(ev.datacontenttype, "application/json");
    ck_assert_ptr_null(ev.dataschema);
    ck_assert_str_eq(ev.time, "2026-07-18T12:00:00.123456789Z");
    ck_assert_int_eq(ev.time_sec, 1784376000);
    ck_assert_int_eq(ev.time_nsec, 123456789);
    ck_assert(ev.data_base64);
    ck_assert_str_eq((char *)ev.data, BODY);
    ck_assert_uint_eq(ev.data_len, strlen((char *)ev.data));
    ck_assert_uint_eq(json_object_size(ev.extensions), 0);
    encode_is(&ev, argo_example);
    round_trip(&ev);
    json_is(ks_event_data_json(&ev), BODY);
    ks_event_free(&ev);
    ck_assert_ptr_null(ev.id);
    ks_event_free(&ev); /* a freed event may be freed again */
}
END_TEST

START_TEST(test_context_and_whole_event_json)
{
    ks_event_t ev;

    decode_ok(&ev, argo_example);
    json_is(ks_event_context_json(&ev), CTX);
    json_is(ks_event_argo_json(&ev), "{\"context\":" CTX ",\"data\":\"eyJoZWFkZXIiOnsiQ29udGVudC1UeXBlIjpbImFwcGxp"
                                     "Y2F0aW9uL2pzb24iXX0sImJvZHkiOnsibWVzc2FnZSI6ImhlbGxvIn19\"}");
    ks_event_free(&ev);

    /* absent strings are "", an absent time and no data are null (Go's zero values) */
    decode_ok(&ev, HEAD "}");
    json_is(ks_event_argo_json(&ev), CTX1 "null}");
    ck_assert_ptr_null(ks_event_data_json(&ev));
    ks_event_free(&ev);

    /* Go's zero time is null too, as metav1.Time writes it */
    decode_ok(&ev, HEAD ",\"time\":\"0001-01-01T00:00:00Z\",\"data_base64\":\"\"}");
    json_is(ks_event_argo_json(&ev), CTX1 "\"\"}");
    ks_event_free(&ev);
}
END_TEST

START_TEST(test_data_json)
{
    ks_event_t ev;

    /* any JSON value; white space goes, the text of numbers stays (no float or 64-bit rounding) */
    decode_ok(&ev, HEAD ",\"data\" : { \"b\" : [ 1, 2.50, \"x y\" ] , \"n\": 123456789012345678901234567890,"
                        " \"a\" : {} }\n}");
    ck_assert(!ev.data_base64);
    ck_assert_str_eq((char *)ev.data, "{\"b\":[1,2.50,\"x y\"],\"n\":123456789012345678901234567890,\"a\":{}}");
    encode_is(&ev, HEAD ",\"data\":{\"b\":[1,2.50,\"x y\"],\"n\":123456789012345678901234567890,\"a\":{}}}");
    round_trip(&ev);
    json_is(ks_event_data_json(&ev), "{\"b\":[1.0,2.5,\"x y\"],\"n\":1.2345678901234568e29,\"a\":{}}");
    ks_event_free(&ev);

    /* a scalar, an escaped key, null, and the last of duplicate members (as jansson keeps) */
    decode_ok(&ev, HEAD ",\"datacontenttype\":\"application/vnd.x+json; charset=utf-8\","
                        "\"d\\u0061ta\":\"<\\u00e9>\"}");
    ck_assert_str_eq((char *)ev.data, "\"<\\u00e9>\"");
    ks_event_free(&ev);
    decode_ok(&ev, HEAD ",\"data\":null}");
    ck_assert_str_eq((char *)ev.data, "null");
    round_trip(&ev);
    ks_event_free(&ev);
    decode_ok(&ev, HEAD ",\"data\":1,\"data\":[true]}");
    ck_assert_str_eq((char *)ev.data, "[true]");
    ks_event_free(&ev);
}
END_TEST

START_TEST(test_data_string)
{
    ks_event_t ev;

    decode_ok(&ev, HEAD ",\"datacontenttype\":\"Text/Plain; charset=utf-8\",\"data\":\"line\\none \\u0000 <&>\"}");
    ck_assert(!ev.data_base64);
    ck_assert_uint_eq(ev.data_len, 14);
    ck_assert_mem_eq(ev.data, "line\none \0 <&>", 14);
    ck_assert_ptr_null(ks_event_data_json(&ev));
    encode_is(&ev, HEAD ",\"datacontenttype\":\"Text/Plain; charset=utf-8\","
                        "\"data\":\"line\\none \\u0000 \\u003c\\u0026\\u003e\"}");
    round_trip(&ev);
    ks_event_free(&ev);

    ck_assert_err(HEAD ",\"datacontenttype\":\"text/plain\",\"data\":{\"a\":1}}",
                  "data must be a string when datacontenttype is 'text/plain', not an object");
}
END_TEST

START_TEST(test_data_base64)
{
    ks_event_t ev;

    decode_ok(&ev, HEAD ",\"datacontenttype\":\"application/octet-stream\",\"data_base64\":\"AP8=\\r\\n\"}");
    ck_assert(ev.data_base64);
    ck_assert_uint_eq(ev.data_len, 2);
    ck_assert_mem_eq(ev.data, "\x00\xff", 2);
    encode_is(&ev, HEAD ",\"datacontenttype\":\"application/octet-stream\",\"data_base64\":\"AP8=\"}");
    round_trip(&ev);
    ks_event_free(&ev);

    ck_assert_err(HEAD ",\"data\":{},\"data_base64\":\"e30=\"}", "the event has both data and data_base64");
    ck_assert_err(HEAD ",\"data_base64\":\"e30\"}", "data_base64 is not valid base64");
    ck_assert_err(HEAD ",\"data_base64\":\"e3!=\"}", "data_base64 is not valid base64");
    ck_assert_err(HEAD ",\"data_base64\":null}", "attribute 'data_base64' must be a string, not null");
}
END_TEST

static const char *const missing[][2] = {
    { "{\"id\":\"1\",\"source\":\"s\",\"type\":\"t\"}", "missing required attribute 'specversion'" },
    { V1 "\"source\":\"s\",\"type\":\"t\"}", "missing required attribute 'id'" },
    { V1 "\"id\":\"1\",\"type\":\"t\"}", "missing required attribute 'source'" },
    { V1 "\"id\":\"1\",\"source\":\"s\"}", "missing required attribute 'type'" },
    { V1 "\"id\":7,\"source\":\"s\",\"type\":\"t\"}", "attribute 'id' must be a string, not a number" },
    { V1 "\"id\":\"\",\"source\":\"s\",\"type\":\"t\"}", "attribute 'id' must not be empty" },
    { V1 "\"id\":\"1\",\"source\":null,\"type\":\"t\"}", "attribute 'source' must be a string, not null" },
    { V1 "\"id\":\"1\",\"source\":\"s\",\"type\":[]}", "attribute 'type' must be a string, not an array" },
    { "{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\"}",
      "specversion '0.3' is not supported (only 1.0 is)" },
    { "{\"specversion\":1.0,\"id\":\"1\",\"source\":\"s\",\"type\":\"t\"}",
      "attribute 'specversion' must be a string, not a number" },
    { HEAD ",\"subject\":{}}", "attribute 'subject' must be a string, not an object" },
    { HEAD ",\"datacontenttype\":true}", "attribute 'datacontenttype' must be a string, not a boolean" },
    { HEAD ",\"id\":\"a\\u0000b\"}", "attribute 'id' contains a NUL character" },
    { HEAD ",\"time\":\"yesterday\"}", "time 'yesterday' is not RFC 3339" },
    { "[" HEAD "}]", "not a CloudEvent: the JSON text is an array, not an object" },
    { V1 "\"id\":\"1\"", "not JSON: '}' expected near end of file (line 1, column 29)" },
    { HEAD "} x", "not JSON: end of file expected near 'x' (line 1, column 56)" },
    { "\xff\xfe garbage", "not JSON: unable to decode byte 0xff (line 1, column 0)" },
    { HEAD ",\"x\":1e400}", "not JSON: real number overflow near '1e400' (line 1, column 63)" },
    { HEAD ",\"ID\":\"2\"}", "attribute 'ID' must be written 'id'" },
    { HEAD ",\"my-ext\":\"x\"}", "attribute name 'my-ext' is not valid (only ASCII letters and digits)" },
    { HEAD ",\"\":\"x\"}", "attribute name '' is not valid (1 to 255 letters and digits)" },
    { HEAD ",\"foo\":1,\"FOO\":2}", "attribute 'foo' is given twice (names ignore case)" },
    { HEAD ",\"big\":3000000000}", "attribute 'big' is out of range (integers are 32-bit)" },
    { HEAD ",\"obj\":{\"a\":1}}", "attribute 'obj' must be a string, number or boolean, not an object" },
};

START_TEST(test_errors)
{
    ck_assert_err(missing[_i][0], missing[_i][1]);
}
END_TEST

START_TEST(test_garbage)
{
    static const char bytes[] = "\0\x01\x02{\"specversion\":\"1.0\"\xc3\x28}";

    ck_assert_str_eq(decode_err("", 0), "not JSON: the record is empty");
    ck_assert_str_eq(decode_err(bytes, sizeof(bytes) - 1), "not JSON: a NUL byte at offset 0");
    ck_assert_str_eq(decode_err(HEAD "}\0", sizeof(HEAD) + 1), "not JSON: a NUL byte at offset 54");
    ck_assert_int_eq(strncmp(decode_err(bytes + 3, sizeof(bytes) - 4), "not JSON: ", 10), 0);
    ck_assert_int_eq(strncmp(decode_err("{\"a\":\"\xc0\xaf\"}", 11), "not JSON: ", 10), 0);
    ck_assert_int_eq(strncmp(decode_err("   ", 3), "not JSON: ", 10), 0);
}
END_TEST

START_TEST(test_extensions)
{
    ks_event_t ev;

    decode_ok(&ev, HEAD ",\"zeta\":\"z<\",\"alpha\":-7,\"Beta\":true,\"gone\":null,\"num\":2.9,"
                        "\"partitionkey\":\"\"}");
    json_is(json_incref(ev.extensions),
            "{\"zeta\":\"z<\",\"alpha\":-7,\"beta\":true,\"num\":2,\"partitionkey\":\"\"}");
    encode_is(&ev, HEAD ",\"alpha\":-7,\"beta\":true,\"num\":2,\"partitionkey\":\"\",\"zeta\":\"z\\u003c\"}");
    round_trip(&ev);
    ks_event_free(&ev);
}
END_TEST

START_TEST(test_go_escaping)
{
    ks_event_t ev;

    decode_ok(&ev, HEAD ",\"subject\":\"a<b>&\\u2028\\u2029\\u0001\\b\\f\\\"\\\\\\/\\t\\r\\n"
                        "\\u00e9\xe2\x82\xac\"}");
    encode_is(&ev, HEAD ",\"subject\":\"a\\u003cb\\u003e\\u0026\\u2028\\u2029\\u0001\\u0008\\u000c\\\"\\\\/"
                        "\\t\\r\\n"
                        "\xc3\xa9\xe2\x82\xac\"}");
    round_trip(&ev);
    ks_event_free(&ev);
}
END_TEST

static const struct {
    const char *text;
    long long   sec;
    int         nsec;
    const char *go; /* how sdk-go writes it back */
} times[] = {
    { "1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z" },
    { "2026-07-18T14:00:00.5+02:00", 1784376000, 500000000, "2026-07-18T12:00:00.5Z" },
    { "2026-07-18T06:30:00.000100-05:30", 1784376000, 100000, "2026-07-18T12:00:00.0001Z" },
    { "2026-07-18T12:00:00.1234567891234Z", 1784376000, 123456789, "2026-07-18T12:00:00.123456789Z" },
    { "2026-07-18T12:00:00.000000000-00:00", 1784376000, 0, "2026-07-18T12:00:00Z" },
    { "2024-02-29T00:00:00Z", 1709164800, 0, "2024-02-29T00:00:00Z" },
    { "2024-03-01T01:00:00+02:00", 1709247600, 0, "2024-02-29T23:00:00Z" },
    { "0001-01-01T00:00:00Z", -62135596800LL, 0, "0001-01-01T00:00:00Z" },
    { "0000-01-01T00:00:00Z", -62167219200LL, 0, "0000-01-01T00:00:00Z" },
    { "9999-12-31T23:59:59.999999999Z", 253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z" },
    { "2000-03-01T00:30:00+01:00", 951867000, 0, "2000-02-29T23:30:00Z" },
};

START_TEST(test_time)
{
    char       text[256], want[256];
    ks_event_t ev;

    snprintf(text, sizeof(text), HEAD ",\"time\":\"%s\"}", times[_i].text);
    snprintf(want, sizeof(want), HEAD ",\"time\":\"%s\"}", times[_i].go);
    decode_ok(&ev, text);
    ck_assert_str_eq(ev.time, times[_i].text);
    ck_assert_int_eq(ev.time_sec, times[_i].sec);
    ck_assert_int_eq(ev.time_nsec, times[_i].nsec);
    encode_is(&ev, want);
    round_trip(&ev);
    ks_event_free(&ev);
}
END_TEST

static const char *const bad_times[] = {
    "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-07-18 12:00:00Z",  "2026-07-18t12:00:00Z",
    "2026-07-18T12:00:00z", "2026-07-18T24:00:00Z", "2026-07-18T12:60:00Z",  "2026-07-18T12:00:60Z",
    "2026-07-18T12:00:00",  "2026-07-18T12:00:00.Z", "2026-07-18T12:00:00+0200", "2026-07-18T12:00:00+24:00",
    "2026-13-18T12:00:00Z", "2026-00-18T12:00:00Z", "2026-07-00T12:00:00Z",  "+026-07-18T12:00:00Z",
    "2026-07-18T12:00:00Zx", "2026-07-18T12:00:00+02:60", "26-07-18T12:00:00Z",
};

START_TEST(test_bad_time)
{
    char text[256], want[256];

    snprintf(text, sizeof(text), HEAD ",\"time\":\"%s\"}", bad_times[_i]);
    snprintf(want, sizeof(want), "time '%s' is not RFC 3339", bad_times[_i]);
    ck_assert_err(text, want);
}
END_TEST

START_TEST(test_time_range)
{
    ck_assert_err(HEAD ",\"time\":\"9999-12-31T23:59:59-01:00\"}",
                  "time '9999-12-31T23:59:59-01:00' is not in the years 0000-9999");
    ck_assert_err(HEAD ",\"time\":\"0000-01-01T00:00:00+00:01\"}",
                  "time '0000-01-01T00:00:00+00:01' is not in the years 0000-9999");
}
END_TEST

START_TEST(test_optional_empty)
{
    ks_event_t ev;

    /* "" and null mean absent, as sdk-go reads them */
    decode_ok(&ev, HEAD ",\"subject\":\"\",\"datacontenttype\":null,\"dataschema\":\"\",\"time\":\"\"}");
    ck_assert_ptr_null(ev.subject);
    ck_assert_ptr_null(ev.datacontenttype);
    ck_assert_ptr_null(ev.dataschema);
    ck_assert_ptr_null(ev.time);
    ck_assert_int_eq(ev.time_sec, INT64_MIN);
    encode_is(&ev, HEAD "}");
    ks_event_free(&ev);

    decode_ok(&ev, HEAD ",\"dataschema\":\"https://example.com/s.json\"}");
    encode_is(&ev, HEAD ",\"dataschema\":\"https://example.com/s.json\"}");
    ks_event_free(&ev);
}
END_TEST

#define H(n, v) { n, v, sizeof(v) - 1 }

START_TEST(test_binary)
{
    ks_event_header_t headers[] = {
        H("ce_specversion", "1.0"),
        H("CE_ID", "abc"),
        H("ce_source", "/orders"),
        H("ce_type", "order.created"),
        H("ce_subject", "o-1"),
        H("ce_time", "2026-07-18T13:00:00+01:00"),
        H("content-type", "application/json; charset=utf-8"),
        H("ce_TraceParent", "00-1"),
        H("dependencyName", "dep"),
        H("ce_partitionkey", "k1"),
        H("ce_partitionkey", "k2"),
    };
    static const char value[] = " { \"order\" : 1 } ";
    ks_event_t        ev;
    char              err[256] = "";

    ck_assert(ks_event_is_binary(headers, 11));
    ck_assert(!ks_event_is_binary(headers + 1, 10));
    ck_assert_msg(ks_event_decode_binary(&ev, headers, 11, value, sizeof(value) - 1, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_str_eq(ev.id, "abc");
    ck_assert_str_eq(ev.datacontenttype, "application/json; charset=utf-8");
    ck_assert_int_eq(ev.time_sec, 1784376000);
    ck_assert(!ev.data_base64);
    ck_assert_str_eq((char *)ev.data, "{\"order\":1}");
    encode_is(&ev, "{\"specversion\":\"1.0\",\"id\":\"abc\",\"source\":\"/orders\",\"type\":\"order.created\","
                   "\"subject\":\"o-1\",\"datacontenttype\":\"application/json; charset=utf-8\","
                   "\"time\":\"2026-07-18T12:00:00Z\",\"data\":{\"order\":1},\"partitionkey\":\"k2\","
                   "\"traceparent\":\"00-1\"}");
    round_trip(&ev);
    ks_event_free(&ev);

    /* a structured-mode content type wins over ce_ headers, as in sdk-go */
    headers[6] = (ks_event_header_t)H("Content-Type", "application/cloudevents+json");
    ck_assert(!ks_event_is_binary(headers, 11));
}
END_TEST

START_TEST(test_binary_data_forms)
{
    ks_event_header_t headers[] = {
        H("ce_specversion", "1.0"), H("ce_id", "1"), H("ce_source", "s"), H("ce_type", "t"),
        H("ce_datacontenttype", "text/plain"),
    };
    ks_event_t ev;
    char       err[256] = "";

    /* not UTF-8 under a text type: only data_base64 can carry it */
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "\xff\x00", 2, err, sizeof(err)), 0);
    ck_assert(ev.data_base64);
    encode_is(&ev, HEAD ",\"datacontenttype\":\"text/plain\",\"data_base64\":\"/wA=\"}");
    round_trip(&ev);
    ks_event_free(&ev);

    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "plain", 5, err, sizeof(err)), 0);
    ck_assert(!ev.data_base64);
    encode_is(&ev, HEAD ",\"datacontenttype\":\"text/plain\",\"data\":\"plain\"}");
    ks_event_free(&ev);

    /* not JSON under a JSON type (none given means JSON); a null value is no data, empty is empty */
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 4, "{oops", 5, err, sizeof(err)), 0);
    ck_assert(ev.data_base64);
    encode_is(&ev, HEAD ",\"data_base64\":\"e29vcHM=\"}");
    round_trip(&ev);
    ks_event_free(&ev);
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 4, "{\"a\":5\0}", 8, err, sizeof(err)), 0);
    ck_assert(ev.data_base64); /* jansson would take the NUL for the end of the text */
    ck_assert_ptr_null(ks_event_data_json(&ev));
    round_trip(&ev);
    ks_event_free(&ev);
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 4, NULL, 0, err, sizeof(err)), 0);
    ck_assert_ptr_null(ev.data);
    encode_is(&ev, HEAD "}");
    ks_event_free(&ev);
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 4, "", 0, err, sizeof(err)), 0);
    encode_is(&ev, HEAD ",\"data_base64\":\"\"}");
    round_trip(&ev);
    ks_event_free(&ev);
}
END_TEST

START_TEST(test_binary_errors)
{
    ks_event_header_t headers[] = {
        H("ce_specversion", "1.0"), H("ce_id", "1"), H("ce_source", "s"), H("ce_type", "t"), H("x", "y"),
    };
    ks_event_t ev;
    char       err[256];

    headers[1] = (ks_event_header_t)H("ce_idx", "1");
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "missing required header 'ce_id'");
    ck_assert_ptr_null(ev.specversion);
    headers[1] = (ks_event_header_t){ "ce_id", NULL, 0 };
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "header 'ce_id' must not be empty");
    headers[1] = (ks_event_header_t)H("ce_id", "\xc3");
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "header 'ce_id' is not UTF-8 text");
    headers[1] = (ks_event_header_t)H("ce_id", "1");
    headers[4] = (ks_event_header_t)H("ce_time", "noon");
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "ce_time 'noon' is not RFC 3339");
    headers[4] = (ks_event_header_t)H("ce_my-ext", "1");
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "attribute name 'my-ext' is not valid (only ASCII letters and digits)");
    headers[4] = (ks_event_header_t)H("ce_data", "1");
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 5, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "'data' cannot be an extension attribute");
    headers[0] = (ks_event_header_t)H("ce_specversion", "0.3");
    ck_assert_int_eq(ks_event_decode_binary(&ev, headers, 4, "{}", 2, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "specversion '0.3' is not supported (only 1.0 is)");
}
END_TEST

/* Events as sdk-go writes them come back from encode byte for byte. */
static const char *const go_texts[] = {
    HEAD "}",
    HEAD ",\"data\":{\"a\":[1,2,{\"b\":null}]}}",
    HEAD ",\"subject\":\"x\",\"datacontenttype\":\"text/plain\",\"dataschema\":\"urn:s\","
         "\"time\":\"2026-01-02T03:04:05.06Z\","
         "\"data\":\"hi \\\"there\\\"\",\"a1\":false,\"b2\":\"v\",\"c3\":2147483647,\"d4\":-2147483648}",
    HEAD ",\"datacontenttype\":\"application/cloudevents+json\",\"data\":\"str\"}",
    HEAD ",\"datacontenttype\":\"image/png\",\"data_base64\":\"iVBORw0KGgo=\"}",
    HEAD ",\"datacontenttype\":\"application/json\",\"data_base64\":\"bm90IGpzb24=\"}",
};

START_TEST(test_go_round_trip)
{
    ks_event_t ev;

    decode_ok(&ev, go_texts[_i]);
    encode_is(&ev, go_texts[_i]);
    round_trip(&ev);
    ks_event_free(&ev);
}
END_TEST

START_TEST(test_equal)
{
    ks_event_t a, b;

    decode_ok(&a, HEAD ",\"time\":\"2026-07-18T14:00:00+02:00\",\"data\":[1],\"x\":\"1\"}");
    decode_ok(&b, HEAD ",\"time\":\"2026-07-18T12:00:00Z\",\"data\":[ 1 ],\"x\":\"1\"}");
    ck_assert(ks_event_equal(&a, &b));
    ks_event_free(&b);
    decode_ok(&b, HEAD ",\"time\":\"2026-07-18T12:00:00Z\",\"data\":[1],\"x\":1}");
    ck_assert(!ks_event_equal(&a, &b));
    ks_event_free(&b);
    decode_ok(&b, HEAD ",\"time\":\"2026-07-18T12:00:00Z\",\"data_base64\":\"WzFd\",\"x\":\"1\"}");
    ck_assert(!ks_event_equal(&a, &b));
    ks_event_free(&b);
    ks_event_free(&a);
}
END_TEST

Suite *
suite_event(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("event");

    tcase_add_test(tc, test_argo_example);
    tcase_add_test(tc, test_context_and_whole_event_json);
    tcase_add_test(tc, test_data_json);
    tcase_add_test(tc, test_data_string);
    tcase_add_test(tc, test_data_base64);
    tcase_add_loop_test(tc, test_errors, 0, sizeof(missing) / sizeof(missing[0]));
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_extensions);
    tcase_add_test(tc, test_go_escaping);
    tcase_add_loop_test(tc, test_time, 0, sizeof(times) / sizeof(times[0]));
    tcase_add_loop_test(tc, test_bad_time, 0, sizeof(bad_times) / sizeof(bad_times[0]));
    tcase_add_test(tc, test_time_range);
    tcase_add_test(tc, test_optional_empty);
    tcase_add_test(tc, test_binary);
    tcase_add_test(tc, test_binary_data_forms);
    tcase_add_test(tc, test_binary_errors);
    tcase_add_loop_test(tc, test_go_round_trip, 0, sizeof(go_texts) / sizeof(go_texts[0]));
    tcase_add_test(tc, test_equal);
    suite_add_tcase(s, tc);
    return s;
}
