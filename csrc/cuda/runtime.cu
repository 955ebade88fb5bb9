#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda/runtime.h"

namespace tf::cuda {

int device_count() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return 0;
  }
  return n;
}

int runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

int driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) return 0;
  return v;
}

std::string status() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return std::string("not usable: ") + cudaGetErrorString(err);
  }
  if (n == 0) return "not usable: no CUDA device";
  return "usable: " + std::to_string(n) + " device(s)";
}

std::string compiled_architectures() {
#ifdef TF_CUDA_ARCHS
  return TF_CUDA_ARCHS;
#else
  return "sm_80, sm_90, compute_90 (PTX)";
#endif
}

void check(int err, const char* what) {
  if (err != 0) {
    cudaGetLastError();
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " +
                             cudaGetErrorString(static_cast<cudaError_t>(err)));
  }
}

}  // namespace tf::cuda
