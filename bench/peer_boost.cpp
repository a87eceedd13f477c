/*
 * peer_boost.cpp (POSIX) - Boost.Interprocess as a peer: an
 * interprocess_mutex in a shared memory object around a 64 B memcpy, and
 * message_queue for a 64 B round trip between two processes and for
 * streaming. Built only when Boost's headers are found.
 */
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "bench.h"
}

namespace bip = boost::interprocess;

namespace
{

struct page {
    bip::interprocess_mutex mutex;
    char value[1024];
};

std::string g_shm, g_qa, g_qb;
bip::mapped_region *g_region;
page *g_page;
char g_val[1024];

int op_mutex64(void *, uint64_t i)
{
    std::memcpy(g_val, &i, sizeof i);
    bip::scoped_lock<bip::interprocess_mutex> lock(g_page->mutex);
    std::memcpy(g_page->value, g_val, 64);
    return 0;
}

double loop_measure(void *ctx, uint32_t ms)
{
    return bench_loop(reinterpret_cast<int (*)(void *, uint64_t)>(ctx), nullptr,
                      ms);
}

/* ctx non-null: round trip (the child echoes); null: streaming. */
double mq_run(void *ctx, uint32_t ms)
{
    bool echo = ctx != nullptr;
    try {
        bip::message_queue::remove(g_qa.c_str());
        bip::message_queue::remove(g_qb.c_str());
        bip::message_queue a(bip::create_only, g_qa.c_str(), 10, 64);
        bip::message_queue b(bip::create_only, g_qb.c_str(), 10, 64);
        char buf[64] = {0};
        pid_t pid = fork();
        if (pid == 0) {
            try {
                for (;;) {
                    bip::message_queue::size_type n;
                    unsigned prio;
                    a.receive(buf, sizeof buf, n, prio);
                    if (n == 0) {
                        if (!echo)
                            b.send(buf, 0, 0);
                        _exit(0);
                    }
                    if (echo)
                        b.send(buf, n, 0);
                }
            } catch (...) {
                _exit(3);
            }
        }
        if (pid < 0)
            return -1;
        uint64_t n = 0, start = bench_now_ns(), now = start;
        uint64_t end = start + (uint64_t)ms * 1000000u;
        bip::message_queue::size_type got;
        unsigned prio;
        for (;;) {
            for (int k = 0; k < 16; k++, n++) {
                a.send(buf, 64, 0);
                if (echo)
                    b.receive(buf, sizeof buf, got, prio);
            }
            now = bench_now_ns();
            if (now >= end)
                break;
        }
        a.send(buf, 0, 0);
        if (!echo)
            b.receive(buf, sizeof buf, got, prio);
        now = bench_now_ns();
        int status;
        waitpid(pid, &status, 0);
        bip::message_queue::remove(g_qa.c_str());
        bip::message_queue::remove(g_qb.c_str());
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return -1;
        return static_cast<double>(now - start) / static_cast<double>(n);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "shared_bench: boost message_queue: %s\n",
                     e.what());
        return -1;
    }
}

void cleanup()
{
    delete g_region;
    bip::shared_memory_object::remove(g_shm.c_str());
}

void add(const char *id, const char *name, double (*m)(void *, uint32_t),
         void *ctx)
{
    bench_case c = {};
    c.id = id;
    c.name = name;
    c.kind = BENCH_PEER;
    c.measure = m;
    c.ctx = ctx;
    bench_add(&c);
}

} // namespace

extern "C" void peers_boost_register(void)
{
    std::string tag = bench_tag();
    g_shm = tag + "-boost";
    g_qa = tag + "-bq-a";
    g_qb = tag + "-bq-b";
    try {
        bip::shared_memory_object::remove(g_shm.c_str());
        bip::shared_memory_object shm(bip::create_only, g_shm.c_str(),
                                      bip::read_write);
        shm.truncate(sizeof(page));
        g_region = new bip::mapped_region(shm, bip::read_write);
        g_page = new (g_region->get_address()) page;
        std::atexit(cleanup);
    } catch (const std::exception &e) {
        bench_skip("Boost.Interprocess", e.what());
        return;
    }
    add("boost.mutex64", "Boost interprocess_mutex + memcpy 64 B", loop_measure,
        reinterpret_cast<void *>(op_mutex64));
    add("boost.mqrt", "Boost message_queue 64 B round trip", mq_run,
        reinterpret_cast<void *>(1));
    add("boost.mqstream", "Boost message_queue 64 B streaming", mq_run,
        nullptr);
}
