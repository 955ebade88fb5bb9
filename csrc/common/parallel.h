// A small persistent thread pool: parallel_for over [0, n) in chunks.
//
// The global thread count (set_num_threads / TIMBREFAST_NUM_THREADS, default the
// number of hardware threads) is the only global state of the core. Every
// parallel_for may pass its own thread count (0 = the global one). Calls from
// inside a worker, or while another caller holds the pool, run serially in the
// calling thread, so nesting and concurrent callers never deadlock.
#pragma once

#include <cstdint>
#include <functional>

namespace tf {

int get_num_threads();
void set_num_threads(int n);  // n <= 0 restores the default

// fn(begin, end) is called on disjoint ranges covering [0, n). `grain` is the
// smallest range worth a task. Exceptions thrown by fn are rethrown in the caller
// (the first one wins; the remaining ranges are skipped).
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int num_threads = 0,
                  int64_t grain = 1);

}  // namespace tf
