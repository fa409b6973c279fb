/* ctl_daemon.c — what a running ksensord publishes in its dataDir for the admin tool: the address
 * its HTTP listener bound (http-listener) and its embedded broker's (embedded-broker). The
 * supervisor writes them at start and removes them when it stops. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* The first line of <dataDir>/name into buf; -1 with errno when it cannot be read or is empty. */
static int
read_published(const ks_config_t *cfg, const char *name, char *buf, size_t len, char *path, size_t pathlen)
{
    FILE *fp;

    snprintf(path, pathlen, "%s/%s", cfg->data_dir, name);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(buf, (int)len, fp) == NULL)
        buf[0] = '\0';
    fclose(fp);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (buf[0] == '\0') {
        errno = ENODATA;
        return -1;
    }
    return 0;
}

int
ctl_daemon_brokers(const ks_config_t *cfg, const char *brokers, char *buf, size_t len)
{
    char path[4096];

    if (strcmp(brokers, "embedded") != 0) {
        snprintf(buf, len, "%s", brokers);
        return 0;
    }
    if (read_published(cfg, "embedded-broker", buf, len, path, sizeof(path)) == 0)
        return 0;
    fprintf(stderr, "ksensorctl: eventbus.brokers is \"embedded\" and %s cannot be read (%s): the embedded "
                    "broker lives inside a running ksensord, which writes its address there; start ksensord "
                    "or give --brokers\n", path, strerror(errno));
    return -1;
}

void
ctl_daemon_listener(const ks_config_t *cfg, char *buf, size_t len)
{
    char path[4096];

    if (read_published(cfg, "http-listener", buf, len, path, sizeof(path)) != 0)
        snprintf(buf, len, "%s", cfg->listen);
}
