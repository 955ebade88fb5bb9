// Direct dot-product kernels of the few-query search path, one per SIMD level.
#pragma once

#include <cstdint>

namespace tf::search {

// out[i * m + j] = <row i, q_j>; row i = g + (rows ? rows[i] : i) * d.
using DotFn = void (*)(const float* g, const int64_t* rows, int64_t count, int64_t d, const float* q, int64_t m,
                       float* out);

DotFn dot_kernel();  // for the current SIMD level
#if defined(TF_X86)
DotFn dot_kernel_avx2();
DotFn dot_kernel_avx512();
#endif

}  // namespace tf::search
