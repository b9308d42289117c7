"""Four-lane float64 vectors for Numba: a value type and six intrinsics.

Why by hand: the register-blocked products of :mod:`.tiles` keep a 4-row × 8-class tile of
partial sums in registers across the whole loop over columns. Written with scalar locals, that
needs LLVM's SLP vectoriser, which Numba turns off (``NUMBA_SLP_VECTORIZE=0`` by default, after
a miscompilation, numba#8705); written as array updates, every multiply-add becomes a load and a
store. :class:`F64x4` is an LLVM ``<4 x double>`` value that Numba carries in a register like a
float, so the tiles say exactly which vectors exist. Nothing here is ISA-specific: LLVM lowers
``<4 x double>`` to one AVX register, two SSE/NEON registers, or half an AVX-512 register.

Arithmetic is ``llvm.fma`` (one rounding per lane, the same result on every machine with or
without a hardware FMA), so a tile's sums are in a fixed order and thread-count independent.

``load4``/``store4`` take a C-contiguous float64 array and a flat element offset and do **no
bounds check**: the caller guarantees ``0 ≤ off`` and ``off + 4 ≤ ary.size``.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

_VT = ir.VectorType(ir.DoubleType(), 4)


class F64x4(types.Type):
    """Numba type of a ``<4 x double>`` value (four float64 lanes in one register)."""

    def __init__(self):
        super().__init__(name="F64x4")


f64x4 = F64x4()


@register_model(F64x4)
class _F64x4Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VT)


def _lanes_ptr(context, builder, aryty, ary, off):
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [off]), _VT.as_pointer())


def _is_f64_array(ary):
    return isinstance(ary, types.Array) and ary.dtype == types.float64 and ary.layout == "C"


@intrinsic
def load4(typingctx, ary, off):
    """``ary.flat[off:off+4]`` as one vector (unaligned load)."""
    if not (_is_f64_array(ary) and isinstance(off, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        off = context.cast(builder, args[1], sig.args[1], types.intp)
        return builder.load(_lanes_ptr(context, builder, sig.args[0], args[0], off), align=8)

    return f64x4(ary, off), codegen


@intrinsic
def store4(typingctx, ary, off, v):
    """``ary.flat[off:off+4] = v`` (unaligned store)."""
    if not (_is_f64_array(ary) and isinstance(off, types.Integer) and v == f64x4):
        return None

    def codegen(context, builder, sig, args):
        off = context.cast(builder, args[1], sig.args[1], types.intp)
        builder.store(args[2], _lanes_ptr(context, builder, sig.args[0], args[0], off), align=8)
        return context.get_dummy_value()

    return types.none(ary, off, f64x4), codegen


@intrinsic
def splat4(typingctx, x):
    """``(x, x, x, x)`` for a float32 or float64 ``x`` (float32 is widened exactly first)."""
    if x not in (types.float32, types.float64):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if sig.args[0] == types.float32:
            v = builder.fpext(v, ir.DoubleType())
        vec = builder.insert_element(ir.Constant(_VT, ir.Undefined), v,
                                     ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(vec, vec, ir.Constant(ir.VectorType(ir.IntType(32), 4),
                                                            [0, 0, 0, 0]))

    return f64x4(x), codegen


@intrinsic
def fma4(typingctx, a, b, c):
    """``a·b + c`` per lane with one rounding (``llvm.fma``)."""
    if not (a == f64x4 and b == f64x4 and c == f64x4):
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VT, [_VT] * 3),
                                            "llvm.fma.v4f64")
        return builder.call(fn, args)

    return f64x4(f64x4, f64x4, f64x4), codegen


@intrinsic
def add4(typingctx, a, b):
    """``a + b`` per lane."""
    if not (a == f64x4 and b == f64x4):
        return None

    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1])

    return f64x4(f64x4, f64x4), codegen


@intrinsic
def zero4(typingctx):
    """``(0, 0, 0, 0)``."""
    def codegen(context, builder, sig, args):
        return ir.Constant(_VT, [0.0] * 4)

    return f64x4(), codegen

