/* activation.c: claiming the listening sockets systemd passed us, by name. */
#include "common/daemon/service.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

/* systemd names an fd "unknown" when the socket unit gives no FileDescriptorName= and
 * LISTEN_FDNAMES is absent; systemd-socket-activate without --fdname does the same. */
static bool unnamed(const char *name)
{
    return !name || name[0] == '\0' || strcmp(name, "unknown") == 0;
}

int mv_activation_match(char *const *names, int n, const char *const *wanted, size_t nwanted,
                        int *fds_out)
{
    int claimed = 0;
    for (size_t j = 0; j < nwanted; j++)
        fds_out[j] = -1;
    if (n <= 0)
        return 0;

    bool *taken = calloc((size_t)n, sizeof(*taken));
    if (!taken)
        return 0;
    for (size_t j = 0; j < nwanted; j++) {
        for (int i = 0; i < n; i++) {
            if (!taken[i] && names && names[i] && strcmp(names[i], wanted[j]) == 0) {
                fds_out[j] = SD_LISTEN_FDS_START + i;
                taken[i] = true;
                claimed++;
                break;
            }
        }
    }
    /* Then unnamed fds, in order, fill what no name matched. */
    for (size_t j = 0; j < nwanted; j++) {
        if (fds_out[j] >= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (!taken[i] && unnamed(names ? names[i] : NULL)) {
                fds_out[j] = SD_LISTEN_FDS_START + i;
                taken[i] = true;
                claimed++;
                break;
            }
        }
    }
    free(taken);
    return claimed;
}

int mv_activation_claim(const char *const *wanted, size_t nwanted, int *fds_out, mv_error *err)
{
    char **names = NULL;
    int ret = -1;
    /* unset_environment=1: the variables describe this process only, never our children */
    int n = sd_listen_fds_with_names(1, &names);
    for (size_t j = 0; j < nwanted; j++)
        fds_out[j] = -1;
    if (n < 0) {
        mv_error_set_errno(err, -n, VIR_FROM_SYSTEMD, "cannot read the sockets systemd passed");
        goto cleanup;
    }
    if (n == 0) {
        ret = 0;
        goto cleanup;
    }
    mv_activation_match(names, n, wanted, nwanted, fds_out);

    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        bool ours = false;
        for (size_t j = 0; j < nwanted; j++)
            ours = ours || fds_out[j] == fd;
        if (!ours)
            close(fd);
    }
    for (size_t j = 0; j < nwanted; j++) {
        if (fds_out[j] >= 0 && sd_is_socket_unix(fds_out[j], SOCK_STREAM, 1, NULL, 0) <= 0) {
            mv_error_set(err, VIR_ERR_INTERNAL_ERROR, VIR_FROM_SYSTEMD,
                         "the socket systemd passed as '%s' (fd %d) is not a listening UNIX "
                         "stream socket",
                         wanted[j], fds_out[j]);
            for (size_t k = 0; k < nwanted; k++) {
                if (fds_out[k] >= 0)
                    close(fds_out[k]);
                fds_out[k] = -1;
            }
            goto cleanup;
        }
        /* systemd hands them over inheritable; our children (guests) must not get them */
        if (fds_out[j] >= 0)
            fcntl(fds_out[j], F_SETFD, FD_CLOEXEC);
    }
    ret = n;

cleanup:
    if (names) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }
    return ret;
}
