// Derivatives of the frontends' per-element math, one cell at a time (shared by the C++
// backward and, when it exists, a CUDA one; the CPU tests exercise them through _core).
// Conventions (the subgradients documented in docs/frontends.md):
//   * |v|^p at v = 0: derivative 0 (also for p <= 1, where it is +inf or undefined);
//   * a soft mask where max(x, x_ref) is below the smallest normal float (the constant
//     0.5 / 0 of split_zeros) and every hard mask: derivative 0;
//   * a clamp (amin in dB, the clip range of the log) that is active: derivative 0.
#pragma once

#include <math.h>

#include "common/hd.h"
#include "frontend/mask_math.h"

namespace tf::frontend {

// d/dv of v^p for v >= 0 (the power applied to a magnitude).
static TF_HD double power_grad(double v, double p) {
  if (!(v > 0.0)) return 0.0;
  if (p == 2.0) return 2.0 * v;
  if (p == 1.0) return 1.0;
  return p * pow(v, p - 1.0);
}

// Partial derivatives of softmask_value(x, x_ref, power, hard, split_zeros) with respect to
// x (*dx) and x_ref (*dref): with u = x / z, v = x_ref / z, z = max(x, x_ref),
//   mask = u^q / (u^q + v^q),  d/dx = q u^(q-1) v^q / (z (u^q + v^q)^2),
//   d/dx_ref = -q u^q v^(q-1) / (z (u^q + v^q)^2).
// A factor u^(q-1) or v^(q-1) with a zero base (q < 1) is taken as 0.
static TF_HD void softmask_grad(float x, float x_ref, float power, bool hard, bool split_zeros, double* dx,
                                double* dref) {
  *dx = 0.0;
  *dref = 0.0;
  if (hard) return;
  const double z = x >= x_ref ? static_cast<double>(x) : static_cast<double>(x_ref);
  if (z < static_cast<double>(kFloatTiny)) return;
  const double u = static_cast<double>(x) / z, v = static_cast<double>(x_ref) / z;
  const double q = static_cast<double>(power);
  double uq, vq, uq1, vq1;  // u^q, v^q, u^(q-1), v^(q-1)
  if (q == 2.0) {
    uq = u * u;
    vq = v * v;
    uq1 = u;
    vq1 = v;
  } else if (q == 1.0) {
    uq = u;
    vq = v;
    uq1 = 1.0;
    vq1 = 1.0;
  } else {
    uq = pow(u, q);
    vq = pow(v, q);
    uq1 = u > 0.0 ? pow(u, q - 1.0) : 0.0;
    vq1 = v > 0.0 ? pow(v, q - 1.0) : 0.0;
  }
  const double den = uq + vq;
  const double c = q / (z * den * den);
  *dx = c * uq1 * vq;
  *dref = -c * uq * vq1;
}

// d/dx of 10 log10(max(amin, x)): 10 / (ln 10 x) where x > amin, else 0 (the clamp).
static TF_HD double db_grad(double x, double amin) {
  return x > amin ? 4.342944819032518 / x : 0.0;
}

// d/dx of ln(clip(x, lo, hi)): 1 / x inside [lo, hi], else 0.
static TF_HD double log_clipped_grad(double x, double lo, double hi) {
  return (x >= lo && x <= hi) ? 1.0 / x : 0.0;
}

}  // namespace tf::frontend
