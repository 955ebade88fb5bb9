// A small persistent thread pool: parallel_for over [0, n) in chunks.
//
// The global thread count (set_num_threads / TIMBREFAST_NUM_THREADS, default the
// number of hardware threads) is the only global state of the core. Every
// parallel_for may pass its own thread count (0 = the global one). Calls from
// inside a worker, or while another caller holds the pool, run serially in the
// calling thread, so nesting and concurrent callers never deadlock.
//
// Fork safety (pthread_atfork): before fork() the handlers wait until no parallel_for is
// in progress (new ones wait meanwhile) and take every mutex made by new_fork_safe_mutex();
// the child gets a fresh pool whose workers start on its first call with the configured
// thread count, so it runs multi-threaded like the parent.
//
// Exit safety: the pool and the state above are never destroyed (exit handlers cannot free
// what a still-running worker reads).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace tf {

int get_num_threads();
void set_num_threads(int n);  // n <= 0 restores the default

// fn(begin, end) is called on disjoint ranges covering [0, n). `grain` is the
// smallest range worth a task. Exceptions thrown by fn are rethrown in the caller
// (the first one wins; the remaining ranges are skipped).
void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int num_threads = 0,
                  int64_t grain = 1);

// A never-destroyed mutex that fork() never copies in a locked state: the fork handlers
// hold it across fork() and release it in parent and child. For locks of core caches that
// are taken outside parallel_for (e.g. the FFT plan cache).
std::mutex* new_fork_safe_mutex();

// Diagnostics (tests): how many distinct threads ran the chunks of one parallel_for of
// 4 * num_threads chunks that each take about a millisecond.
int parallel_distinct_threads(int num_threads);

}  // namespace tf
