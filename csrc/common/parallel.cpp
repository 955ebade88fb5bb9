#include "common/parallel.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace tf {
namespace {

int default_threads() {
  if (const char* env = std::getenv("TIMBREFAST_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

std::atomic<int> g_threads{0};
thread_local bool t_in_worker = false;
thread_local int t_calls = 0;  // parallel_for calls this thread is inside (not as a worker)

// Lazily created, never destroyed, replaced (old one leaked) in a forked child.
template <class T>
T& lazy(std::atomic<T*>& slot) {
  T* p = slot.load(std::memory_order_acquire);
  if (p) return *p;
  T* fresh = new T();
  if (slot.compare_exchange_strong(p, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;  // another thread won the race
  return *p;
}

void install_fork_handlers();

// Outermost parallel_for calls in progress, and whether a fork is waiting for them.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  int active = 0;
  bool forking = false;
};
std::atomic<Gate*> g_gate{nullptr};
Gate& gate() {
  install_fork_handlers();
  return lazy(g_gate);
}

// The mutexes of new_fork_safe_mutex(), held across fork().
struct ForkLocks {
  std::mutex mu;
  std::vector<std::mutex*> list;
};
ForkLocks& fork_locks() {
  static ForkLocks* l = new ForkLocks();  // never destroyed
  return *l;
}

class Pool {
 public:
  // Run fn over `chunks` chunks using up to `workers` extra threads plus the caller.
  void run(int64_t chunks, int workers, const std::function<void(int64_t)>& chunk_fn) {
    ensure_workers(workers);
    std::unique_lock<std::mutex> lk(mu_);
    job_ = &chunk_fn;
    n_chunks_ = chunks;
    next_.store(0);
    done_.store(0);
    active_limit_ = workers;
    error_ = nullptr;
    ++generation_;
    lk.unlock();
    cv_.notify_all();
    work();  // the caller takes part
    lk.lock();
    done_cv_.wait(lk, [&] { return done_.load() == n_chunks_ && busy_ == 0; });
    job_ = nullptr;
    if (error_) {
      auto e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

  std::mutex submit_mu;

 private:
  void ensure_workers(int n) {
    std::lock_guard<std::mutex> lk(mu_);
    while (static_cast<int>(threads_.size()) < n) {
      int id = static_cast<int>(threads_.size());
      threads_.emplace_back([this, id] { loop(id); });
      threads_.back().detach();
    }
  }

  void work() {
    for (;;) {
      int64_t c = next_.fetch_add(1);
      if (c >= n_chunks_) break;
      bool skip;
      {
        std::lock_guard<std::mutex> lk(mu_);
        skip = error_ != nullptr;
      }
      if (!skip) {
        try {
          (*job_)(c);
        } catch (...) {
          std::lock_guard<std::mutex> lk(mu_);
          if (!error_) error_ = std::current_exception();
        }
      }
      if (done_.fetch_add(1) + 1 == n_chunks_) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_all();
      }
    }
  }

  void loop(int id) {
    t_in_worker = true;
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return generation_ != seen && job_ != nullptr; });
      seen = generation_;
      if (id >= active_limit_) continue;
      ++busy_;
      lk.unlock();
      work();
      lk.lock();
      --busy_;
      if (busy_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t n_chunks_ = 0;
  std::atomic<int64_t> next_{0}, done_{0};
  int active_limit_ = 0;
  int busy_ = 0;
  uint64_t generation_ = 0;
  std::exception_ptr error_;
};

// Never destroyed: at interpreter exit a worker may still be running a chunk. A forked
// child replaces it (its workers do not exist there) and starts new workers on demand.
std::atomic<Pool*> g_pool{nullptr};

// ---------------------------------------------------------------- fork handlers
// prepare: stop new outermost calls, wait for the running ones (their workers finish with
// them), then take the fork-safe mutexes. A fork from inside a call (never done by the
// core itself) does not wait for its own call.
void before_fork() {
  Gate& g = gate();
  {
    std::unique_lock<std::mutex> lk(g.mu);
    g.forking = true;
    const int own = (t_calls > 0 && !t_in_worker) ? 1 : 0;
    g.cv.wait(lk, [&] { return g.active <= own; });
  }
  ForkLocks& l = fork_locks();
  l.mu.lock();
  for (std::mutex* m : l.list) m->lock();
}

void release_fork_locks() {
  ForkLocks& l = fork_locks();
  for (auto it = l.list.rbegin(); it != l.list.rend(); ++it) (*it)->unlock();
  l.mu.unlock();
}

void after_fork_parent() {
  release_fork_locks();
  Gate& g = gate();
  std::lock_guard<std::mutex> lk(g.mu);
  g.forking = false;
  g.cv.notify_all();
}

void after_fork_child() {
  release_fork_locks();
  // The old pool's workers and the gate's waiters do not exist here; their mutexes and
  // condition variables may look busy. Start from fresh ones (the old ones are leaked).
  // The thread count setting (g_threads) is kept.
  g_pool.store(new Pool(), std::memory_order_release);
  // (A call this thread is inside, if any, ends on the old gate it entered.)
  g_gate.store(new Gate(), std::memory_order_release);
}

void install_fork_handlers() {
  static const bool installed = [] {
    return pthread_atfork(&before_fork, &after_fork_parent, &after_fork_child) == 0;
  }();
  (void)installed;
}

// Counts outermost parallel_for calls (the pool's own workers are inside one already).
class CallScope {
 public:
  CallScope() : gate_(t_calls == 0 && !t_in_worker ? &gate() : nullptr) {
    ++t_calls;
    if (!gate_) return;
    std::unique_lock<std::mutex> lk(gate_->mu);
    gate_->cv.wait(lk, [&] { return !gate_->forking; });
    ++gate_->active;
  }
  ~CallScope() {
    --t_calls;
    if (!gate_) return;
    std::lock_guard<std::mutex> lk(gate_->mu);
    if (--gate_->active == 0 && gate_->forking) gate_->cv.notify_all();
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  Gate* gate_;
};

}  // namespace

int get_num_threads() {
  int n = g_threads.load();
  return n > 0 ? n : default_threads();
}

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0); }

std::mutex* new_fork_safe_mutex() {
  install_fork_handlers();
  auto* m = new std::mutex();  // never destroyed
  ForkLocks& l = fork_locks();
  std::lock_guard<std::mutex> lk(l.mu);
  l.list.push_back(m);
  return m;
}

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int num_threads,
                  int64_t grain) {
  if (n <= 0) return;
  CallScope scope;
  int threads = num_threads > 0 ? num_threads : get_num_threads();
  grain = std::max<int64_t>(grain, 1);
  int64_t max_tasks = (n + grain - 1) / grain;
  if (threads <= 1 || max_tasks <= 1 || t_in_worker) {
    fn(0, n);
    return;
  }
  Pool& pool = lazy(g_pool);
  std::unique_lock<std::mutex> submit(pool.submit_mu, std::try_to_lock);
  if (!submit.owns_lock()) {  // another caller holds the pool: do the work here
    fn(0, n);
    return;
  }
  // A few chunks per thread balance uneven work without much overhead.
  int64_t chunks = std::min<int64_t>(max_tasks, static_cast<int64_t>(threads) * 4);
  int64_t step = (n + chunks - 1) / chunks;
  chunks = (n + step - 1) / step;
  std::function<void(int64_t)> chunk_fn = [&](int64_t c) {
    int64_t b = c * step;
    int64_t e = std::min(n, b + step);
    if (b < e) fn(b, e);
  };
  bool was = t_in_worker;
  t_in_worker = true;  // nested calls from the caller's own chunks run serially
  try {
    // Never more workers than chunks: a small batch under a large thread count must
    // not start threads that would find nothing to do.
    pool.run(chunks, static_cast<int>(std::min<int64_t>(threads, chunks)) - 1, chunk_fn);
  } catch (...) {
    t_in_worker = was;
    throw;
  }
  t_in_worker = was;
}

int parallel_distinct_threads(int num_threads) {
  const int threads = num_threads > 0 ? num_threads : get_num_threads();
  std::mutex mu;
  std::set<std::thread::id> ids;
  parallel_for(
      static_cast<int64_t>(threads) * 4,
      [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          std::lock_guard<std::mutex> lk(mu);
          ids.insert(std::this_thread::get_id());
        }
      },
      threads, 1);
  return static_cast<int>(ids.size());
}

}  // namespace tf
