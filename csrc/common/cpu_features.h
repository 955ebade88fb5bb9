// Run-time choice of the widest SIMD level this CPU supports.
// The TIMBREFAST_SIMD environment variable (scalar|avx2|avx512) caps the level,
// which the tests use to exercise every code path on one machine.
#pragma once

namespace tf::cpu {

enum class Simd : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// Highest level usable now: min(what the CPU supports, the cap).
Simd simd_level();
// What the CPU supports, ignoring the cap.
Simd simd_supported();
// Cap the level at run time (tests, benchmarks); returns the effective level.
Simd set_simd_cap(Simd cap);
const char* simd_name(Simd s);

}  // namespace tf::cpu
