/*
 * fuzz_crash.c - libFuzzer target (c): operation sequences with a crash at a
 * fuzzer-chosen step. The core's crash hook (the one tests/test_core.c
 * uses) longjmps out of the change at the N-th crash point, as if the
 * process died there; then recovery runs as the next lock holder would run
 * it (shared__recover(r, 1)). The region must equal the model before the
 * interrupted change or after it (a transaction: before it began, or after
 * its commit), recovery must leave nothing half-open, no version may be
 * reused, and the sequence then continues against the model.
 *
 * Input: a 16-bit crash point number, then operations as in fuzz_model.c.
 */
#include "fuzz_common.h"

static run g_run;
static model g_mix;

/* A reset interrupted half-way has wiped some keys: each key must be as
 * before or gone. Returns 1 and leaves that mix in g_mix if so. */
static int partial_reset_matches(shared__region *r, const model *before)
{
    g_mix = *before;
    for (uint32_t id = 0; id < FZ_KEYS; id++) {
        if (slot_of(r, id) == UINT32_MAX)
            memset(&g_mix.k[id], 0, sizeof g_mix.k[id]);
    }
    return region_matches(r, &g_mix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz f;
    static int crashed;
    static uint64_t next_before;
    run *x = &g_run;
    f = (fz){data, size};
    x->r = fz_region();
    model_init(&x->m);
    x->in_tx = 0;
    crashed = 0;
    fz_crash_at = fz_u16(&f);
    fz_crash_seen = 0;
    shared__crash_hook = fz_crash_hook;
    /* static: it changes between setjmp and longjmp */
    static int steps;
    for (steps = 0; f.n > 0 && steps < 4096; steps++) {
        next_before = x->m.next;
        if (setjmp(fz_jmp)) {
            /* The process "died" inside this step. */
            shared__crash_hook = NULL;
            crashed = 1;
            shared__recover(x->r, 1);
            check_settled(x->r);
            if (region_matches(x->r, &g_out.after)) {
                x->m = g_out.after;
            } else if (region_matches(x->r, &g_out.before)) {
                x->m = g_out.before;
            } else if (g_out.reset &&
                       partial_reset_matches(x->r, &g_out.before)) {
                x->m = g_mix;
            } else {
                fprintf(stderr,
                        "crash point %u: the region is neither the "
                        "state before nor after the interrupted change\n",
                        fz_crash_at);
                check_all(x->r, &g_out.before, 0); /* says what differs */
                abort();
            }
            uint64_t nv = LOAD(&x->r->hdr.next_version);
            FZ_CHECK(nv >= next_before,
                     "version counter went back: %llu < "
                     "%llu",
                     (unsigned long long)nv, (unsigned long long)next_before);
            x->m.next = nv;
            x->in_tx = 0;
            continue;
        }
        step(x, &f);
    }
    shared__crash_hook = NULL;
    check_all(x->r, &x->m, x->in_tx);
    (void)crashed;
    return 0;
}
