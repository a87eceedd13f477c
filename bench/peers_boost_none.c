/*
 * peers_boost_none.c - stands in for peer_boost.cpp when Boost's headers
 * (libboost-dev) or a C++ compiler were not found: the peer is reported
 * as skipped.
 */
#include "bench.h"

void peers_boost_register(void)
{
    bench_skip("Boost.Interprocess",
               "libboost-dev or a C++ compiler was not found when building");
}
