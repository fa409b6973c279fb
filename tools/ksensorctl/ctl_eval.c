/* ctl_eval.c — `ksensorctl eval`: runs sensors offline over a file of CloudEvents and prints one JSON
 * line per firing, in input order — the same model code the workers run. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "sensor/eval.h"
#include "sensor/load.h"

typedef struct eval_out {
    size_t firings;
    size_t dropped;
    size_t line;
    const char *events;
} eval_out_t;

static void
eval_usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl eval --sensor FILE [--sensor FILE]... --events FILE.jsonl\n"
        "Runs sensors offline over CloudEvents (one structured-mode JSON event per line, '-' for\n"
        "standard input) and prints one JSON line per firing, in input order:\n"
        "  {\"sensor\":…,\"trigger\":…,\"events\":{DEPENDENCY: EVENT,…},\"payload\":…}\n"
        "payload is what an http or kafka action would send (null for log); \"template\" appears when\n"
        "trigger parameters change the trigger template; \"error\" when a parameter cannot resolve.\n"
        "conditionsReset uses each event's time as the clock. Events that cannot be decoded or whose\n"
        "filters fail are reported on standard error with their line number, and skipped.\n"
        "\n"
        "Exit status: 0 on success, 1 when a sensor is refused or the events cannot be read,\n"
        "2 on a usage error.\n");
}

static void
on_firing(const json_t *firing, void *ctx)
{
    eval_out_t *out = ctx;
    char       *text = json_dumps(firing, JSON_COMPACT | JSON_PRESERVE_ORDER);

    out->firings++;
    if (text != NULL) {
        puts(text);
        free(text);
    }
}

static void
on_dropped(const char *sensor, const char *dependency, const char *reason, void *ctx)
{
    eval_out_t *out = ctx;

    out->dropped++;
    fprintf(stderr, "%s:%zu: sensor %s, dependency %s: %s\n", out->events, out->line, sensor, dependency,
            reason);
}

int
ctl_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "sensor", required_argument, NULL, 's' },
        { "events", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char          **sensors = calloc((size_t)argc, sizeof(*sensors));
    int             nsensors = 0, c, rc = CTL_OK;
    const char     *events = NULL;
    ks_pool_t       pool = {0};
    eval_out_t      out = {0};
    ks_eval_ops_t   ops = { on_firing, on_dropped, &out };
    ks_eval_t      *eval;
    FILE           *fp;
    char           *line = NULL, err[512];
    size_t          cap = 0, bad = 0;
    ssize_t         len;

    optind = 1;
    while ((c = getopt_long(argc, argv, "s:e:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': sensors[nsensors++] = optarg; break;
        case 'e': events = optarg; break;
        case 'h': eval_usage(stdout); free(sensors); return CTL_OK;
        default: eval_usage(stderr); free(sensors); return CTL_USAGE;
        }
    }
    if (nsensors == 0 || events == NULL || optind != argc) {
        eval_usage(stderr);
        free(sensors);
        return CTL_USAGE;
    }
    if (ctl_load_sensors(&pool, sensors, nsensors) > 0) {
        fprintf(stderr, "ksensorctl: sensors refused; nothing evaluated\n");
        ks_pool_free(&pool);
        free(sensors);
        return CTL_PROBLEM;
    }
    fp = strcmp(events, "-") == 0 ? stdin : fopen(events, "r");
    if (fp == NULL) {
        perror(events);
        ks_pool_free(&pool);
        free(sensors);
        return CTL_PROBLEM;
    }
    out.events = events;
    eval = ks_eval_new(&pool, &ops);
    while ((len = getline(&line, &cap, fp)) >= 0) {
        out.line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (ks_eval_event(eval, line, (size_t)len, err, sizeof(err)) != 0) {
            bad++;
            fprintf(stderr, "%s:%zu: skipped: %s\n", events, out.line, err);
        }
    }
    if (ferror(fp)) {
        perror(events);
        rc = CTL_PROBLEM;
    }
    fflush(stdout);
    fprintf(stderr, "ksensorctl: %zu events, %zu firings, %zu undecodable, %zu dropped by filter errors\n",
            out.line, out.firings, bad, out.dropped);
    if (fp != stdin)
        fclose(fp);
    free(line);
    ks_eval_free(eval);
    ks_pool_free(&pool);
    free(sensors);
    return rc;
}
