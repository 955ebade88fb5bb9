#include "frontend/fft.h"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "common/errors.h"
#include "common/parallel.h"

namespace tf::frontend {

FftPlan::FftPlan(int n_fft) {
  TF_CHECK(is_fft_size(n_fft) && n_fft <= kMaxFft, "n_fft must be a power of two between 2 and ",
           kMaxFft, ", got ", n_fft);
  const int m = n_fft / 2;
  const double two_pi = 6.283185307179586476925286766559;
  const int nc = m;  // radix-4 passes use W^p, W^2p and W^3p: indices below 3m/4
  cw_re_.resize(nc);
  cw_im_.resize(nc);
  for (int j = 0; j < nc; ++j) {
    cw_re_[j] = static_cast<float>(std::cos(two_pi * j / m));
    cw_im_[j] = static_cast<float>(-std::sin(two_pi * j / m));
  }
  rw_re_.resize(m + 1);
  rw_im_.resize(m + 1);
  for (int k = 0; k <= m; ++k) {
    rw_re_[k] = static_cast<float>(std::cos(two_pi * k / n_fft));
    rw_im_[k] = static_cast<float>(-std::sin(two_pi * k / n_fft));
  }
  tables_.n_fft = n_fft;
  tables_.m = m;
  tables_.cw_re = cw_re_.data();
  tables_.cw_im = cw_im_.data();
  tables_.rw_re = rw_re_.data();
  tables_.rw_im = rw_im_.data();
}

namespace {
// The plan cache: created when the module loads, never destroyed (a pool thread may still
// read a plan while exit handlers run); the mutex is fork-safe (common/parallel.h).
std::mutex& g_plans_mu = *tf::new_fork_safe_mutex();
std::map<int, std::unique_ptr<FftPlan>>& g_plans = *new std::map<int, std::unique_ptr<FftPlan>>();
}  // namespace

const FftPlan& fft_plan(int n_fft) {
  std::lock_guard<std::mutex> lock(g_plans_mu);
  auto& plans = g_plans;
  auto it = plans.find(n_fft);
  if (it == plans.end()) it = plans.emplace(n_fft, std::make_unique<FftPlan>(n_fft)).first;
  return *it->second;
}

void FftScratch::reserve(int n_fft) {
  const std::size_t m = static_cast<std::size_t>(n_fft / 2);
  ensure(zr, m * kLanes);
  ensure(zi, m * kLanes);
  ensure(sr, m * kLanes);
  ensure(si, m * kLanes);
  ensure(xr, (m + 1) * kLanes);
  ensure(xi, (m + 1) * kLanes);
}

}  // namespace tf::frontend
