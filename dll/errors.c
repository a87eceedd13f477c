/*
 * errors.c - messages and names for the one error list in shared.h.
 */
#include "shared.h"

const char *shared_strerror(int err)
{
    switch (err) {
    case SHARED_OK:
        return "success";
#define SHARED__XX(name, value, msg)                                           \
  case SHARED_##name:                                                          \
    return msg;
        SHARED_ERRNO_MAP(SHARED__XX)
#undef SHARED__XX
    default:
        return "unknown error";
    }
}

const char *shared_errname(int err)
{
    switch (err) {
    case SHARED_OK:
        return "SHARED_OK";
#define SHARED__XX(name, value, msg)                                           \
  case SHARED_##name:                                                          \
    return "SHARED_" #name;
        SHARED_ERRNO_MAP(SHARED__XX)
#undef SHARED__XX
    default:
        return "SHARED_EUNKNOWN";
    }
}
