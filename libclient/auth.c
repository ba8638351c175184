/* auth.c: virConnectAuthPtrDefault — libvirt's default credential callback, which asks
 * on the controlling terminal. The library itself never calls it (no modvirt transport
 * needs credentials from it); an application may, as with libvirt. */
#include "libclient/client.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Reads one line from the terminal, echoing it or not. malloc'd, without newline. */
static char *tty_ask(FILE *tty, const char *prompt, const char *defresult, bool echo)
{
    struct termios old, quiet;
    int fd = fileno(tty);
    bool restore = false;
    if (defresult && defresult[0])
        fprintf(tty, "%s [%s]: ", prompt, defresult);
    else
        fprintf(tty, "%s: ", prompt);
    fflush(tty);
    if (!echo && tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, tty);
    if (restore) {
        tcsetattr(fd, TCSAFLUSH, &old);
        fputc('\n', tty);
    }
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0] && defresult) {
        free(line);
        return strdup(defresult);
    }
    return line;
}

static int default_auth_cb(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
    (void)cbdata;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    FILE *tty = fd >= 0 ? fdopen(fd, "r+") : NULL;
    int rc = -1;
    if (!tty) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (unsigned int i = 0; i < ncred; i++) {
        bool echo;
        switch (cred[i].type) {
        case VIR_CRED_USERNAME:
        case VIR_CRED_AUTHNAME:
        case VIR_CRED_ECHOPROMPT:
        case VIR_CRED_REALM:
            echo = true;
            break;
        case VIR_CRED_PASSPHRASE:
        case VIR_CRED_NOECHOPROMPT:
            echo = false;
            break;
        default:
            goto cleanup; /* nothing a terminal can answer */
        }
        char *answer = tty_ask(tty, cred[i].prompt ? cred[i].prompt : "Credential",
                               cred[i].defresult, echo);
        if (!answer)
            goto cleanup;
        cred[i].result = answer;
        cred[i].resultlen = (unsigned int)strlen(answer);
    }
    rc = 0;
cleanup:
    fclose(tty);
    return rc;
}

static int default_credtypes[] = {
    VIR_CRED_AUTHNAME,     VIR_CRED_ECHOPROMPT, VIR_CRED_REALM,
    VIR_CRED_PASSPHRASE,   VIR_CRED_NOECHOPROMPT, VIR_CRED_USERNAME,
};

static virConnectAuth default_auth = {
    default_credtypes,
    sizeof(default_credtypes) / sizeof(default_credtypes[0]),
    default_auth_cb,
    NULL,
};

virConnectAuthPtr virConnectAuthPtrDefault = &default_auth;
