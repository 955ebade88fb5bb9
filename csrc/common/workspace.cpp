#include "common/workspace.h"

#include <cstdlib>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/parallel.h"

namespace tf {
namespace {

// Never destroyed (a thread may unregister its workspace after static destructors ran);
// its mutex is fork-safe.
struct Registry {
  std::mutex* mu = new_fork_safe_mutex();
  std::vector<Workspace*> list;
};
Registry* const g_registry = new Registry();  // at load time, before any thread exists
Registry& registry() { return *g_registry; }

void trim_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace

Workspace::Workspace() = default;

void Workspace::enroll() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(*r.mu);
  if (registered_) return;
  r.list.push_back(this);
  registered_ = true;
}

Workspace::~Workspace() { unregister(); }

void Workspace::unregister() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(*r.mu);
  if (!registered_) return;
  registered_ = false;
  for (auto it = r.list.begin(); it != r.list.end(); ++it) {
    if (*it == this) {
      r.list.erase(it);
      break;
    }
  }
}

Workspace::Use::Use(Workspace& w) : w_(w) {
  w_.mu_.lock();
  ++w_.depth_;
}

Workspace::Use::~Use() {
  const bool over = --w_.depth_ == 0 && w_.bytes() > workspace_high_water();
  if (over) w_.release();
  w_.mu_.unlock();
  if (over) trim_heap();
}

std::size_t workspace_high_water() {
  static const std::size_t bytes = [] {
    double mib = 64.0;
    if (const char* env = std::getenv("TIMBREFAST_WORKSPACE_MB")) {
      char* end = nullptr;
      const double v = std::strtod(env, &end);
      if (end != env && v >= 0.0) mib = v;
    }
    const double b = mib * 1048576.0;
    return b >= 1.8e19 ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(b);
  }();
  return bytes;
}

std::size_t release_memory() {
  std::size_t freed = 0;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lk(*r.mu);
    for (Workspace* w : r.list) {
      if (!w->mu_.try_lock()) continue;  // in use by its thread now
      if (w->depth_ > 0) {                // in use by this very thread (a nested call)
        w->mu_.unlock();
        continue;
      }
      freed += w->bytes();
      w->release();
      w->mu_.unlock();
    }
  }
  trim_heap();
  return freed;
}

}  // namespace tf
