/*
 * fuzz_model.c - libFuzzer target (b): operation sequences on a fresh region
 * checked against a simple in-memory model. Every result code, value,
 * counter, version and queued message must agree with the model, after
 * every step and in a full scan at the end.
 *
 * Input: a sequence of operations, each an opcode byte, a key byte and the
 * operation's arguments (see step() in fuzz_common.h).
 */
#include "fuzz_common.h"

static run g_run;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    run *x = &g_run;
    x->r = fz_region();
    model_init(&x->m);
    x->in_tx = 0;
    shared__crash_hook = NULL;
    for (int steps = 0; f.n > 0 && steps < 4096; steps++)
        step(x, &f);
    check_all(x->r, &x->m, x->in_tx);
    if (x->in_tx) {
        /* Roll back what is still open: the state before it. */
        shared__journal_rollback(x->r);
        x->in_tx = 0;
        x->tx_start.next = x->m.next;
        check_all(x->r, &x->tx_start, 0);
    }
    return 0;
}
