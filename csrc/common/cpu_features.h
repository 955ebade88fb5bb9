// Run-time choice of the widest SIMD level this CPU supports.
// The TIMBREFAST_SIMD environment variable (scalar|avx2|avx512|neon) caps the level,
// which the tests use to exercise every code path on one machine.
//
// Levels per architecture: x86-64 scalar < avx2 < avx512; aarch64 scalar < neon (NEON is
// part of the aarch64 baseline, so every aarch64 CPU has it). "scalar" is the target's
// baseline code (compiler-vectorised, SSE2 or NEON width). A cap that names a level of the
// other architecture (avx2 on aarch64, neon on x86) does not lower the level below that
// architecture's widest one.
#pragma once

namespace tf::cpu {

enum class Simd : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

// Highest level usable now: min(what the CPU supports, the cap).
Simd simd_level();
// What the CPU supports, ignoring the cap.
Simd simd_supported();
// Cap the level at run time (tests, benchmarks); returns the effective level.
Simd set_simd_cap(Simd cap);
const char* simd_name(Simd s);

}  // namespace tf::cpu
