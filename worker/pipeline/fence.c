/* fence.c — ending a departed instance's open transaction at once (see fence.h). */
#include "pipeline/fence.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/report.h"
#include "pipeline/batch.h"
#include "pipeline/kafka_conf.h"

#define MARK          "ksensor instance "
#define MARK_LEN      (sizeof(MARK) - 1)
#define ADMIN_WAIT_MS 10000

void
ks_fence_mark(rd_kafka_topic_partition_t *tp, const char *instance)
{
    free(tp->metadata);
    tp->metadata = ks_asprintf("%s%s", MARK, instance);
    tp->metadata_size = strlen(tp->metadata);
}

/* Whether a and b are workers of one daemon: "<instance>-<slot>" with the same instance. */
static bool
siblings(const char *a, const char *b)
{
    const char *da = strrchr(a, '-'), *db = strrchr(b, '-');

    return da != NULL && db != NULL && da - a == db - b && memcmp(a, b, (size_t)(da - a)) == 0;
}

/* The distinct instances that committed parts' offsets last (n of them), or NULL when none did or
 * the offsets cannot be read; not self, and not self's siblings: this daemon's supervisor starts
 * them again, and a worker's start ends its predecessor's transaction (after a restart of the
 * daemon the first of its workers to join would otherwise fence the others as they start).
 * read_uncommitted: a pending commit is not waited for — it is what fencing ends. */
static char **
committers(rd_kafka_t *rk, const char *group, const char *self, const rd_kafka_topic_partition_list_t *parts,
           size_t *n)
{
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
    rd_kafka_AdminOptions_t             *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_queue_t                    *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t                    *ev;
    const rd_kafka_group_result_t      **groups;
    size_t                               ngroups = 0;
    char                               **names = NULL, err[512];

    *n = 0;
    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_WAIT_MS, NULL, 0);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, opts, queue);
    if ((ev = ks_kafka_admin_result(queue, ADMIN_WAIT_MS + 1000, err, sizeof(err))) == NULL) {
        ks_log_warning("fencing departed instances: cannot list the group's offsets: %s", err);
        goto done;
    }
    groups = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev),
                                                             &ngroups);
    for (size_t g = 0; g < ngroups; g++) {
        const rd_kafka_topic_partition_list_t *got = rd_kafka_group_result_partitions(groups[g]);

        for (int i = 0; got != NULL && i < got->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &got->elems[i];
            size_t                            k;
            char                             *who;

            if (tp->metadata == NULL || tp->metadata_size <= MARK_LEN || memcmp(tp->metadata, MARK, MARK_LEN) != 0)
                continue;
            who = ks_strndup((const char *)tp->metadata + MARK_LEN, tp->metadata_size - MARK_LEN);
            for (k = 0; k < *n && strcmp(names[k], who) != 0; k++)
                ;
            if (k < *n || strcmp(who, self) == 0 || siblings(who, self)) {
                free(who);
                continue;
            }
            names = ks_realloc(names, (*n + 1) * sizeof(*names));
            names[(*n)++] = who;
        }
    }
done:
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    return names;
}

/* Removes from names (n of them) the instances that are members of the group; -1 when the group
 * cannot be described (then nothing may be fenced). */
static int
drop_members(rd_kafka_t *rk, const char *group, char **names, size_t *n)
{
    rd_kafka_AdminOptions_t                   *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    rd_kafka_queue_t                          *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t                          *ev;
    const rd_kafka_ConsumerGroupDescription_t **groups;
    size_t                                     ngroups = 0;
    int                                        rc = -1;
    char                                       err[512];

    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_WAIT_MS, NULL, 0);
    rd_kafka_DescribeConsumerGroups(rk, &group, 1, opts, queue);
    if ((ev = ks_kafka_admin_result(queue, ADMIN_WAIT_MS + 1000, err, sizeof(err))) == NULL) {
        ks_log_warning("fencing departed instances: cannot describe group %s: %s", group, err);
        goto done;
    }
    groups = rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev),
                                                           &ngroups);
    if (ngroups != 1 || rd_kafka_ConsumerGroupDescription_error(groups[0]) != NULL) {
        ks_log_warning("fencing departed instances: cannot describe group %s: %s", group,
                       ngroups == 1 ? rd_kafka_error_string(rd_kafka_ConsumerGroupDescription_error(groups[0]))
                                    : "no answer");
        goto done;
    }
    for (size_t m = 0; m < rd_kafka_ConsumerGroupDescription_member_count(groups[0]); m++) {
        const char *member = rd_kafka_MemberDescription_group_instance_id(
            rd_kafka_ConsumerGroupDescription_member(groups[0], m));

        for (size_t k = 0; member != NULL && k < *n; k++) {
            if (strcmp(names[k], member) == 0) {
                free(names[k]);
                names[k] = names[--*n];
                break;
            }
        }
    }
    rc = 0;
done:
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(queue);
    rd_kafka_AdminOptions_destroy(opts);
    return rc;
}

/* Initialises a producer with instance's transactional id: the coordinator aborts the open
 * transaction of that id (if any) and fences its producer. */
static void
fence(const ks_config_t *cfg, const char *brokers, const char *instance)
{
    rd_kafka_conf_t  *conf = ks_kafka_conf(cfg, brokers);
    rd_kafka_t       *rk;
    rd_kafka_error_t *error;
    char              txn_id[400], err[512];
    int64_t           started = ks_monotonic_us();

    ks_kafka_transactional_id(cfg, instance, txn_id, sizeof(txn_id));
    ks_kafka_set(conf, "transactional.id", txn_id);
    if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
        ks_log_warning("fencing departed instance %s: rd_kafka_new failed: %s", instance, err);
        return;
    }
    if ((error = rd_kafka_init_transactions(rk, KS_TXN_CALL_TIMEOUT_MS)) != NULL) {
        ks_log_warning("fencing departed instance %s: %s", instance, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        ks_log_notice("fenced departed instance %s (transactional id %s) in %.0f ms: its open transaction, if "
                      "any, is aborted now rather than after transaction.timeout.ms",
                      instance, txn_id, (double)(ks_monotonic_us() - started) / 1000.);
    }
    rd_kafka_destroy(rk);
}

void
ks_fence_departed(rd_kafka_t *rk, const ks_config_t *cfg, const char *brokers, const char *self,
                  const rd_kafka_topic_partition_list_t *parts)
{
    size_t n = 0;
    char **names;

    if (parts->cnt == 0 || (names = committers(rk, cfg->pool, self, parts, &n)) == NULL)
        return;
    if (drop_members(rk, cfg->pool, names, &n) == 0) {
        for (size_t k = 0; k < n; k++)
            fence(cfg, brokers, names[k]);
    }
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
}
