/*
 * detach_writer.c - a writer of a named published instance, linked against
 * libshared_hooks.so (test-only): `shared_detach_writer NAME` opens NAME
 * writable, sets a key and exits. Its library destructor leaves as the
 * last writer; with SHARED_TEST_STOP=detach it stops there (see
 * dll/posix/section.c, test_stop) until the test lets it go. Used by the
 * named suite (test_named.c).
 */
#include <stdio.h>

#include "shared.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: shared_detach_writer NAME\n");
        return 2;
    }
    int rc = shared_open(argv[1], SHARED_OPEN_PUBLISHED);
    if (rc == 0)
        rc = shared_set("detach.k", "v", 1);
    if (rc) {
        fprintf(stderr, "shared_detach_writer: %s\n", shared_errname(rc));
        return 1;
    }
    return 0;
}
