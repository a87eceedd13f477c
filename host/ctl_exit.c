/*
 * ctl_exit.c - sharectl's exit code for every library error: the stable
 * codes documented in `sharectl --help` and the README. Every code of
 * SHARED_ERRNO_MAP has its line here (tests/test_api.c checks it), so a
 * library error never falls through to CTL_FAILED.
 */
#include "ctl.h"

int ctl_exit_code(int err)
{
    switch (err) {
    case SHARED_OK:
        return CTL_OK;
    case SHARED_ENULL:
    case SHARED_EKEYEMPTY:
    case SHARED_EKEYTOOLONG:
    case SHARED_EVALTOOLONG:
    case SHARED_EINVAL:
    case SHARED_EINTX:
    case SHARED_ENOTLOCKED:
    case SHARED_ETOOBIG:
    case SHARED_EATTACHED:
        return CTL_USAGE;
    case SHARED_ENOTFOUND:
    case SHARED_ENOINSTANCE:
        return CTL_NOTFOUND;
    case SHARED_ETIMEDOUT:
        return CTL_TIMEOUT;
    case SHARED_EFULL:
    case SHARED_ETXFULL:
    case SHARED_ECHANNELS:
    case SHARED_ECHANFULL:
    case SHARED_EPEERS:
    case SHARED_EWAITERS:
        return CTL_FULL;
    case SHARED_ECORRUPT:
    case SHARED_EVERSION:
    case SHARED_ENOTSHARED:
        return CTL_CORRUPT;
    case SHARED_ESYSTEM:
    case SHARED_EACCESS:
    case SHARED_ENAMECLASH:
    case SHARED_ENOMEM:
        return CTL_SYSTEM;
    case SHARED_ECONFLICT:
        return CTL_CONFLICT;
    case SHARED_ETYPE:
    case SHARED_EOVERFLOW:
        return CTL_TYPE;
    default:
        return CTL_FAILED;
    }
}
