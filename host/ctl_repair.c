/*
 * ctl_repair.c - `sharectl repair --yes`: the way out when every call fails
 * with a timeout or SHARED_ECORRUPT because the lock itself is damaged (a
 * hostile or buggy write into the shared object; see shared_repair); and
 * `sharectl flush`, for a state kept in a file (shared_flush).
 */
#include <stdio.h>

#include "ctl.h"

/* Breaks the lock (POSIX: re-initialises the mutex in the object), runs the
 * crash recovery over the section and reports the state after it. Needs
 * --yes: a process really holding the lock would lose its exclusion. */
int ctl_repair(ctl_opts *o)
{
    shared_statistics st = {.size = sizeof st};
    if (!o->yes)
        return ctl_usage("repair takes the lock by force, which is safe only "
                         "if no process holds it: add --yes to confirm");
    int rc = shared_repair(SHARED_REPAIR_BREAK_LOCK);
    if (rc == 0)
        rc = shared_stats(&st);
    if (rc)
        return ctl_fail("repair", rc);
    printf("sharectl: repaired %s: lock re-initialised, recovery run; "
           "%u keys, %u peers\n",
           st.object_name, (unsigned)st.keys_used, (unsigned)st.peers);
    return CTL_OK;
}

/* Writes a file home's changes to the file and waits until they are
 * durable (shared_flush). */
int ctl_flush(ctl_opts *o)
{
    (void)o;
    int rc = shared_flush();
    if (rc == SHARED_EINVAL)
        return ctl_usage("flush: this state is not kept in a file (use "
                         "--file PATH)");
    if (rc)
        return ctl_fail("flush", rc);
    return CTL_OK;
}
