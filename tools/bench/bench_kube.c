/* bench_kube.c — the baseline of the k8s bench: a plain libcurl loop that creates N Workflows on an
 * API server, K requests in flight at a time (as K k8s triggers of ksensord each have one),
 * keep-alive connections, the same TLS and token; prints creates per second. Each Workflow has
 * the shape of the ones ksensord creates for the bench's sensor (a name instead of generateName,
 * Argo's three labels, the firing annotation), so that the API server does the same work for both.
 *   bench_kube SERVER TOKEN_FILE CA_FILE NAMESPACE N K */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static size_t
discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

/* The body of the i-th create, as ksensord would send it. */
static void
set_body(CURL *e, long i)
{
    char body[1024];

    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"name\":\"loop-%010ld\","
             "\"labels\":{\"events.argoproj.io/sensor\":\"s1\",\"events.argoproj.io/trigger\":\"create\","
             "\"events.argoproj.io/action-timestamp\":\"%lld\"},\"annotations\":{\"ksensor.io/firing\":"
             "\"s1/create@k8sevents/0/%ld\"}},\"spec\":{\"entrypoint\":\"main\"}}",
             i, (long long)time(NULL) * 1000, i);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
}

static CURL *
create(const char *url, const char *ca, struct curl_slist *headers, long i)
{
    CURL *e = curl_easy_init();

    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    set_body(e, i);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    return e;
}

int
main(int argc, char **argv)
{
    char               token[4096], url[1024], auth[4200];
    struct curl_slist *headers = NULL;
    struct timespec    t0, t1;
    FILE              *fp;
    CURLM             *multi;
    long               n, k, started = 0, done = 0, failed = 0;

    if (argc != 7) {
        fprintf(stderr, "usage: bench_kube SERVER TOKEN_FILE CA_FILE NAMESPACE N K\n");
        return 2;
    }
    if ((fp = fopen(argv[2], "r")) == NULL || fgets(token, sizeof(token), fp) == NULL) {
        perror(argv[2]);
        return 1;
    }
    fclose(fp);
    token[strcspn(token, "\r\n")] = '\0';
    n = atol(argv[5]);
    k = atol(argv[6]);
    snprintf(url, sizeof(url), "%s/apis/argoproj.io/v1alpha1/namespaces/%s/workflows", argv[1], argv[4]);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi = curl_multi_init();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; started < k && started < n; started++)
        curl_multi_add_handle(multi, create(url, argv[3], headers, started));
    while (done < n) {
        int      running, left;
        CURLMsg *m;

        curl_multi_perform(multi, &running);
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            long status = 0;

            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            failed += status != 201;
            done++;
            /* the next create on the same handle: its connection stays open */
            curl_multi_remove_handle(multi, m->easy_handle);
            if (started < n) {
                set_body(m->easy_handle, started);
                curl_multi_add_handle(multi, m->easy_handle);
                started++;
            } else {
                curl_easy_cleanup(m->easy_handle);
            }
        }
        if (done < n)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (failed > 0)
        fprintf(stderr, "bench_kube: %ld creates failed\n", failed);
    printf("%.0f\n", (double)n / ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    curl_global_cleanup();
    return failed > 0;
}
