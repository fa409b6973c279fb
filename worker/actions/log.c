/* log.c — the log executor: one structured line per firing, written once the batch has committed
 * (held in the worker's journal meanwhile: pipeline/journal.h). The line carries the firing's
 * events as its record holds them, spliced, not decoded and encoded again. intervalSeconds keeps at
 * most one line per interval and trigger; the ledger still records every firing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/actions.h"
#include "core/json_out.h"
#include "core/mem.h"

typedef struct log_state {
    ks_batch_t *batch;
    int64_t    *last;           /* per trigger: when its last line was decided, Unix ms */
} log_state_t;

static void *
log_open(const ks_exec_env_t *env)
{
    log_state_t *s = ks_calloc(1, sizeof(*s));

    s->batch = env->batch;
    s->last = ks_calloc(env->ntriggers ? env->ntriggers : 1, sizeof(*s->last));
    return s;
}

static void
log_close(void *state)
{
    log_state_t *s = state;

    free(s->last);
    free(s);
}

static int
log_run(void *state, const ks_firing_t *f, char *err, size_t errlen)
{
    log_state_t *s = state;
    int64_t      interval = json_integer_value(json_object_get(json_object_get(f->trig->tmpl, "log"),
                                                               "intervalSeconds")) * 1000;
    int64_t      now = (int64_t)time(NULL) * 1000;
    char        *line = NULL;
    size_t       len = 0;
    FILE        *out;

    (void)err;
    (void)errlen;
    if (interval > 0 && now - s->last[f->slot] < interval)
        return 0;
    s->last[f->slot] = now;
    if ((out = open_memstream(&line, &len)) == NULL)
        abort();                /* only when memory is exhausted: as ks_malloc */
    fputs("action log: {\"firing\":", out);
    ks_json_put_string(out, f->id);
    fputs(",\"sensor\":", out);
    ks_json_put_string(out, f->trig->sensor->name);
    fputs(",\"trigger\":", out);
    ks_json_put_string(out, f->trig->name);
    fputs(",\"events\":", out);
    /* checked JSON: a line break can only be whitespace between its tokens, and a line is one line */
    if (memchr(f->events_text, '\n', f->events_len) == NULL && memchr(f->events_text, '\r', f->events_len) == NULL)
        fwrite(f->events_text, 1, f->events_len, out);
    else {
        for (size_t i = 0; i < f->events_len; i++)
            putc(f->events_text[i] == '\n' || f->events_text[i] == '\r' ? ' ' : f->events_text[i], out);
    }
    putc('}', out);
    if (fclose(out) != 0)
        abort();
    ks_batch_after_commit(s->batch, line);
    return 0;
}

const ks_executor_t ks_exec_log = {
    .kind = "log",
    .open = log_open,
    .close = log_close,
    .run = log_run,
    .events_as_text = true,
};
