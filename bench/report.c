/*
 * report.c - the results: per row of the table the floors, peers
 * and shared's figures (medians of the interleaved rounds with their
 * min-max spread), shared's ratio to each; the goals checked; the same
 * table as Markdown for the README; and an SVG bar chart.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

typedef struct row {
    const char *title;
    const char *floors, *peers, *shared; /* space-separated case ids */
} row;

static const row g_rows[] = {
    {"get 64 B", "floor.seqlock64", "lmdb.get64 lmdb.txget64 redis.get64",
     "shared.get64 shared.get64far"},
    {"get 1 KiB", "floor.seqlock1k", "lmdb.get1k", "shared.get1k"},
    {"set 64 B", "floor.mutex64 win.mutex64",
     "boost.mutex64 lmdb.put64 redis.set64", "shared.set64"},
    {"set 1 KiB", "floor.mutex1k win.mutex64", "lmdb.put1k", "shared.set1k"},
    {"cas 64 B", "floor.mutex64 win.mutex64", "", "shared.cas64"},
    {"add", "floor.mutexadd floor.atomicadd win.mutex64 win.interlocked", "",
     "shared.add"},
    {"2-key transaction", "floor.mutex2x64 win.mutex64", "lmdb.put2",
     "shared.tx2"},
    {"add, 1 process (ops/s)", "floor.mutexadd.p1", "", "shared.add.p1"},
    {"add, 2 processes contending (ops/s)", "floor.mutexadd.p2", "",
     "shared.add.p2"},
    {"add, 4 processes contending (ops/s)", "floor.mutexadd.p4", "",
     "shared.add.p4"},
    {"add, 8 processes contending (ops/s)", "floor.mutexadd.p8", "",
     "shared.add.p8"},
    {"get 64 B, full table of 256 keys", "floor.seqlock64", "",
     "shared.keys256.first shared.keys256.last"},
    {"get 64 B, full table of 65,536 keys", "floor.seqlock64", "",
     "shared.keys64k.first shared.keys64k.last"},
    {"64 B message round trip, 2 processes", "floor.futex",
     "mq.rt boost.mqrt seed.mapev seed.anonpipe seed.namedpipe "
     "seed.copydata seed.rpm",
     "shared.msgrt"},
    {"64 B message streaming (per message)", "", "mq.stream boost.mqstream",
     "shared.stream"},
    {"change notification round trip", "floor.futex", "seed.mapev",
     "shared.notify"},
};
#define NROWS (sizeof g_rows / sizeof g_rows[0])

/* Calls fn for each measured case of a space-separated id list. */
static int each(const char *ids, bench_case **out, int max)
{
    char id[48];
    int n = 0;
    while (*ids && n < max) {
        size_t len = strcspn(ids, " ");
        if (len && len < sizeof id) {
            memcpy(id, ids, len);
            id[len] = '\0';
            bench_case *c = bench_find(id);
            if (c && c->samples > 0 && !c->failed)
                out[n++] = c;
        }
        ids += len;
        ids += strspn(ids, " ");
    }
    return n;
}

static const char *fmt(double v, int rate, char *out, size_t cap)
{
    if (isnan(v))
        snprintf(out, cap, "-");
    else if (rate)
        snprintf(out, cap, "%.2f M ops/s", v / 1e6);
    else if (v < 100)
        snprintf(out, cap, "%.1f ns", v);
    else if (v < 1e4)
        snprintf(out, cap, "%.0f ns", v);
    else if (v < 1e6)
        snprintf(out, cap, "%.1f µs", v / 1e3);
    else
        snprintf(out, cap, "%.2f ms", v / 1e6);
    return out;
}

/* How many times slower shared is than c (ns/op), or the fraction of c's
 * throughput it reaches (ops/s). */
static double ratio(const bench_case *s, const bench_case *c)
{
    return bench_median(s) / bench_median(c);
}

static const char *kind_name(int k)
{
    return k == BENCH_FLOOR ? "floor" : k == BENCH_PEER ? "peer" : "shared";
}

static void print_case(const bench_case *c)
{
    char m[32], lo[32], hi[32];
    double med = bench_median(c);
    double spread = 100.0 * (bench_max(c) - bench_min(c)) / med;
    printf("  %-6s %-52s %11s  (%s .. %s, spread %.0f%%)\n", kind_name(c->kind),
           c->name, fmt(med, c->rate, m, sizeof m),
           fmt(bench_min(c), c->rate, lo, sizeof lo),
           fmt(bench_max(c), c->rate, hi, sizeof hi), spread);
}

static void print_ratios(const bench_case *s, bench_case **cmp, int n)
{
    for (int i = 0; i < n; i++) {
        double r = ratio(s, cmp[i]);
        if (s->rate)
            printf("           %-18s %5.1f%% of %s %s\n", s->id, 100 * r,
                   kind_name(cmp[i]->kind), cmp[i]->id);
        else
            printf("           %-18s %6.3gx %s %s%s\n", s->id, r,
                   kind_name(cmp[i]->kind), cmp[i]->id,
                   cmp[i]->kind == BENCH_PEER && r > 1 ? " (peer faster)" : "");
    }
}

/* One goal: ratio a/b within limit (ns/op: at most; rate: at least). */
static void goal(const char *what, const char *a, const char *b, double limit)
{
    bench_case *x = bench_find(a), *y = bench_find(b);
    if (!x || !y || !x->samples || !y->samples || x->failed || y->failed) {
        printf("  %-58s  not measured\n", what);
        return;
    }
    double r = ratio(x, y);
    int ok = x->rate ? r >= limit : r <= limit;
    if (x->rate)
        printf("  %-58s %6.1f%%  %s", what, 100 * r, ok ? "holds" : "MISSED");
    else
        printf("  %-58s %6.2fx  %s", what, r, ok ? "holds" : "MISSED");
    if (!ok)
        printf(" (%.1fx off)", x->rate ? limit / r : r / limit);
    printf("\n");
}

static void goals(void)
{
    printf("\ngoals (issue #10), from the medians above:\n");
    goal("get 64 B <= 4x seqlock copy", "shared.get64", "floor.seqlock64", 4);
    goal("get 64 B >= 2x faster than LMDB mdb_get", "shared.get64",
         "lmdb.get64", 0.5);
    goal("get 1 KiB <= 2x seqlock copy 1 KiB", "shared.get1k",
         "floor.seqlock1k", 2);
    goal("key behind 211 others within 1.1x of the first", "shared.get64far",
         "shared.get64", 1.1);
    goal("256 keys: highest slot within 1.1x of lowest", "shared.keys256.last",
         "shared.keys256.first", 1.1);
    goal("65,536 keys: highest slot within 1.1x of lowest",
         "shared.keys64k.last", "shared.keys64k.first", 1.1);
    goal("65,536 keys within 1.1x of 256 keys (highest slot)",
         "shared.keys64k.last", "shared.keys256.last", 1.1);
    goal("set 64 B <= 3x robust mutex + memcpy", "shared.set64",
         "floor.mutex64", 3);
    goal("cas 64 B <= 3x robust mutex + memcpy", "shared.cas64",
         "floor.mutex64", 3);
    goal("add <= 3x robust mutex pair", "shared.add", "floor.mutexadd", 3);
    goal("2-key transaction <= 4x mutex + 2 memcpy", "shared.tx2",
         "floor.mutex2x64", 4);
    goal("set 1 KiB <= 3x mutex + memcpy 1 KiB", "shared.set1k",
         "floor.mutex1k", 3);
    goal("add, 8 processes >= 50% of the robust mutex counter", "shared.add.p8",
         "floor.mutexadd.p8", 0.5);
    goal("64 B message round trip <= POSIX mq", "shared.msgrt", "mq.rt", 1);
    goal("streaming >= mq's rate (time per message <= mq's)", "shared.stream",
         "mq.stream", 1);
    goal("change notification round trip <= 1.2x futex ping-pong",
         "shared.notify", "floor.futex", 1.2);
    goal("Windows: send+recv <= 1.2x file mapping + events", "shared.msgrt",
         "seed.mapev", 1.2);
    goal("Windows: set at one named mutex pair (<= 1.2x)", "shared.set64",
         "win.mutex64", 1.2);
}

static void markdown(void)
{
    static const char *const tag[4] = {"(1) ", "(2) ", "(3) ", "(4) "};
    char m[32];
    printf("\nMarkdown (for README.md):\n\n");
    printf("| operation | floor / peer (same run) | shared | ratio |\n");
    printf("|---|---|---|---|\n");
    for (size_t r = 0; r < NROWS; r++) {
        bench_case *cmp[16], *sh[4];
        int nf = each(g_rows[r].floors, cmp, 16);
        int np = each(g_rows[r].peers, cmp + nf, 16 - nf);
        int ns = each(g_rows[r].shared, sh, 4);
        if (ns == 0)
            continue;
        printf("| %s | ", g_rows[r].title);
        for (int i = 0; i < nf + np; i++)
            printf("%s%s %s", i ? "; " : "", cmp[i]->name,
                   fmt(bench_median(cmp[i]), cmp[i]->rate, m, sizeof m));
        printf(" | ");
        for (int i = 0; i < ns; i++)
            printf("%s%s%s (%s)", i ? "; " : "", ns > 1 ? tag[i] : "",
                   fmt(bench_median(sh[i]), sh[i]->rate, m, sizeof m),
                   sh[i]->name);
        printf(" | ");
        for (int i = 0; i < ns; i++)
            for (int j = 0; j < nf + np; j++) {
                double q = ratio(sh[i], cmp[j]);
                const char *sep = i || j ? "; " : "";
                if (ns > 1 && j == 0)
                    printf("%s%s", sep, tag[i]), sep = "";
                if (sh[i]->rate)
                    printf("%s%.0f %% of %s", sep, 100 * q, cmp[j]->id);
                else
                    printf("%s%.2g× %s", sep, q, cmp[j]->id);
            }
        printf(" |\n");
    }
}

void report_table(int rounds, uint32_t ms, const char *load0, const char *load1)
{
    printf("\nshared_bench: medians of %d interleaved rounds, %u ms each; "
           "spread = (max - min) / median\n",
           rounds, (unsigned)ms);
    printf("load at start: %s\nload at end:   %s\n", load0, load1);
    for (size_t r = 0; r < NROWS; r++) {
        bench_case *cmp[16], *sh[4];
        int nf = each(g_rows[r].floors, cmp, 16);
        int np = each(g_rows[r].peers, cmp + nf, 16 - nf);
        int ns = each(g_rows[r].shared, sh, 4);
        if (ns + np == 0)
            continue;
        printf("\n%s\n", g_rows[r].title);
        for (int i = 0; i < nf + np; i++)
            print_case(cmp[i]);
        for (int i = 0; i < ns; i++)
            print_case(sh[i]);
        for (int i = 0; i < ns; i++)
            print_ratios(sh[i], cmp, nf + np);
    }
    for (int i = 0; i < bench_count(); i++)
        if (bench_at(i)->failed)
            printf("\nFAILED: %s (%s)\n", bench_at(i)->id, bench_at(i)->name);
    goals();
    markdown();
}

/* ---- SVG: ns/op on a log scale, grouped by row -------------------------- */

int report_svg(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    bench_case *bars[128];
    const char *group[128];
    int n = 0;
    double hi = 10;
    for (size_t r = 0; r < NROWS; r++) {
        bench_case *c[24];
        int k = each(g_rows[r].floors, c, 24);
        k += each(g_rows[r].peers, c + k, 24 - k);
        k += each(g_rows[r].shared, c + k, 24 - k);
        for (int i = 0; i < k && n < 128; i++) {
            if (c[i]->rate)
                continue;
            int dup = 0; /* a floor listed in several rows: once per row */
            for (int j = 0; j < n; j++)
                dup |= bars[j] == c[i] && group[j] == g_rows[r].title;
            if (dup)
                continue;
            bars[n] = c[i];
            group[n++] = g_rows[r].title;
            if (bench_median(c[i]) > hi)
                hi = bench_median(c[i]);
        }
    }
    int decades = (int)ceil(log10(hi));
    const int left = 420, width = 420, bh = 14;
    int groups = 0;
    for (int i = 0; i < n; i++)
        groups += !i || group[i] != group[i - 1];
    int height = 40 + n * (bh + 3) + groups * 22 + 30;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"10\" y=\"18\" font-size=\"14\">shared vs floors and "
            "peers: ns per operation (log scale, shorter is faster)</text>\n",
            left + width + 90, height);
    int y = 40;
    for (int i = 0; i < n; i++) {
        if (!i || group[i] != group[i - 1]) {
            y += 6;
            fprintf(f,
                    "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s"
                    "</text>\n",
                    y + 10, group[i]);
            y += 16;
        }
        double v = bench_median(bars[i]);
        double w = v <= 1 ? 1 : log10(v) / decades * width;
        const char *color = bars[i]->kind == BENCH_SHARED ? "#e8710a"
                            : bars[i]->kind == BENCH_PEER ? "#4a7fc1"
                                                          : "#9a9a9a";
        char m[32];
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
                "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%d\">%s</text>\n",
                left - 6, y + bh - 3, bars[i]->name, left, y, w < 1 ? 1 : w, bh,
                color, left + w + 4, y + bh - 3, fmt(v, 0, m, sizeof m));
        y += bh + 3;
    }
    for (int d = 0; d <= decades; d++) {
        int x = left + d * width / decades;
        fprintf(f,
                "<line x1=\"%d\" y1=\"34\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\""
                "/>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
                "%.0f ns</text>\n",
                x, x, y, x, y + 14, pow(10, d));
    }
    fprintf(f,
            "<text x=\"10\" y=\"%d\"><tspan fill=\"#9a9a9a\">&#9632; "
            "floor</tspan> <tspan fill=\"#4a7fc1\">&#9632; peer</tspan> "
            "<tspan fill=\"#e8710a\">&#9632; shared</tspan></text>\n",
            y + 14);
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}
