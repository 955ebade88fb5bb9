#include "common/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
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

class Pool {
 public:
  static Pool& instance() {
    static Pool* p = new Pool();  // leaked on purpose: no join at interpreter exit
    return *p;
  }

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
  Pool() = default;

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

}  // namespace

int get_num_threads() {
  int n = g_threads.load();
  return n > 0 ? n : default_threads();
}

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0); }

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn, int num_threads,
                  int64_t grain) {
  if (n <= 0) return;
  int threads = num_threads > 0 ? num_threads : get_num_threads();
  grain = std::max<int64_t>(grain, 1);
  int64_t max_tasks = (n + grain - 1) / grain;
  if (threads <= 1 || max_tasks <= 1 || t_in_worker) {
    fn(0, n);
    return;
  }
  Pool& pool = Pool::instance();
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

}  // namespace tf
