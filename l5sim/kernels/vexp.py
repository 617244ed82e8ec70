"""exp(x) written out in float64 arithmetic, so that LLVM vectorises the loops that call it.

The platform's ``exp`` (libm) is a call that LLVM cannot vectorise; in the L5 cell's
dendritic sigmoid it cost 8 of the loop's 21 ns per neuron-step (10k column, issue 18). This
version is branch-free and the same on every platform, since it uses only IEEE-754 add,
multiply, fused multiply-add, floor and exact scaling by powers of two (libm's result differs
between libms, and between glibc's FMA and non-FMA builds).

Method (the classic argument reduction, e.g. Muller, *Elementary Functions*, 3rd ed. 2016,
ch. 11; Cody & Waite 1980 for the split constant):

    k = floor(x / ln 2 + 1/2),   r = (x - k ln2_hi) - k ln2_lo,   |r| <= ln(2) / 2 (+ rounding)
    exp(x) = 2^k (1 + p(r)),     p(r) = r + r^2/2! + ... + r^13/13!   (Horner, fused multiply-adds)

``ln2_hi`` has its low 32 bits zero, so ``k ln2_hi`` is exact for |k| < 2^20. The Taylor
remainder at |r| = 0.347 is below 5e-18, far under half an ulp of 1; the result is within
one ulp of exp(x) (``tests/test_vexp.py`` measures the largest error against ``math.exp`` on
millions of arguments). The Horner steps are explicit fused multiply-adds (:func:`fma`): one
rounding each instead of two, and a dependency chain half as long (the sigmoid's loop waited
on it: 1.85 -> 1.49 ns per element). 2^k is built from its exponent bits, as two factors so that the
whole range works: x > 709.79 gives inf, x < -745.14 gives 0 (results below 2^-1022 are
rounded twice, as subnormals), NaN gives NaN.
"""
from __future__ import annotations

import math
import struct
from fractions import Fraction

import numba as nb
from llvmlite import ir
from numba.core import types as nbt
from numba.extending import intrinsic

from .._numba_config import NJIT

LOG2E = 1.4426950408889634           # 1 / ln 2
LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 21 significant bits (low 32 bits zero)
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
#: Taylor coefficients 1/n!, n = 2..13, rounded to double
C = tuple(1.0 / math.factorial(n) for n in range(2, 14))
C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13 = C
X_MAX = 709.8      # exp(X_MAX) overflows to inf
X_MIN = -745.2     # exp(X_MIN) rounds to 0


@intrinsic
def _bits_as_float64(typingctx, bits):
    """The float64 whose bit pattern is the int64 ``bits`` (a bitcast, vectorisable)."""
    sig = nbt.float64(nbt.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c rounded once (IEEE-754 fusedMultiplyAdd: LLVM's ``llvm.fma``, one
    instruction where the CPU has FMA, a correctly rounded library call where it has not:
    the same result either way). Explicit, unlike a contraction LLVM may or may not make,
    so that vector lanes and scalar remainders round alike."""
    if not all(isinstance(t, nbt.Float) for t in (a, b, c)):
        return None
    sig = nbt.float64(nbt.float64, nbt.float64, nbt.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, [context.cast(builder, v, t, nbt.float64) for v, t in zip(args, signature.args)])

    return sig, codegen


def fma_py(a: float, b: float, c: float) -> float:
    """:func:`fma` in plain Python: the exact a * b + c (rationals), rounded once to the
    nearest double (``float`` of a Fraction rounds correctly); finite arguments."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


@nb.njit(inline="always", **NJIT)
def pow2(k):
    """2.0**k for an integer-valued float k in [-1022, 1023] (exact)."""
    return _bits_as_float64((nb.int64(k) + 1023) << 52)


@nb.njit(inline="always", **NJIT)
def exp(x):
    """exp(x) within one ulp, branch-free (selects only), for use in vectorised loops."""
    xc = x if x > X_MIN else X_MIN          # NaN -> X_MIN here; passed through at the end
    xc = xc if xc < X_MAX else X_MAX
    k = math.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = C13
    p = fma(r, p, C12)
    p = fma(r, p, C11)
    p = fma(r, p, C10)
    p = fma(r, p, C9)
    p = fma(r, p, C8)
    p = fma(r, p, C7)
    p = fma(r, p, C6)
    p = fma(r, p, C5)
    p = fma(r, p, C4)
    p = fma(r, p, C3)
    p = fma(r, p, C2)
    y = 1.0 + fma(r, r * p, r)
    k1 = math.floor(k * 0.5)
    y = y * pow2(k1) * pow2(k - k1)
    return y if x == x else x


def exp_py(x: float) -> float:
    """The same function in plain Python (same operations, same order: the same bits), for
    the reference integrators of the tests."""
    xc = x if x > X_MIN else X_MIN
    xc = xc if xc < X_MAX else X_MAX
    k = math.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    p = C13
    for c in (C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2):
        p = fma_py(r, p, c)
    y = 1.0 + fma_py(r, r * p, r)
    k1 = math.floor(k * 0.5)
    y = y * _pow2_py(k1) * _pow2_py(k - k1)
    return y if x == x else x


def _pow2_py(k: int) -> float:
    return struct.unpack("<d", struct.pack("<q", (int(k) + 1023) << 52))[0]
