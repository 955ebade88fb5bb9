#include <pybind11/pybind11.h>

#include "bindings/binders.h"
#include "common/cpu_features.h"
#include "common/errors.h"
#include "common/parallel.h"
#include "common/workspace.h"

#include <exception>
#include <chrono>
#include <thread>

#ifndef TIMBREFAST_VERSION
#define TIMBREFAST_VERSION "0.0.0+dev"
#endif

namespace py = pybind11;

namespace tf::bindings {
namespace {

// Exit safety. On CPython < 3.14 a daemon thread that leaves a core call (re-taking the GIL
// in ~gil_scoped_release, which is noexcept) after finalisation began is ended by
// pthread_exit, whose forced unwind through the noexcept frame calls std::terminate.
// Such a thread is parked instead: the interpreter is going away and exits normally.
std::terminate_handler g_previous_terminate = nullptr;
unsigned long g_main_thread = 0;

bool python_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

[[noreturn]] void terminate_at_exit() {
  if (python_finalizing() && PyThread_get_thread_ident() != g_main_thread && !std::current_exception()) {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (g_previous_terminate) g_previous_terminate();
  std::abort();
}

}  // namespace

void bind_common(py::module_& m) {
  m.attr("__version__") = TIMBREFAST_VERSION;

  // tf::TypeError -> TypeError; tf::ValueError derives from std::invalid_argument,
  // which pybind11 already maps to ValueError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const tf::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });

  g_main_thread = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
  g_previous_terminate = std::set_terminate(&terminate_at_exit);

  m.def(
      "release_memory", [] { return tf::release_memory(); }, py::call_guard<py::gil_scoped_release>(),
      "Free the per-thread workspaces not in use now; returns the bytes freed.");
  m.def("get_num_threads", &tf::get_num_threads,
        "Threads the core uses when a call does not say (default: hardware threads).");
  m.def("set_num_threads", &tf::set_num_threads, py::arg("n"),
        "Set the global thread count; n <= 0 restores the default.");
  m.def(
      "simd_level", [] { return std::string(tf::cpu::simd_name(tf::cpu::simd_level())); },
      "SIMD level the kernels use now: 'scalar', 'avx2' or 'avx512' (x86-64), 'scalar' or 'neon' (aarch64).");
  m.def(
      "simd_supported", [] { return std::string(tf::cpu::simd_name(tf::cpu::simd_supported())); },
      "Widest SIMD level this CPU supports.");
  m.def(
      "set_simd_cap",
      [](const std::string& cap) {
        tf::cpu::Simd c;
        if (cap == "scalar")
          c = tf::cpu::Simd::Scalar;
        else if (cap == "avx2")
          c = tf::cpu::Simd::Avx2;
        else if (cap == "avx512")
          c = tf::cpu::Simd::Avx512;
        else if (cap == "neon")
          c = tf::cpu::Simd::Neon;
        else
          throw tf::ValueError(
              tf::msg("simd cap must be 'scalar', 'avx2', 'avx512' or 'neon', got '", cap, "'"));
        return std::string(tf::cpu::simd_name(tf::cpu::set_simd_cap(c)));
      },
      py::arg("cap"), "Cap the SIMD level (for tests and benchmarks); returns the level in effect.");
  m.def(
      "_parallel_sum_check",
      [](long long n, int num_threads) {
        // Exercises the thread pool from Python: sums 0..n-1 over parallel chunks.
        std::atomic<long long> total{0};
        {
          py::gil_scoped_release nogil;
          tf::parallel_for(
              n,
              [&](int64_t b, int64_t e) {
                long long s = 0;
                for (int64_t i = b; i < e; ++i) s += i;
                total += s;
              },
              num_threads, 1);
        }
        return total.load();
      },
      py::arg("n"), py::arg("num_threads") = 0);
  m.def("_parallel_threads_check", &tf::parallel_distinct_threads, py::arg("num_threads") = 0,
        py::call_guard<py::gil_scoped_release>(),
        "Distinct threads that ran one parallel_for of short tasks (tests of the pool).");
  m.def(
      "_raise_check",
      [](const std::string& kind) {
        if (kind == "value") throw tf::ValueError("value error from the core");
        if (kind == "type") throw tf::TypeError("type error from the core");
        if (kind == "parallel") {
          py::gil_scoped_release nogil;
          tf::parallel_for(
              64, [](int64_t b, int64_t) {
                if (b >= 32) throw tf::ValueError("error inside a parallel task");
              },
              2, 1);
        }
        throw std::runtime_error("runtime error from the core");
      },
      py::arg("kind"), "Raises the named error (tests of exception translation).");
}

}  // namespace tf::bindings
