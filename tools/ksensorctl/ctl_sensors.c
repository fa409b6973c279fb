/* ctl_sensors.c — `ksensorctl sensors`: the sensors a configuration defines, loaded with the
 * daemon's own loader (the same validation as `ksensord -t` and SIGHUP): each trigger with its kind
 * and conditions, and the dependencies the conditions name. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "sensor/load.h"
#include "sup_supervisor.h"

#define DEFAULT_CONFIG KS_SYSCONFDIR "/ksensord.yaml"

static void
sensors_usage(FILE *out)
{
    fprintf(out,
        "Usage: ksensorctl sensors [-c FILE] [--json]\n"
        "The sensors the configuration's `sensors` glob defines, loaded as ksensord loads them: each\n"
        "trigger with its kind and conditions, and the dependencies (eventSourceName:eventName) it uses.\n"
        "\n"
        "  -c, --config FILE   the daemon's configuration (default " DEFAULT_CONFIG ")\n"
        "      --json          one JSON array of sensors instead of a table\n"
        "\n"
        "Exit status: 0 when every sensor loads, 1 when the configuration or a sensor is refused (every\n"
        "problem printed as file:line:column), 2 on a usage error.\n");
}

/* The conditions as written, or Argo's default: every dependency, and-ed. */
static const char *
conditions_of(const ks_trigger_t *trig)
{
    const char *text = json_string_value(json_object_get(trig->tmpl, "conditions"));

    return text != NULL && text[0] != '\0' ? text : "(all dependencies)";
}

static json_t *
sensor_json(const ks_sensor_t *s)
{
    json_t *deps = json_array(), *trigs = json_array();

    for (size_t d = 0; d < s->ndeps; d++)
        json_array_append_new(deps, json_pack("{s:s, s:s, s:s}", "name", s->deps[d].name, "eventSourceName",
                                              s->deps[d].event_source, "eventName", s->deps[d].event_name));
    for (size_t t = 0; t < s->ntriggers; t++) {
        const ks_trigger_t *trig = &s->triggers[t];
        json_t             *uses = json_array();

        for (size_t d = 0; d < s->ndeps; d++) {
            if (ks_cond_uses(trig->cond, d))
                json_array_append_new(uses, json_string(s->deps[d].name));
        }
        json_array_append_new(trigs, json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", trig->name, "kind",
                                               ks_action_kind_name(trig->kind), "conditions", conditions_of(trig),
                                               "dependencies", uses, "atLeastOnce", trig->at_least_once));
    }
    return json_pack("{s:s, s:s, s:o, s:o}", "name", s->name, "file", s->file, "dependencies", deps,
                     "triggers", trigs);
}

int
ctl_sensors(int argc, char **argv)
{
    const char  *config = DEFAULT_CONFIG;
    bool         json = false;
    ks_diag_t    diag = {0};
    ks_config_t *cfg;
    ks_pool_t   *pool;
    int          c;

    if ((c = ctl_config_options(argc, argv, sensors_usage, &config, &json)) >= 0)
        return c;
    if (ks_supervisor_load(config, &cfg, &pool, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        fprintf(stderr, "ksensorctl: %s: %zu problem%s, configuration refused\n", config, diag.n,
                diag.n == 1 ? "" : "s");
        ks_diag_free(&diag);
        return CTL_PROBLEM;
    }
    if (json) {
        json_t *out = json_array();
        char   *text;

        for (size_t i = 0; i < pool->nsensors; i++)
            json_array_append_new(out, sensor_json(pool->sensors[i]));
        text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(text);
        free(text);
        json_decref(out);
    } else {
        ctl_table_t t = { json_array(), 5, { 0 } };

        ctl_table_add(&t, (const char *const[]){ "SENSOR", "TRIGGER", "KIND", "CONDITIONS", "DEPENDENCIES" });
        for (size_t i = 0; i < pool->nsensors; i++) {
            const ks_sensor_t *s = pool->sensors[i];

            for (size_t k = 0; k < s->ntriggers; k++) {
                const ks_trigger_t *trig = &s->triggers[k];
                char                deps[2048] = "";
                size_t              len = 0;

                for (size_t d = 0; d < s->ndeps && len < sizeof(deps); d++) {
                    if (ks_cond_uses(trig->cond, d))
                        len += (size_t)snprintf(deps + len, sizeof(deps) - len, "%s%s=%s:%s", len ? " " : "",
                                                s->deps[d].name, s->deps[d].event_source, s->deps[d].event_name);
                }
                ctl_table_add(&t, (const char *const[]){ s->name, trig->name, ks_action_kind_name(trig->kind),
                                                         conditions_of(trig), deps });
            }
        }
        ctl_table_print(&t);
        json_decref(t.rows);
    }
    ks_pool_free(pool);
    free(pool);
    ks_config_free(cfg);
    return CTL_OK;
}
