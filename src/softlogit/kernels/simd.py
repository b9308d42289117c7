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



# --- eight lanes: one AVX-512 register (two AVX2 registers; see :mod:`.tiles` for when) ------

_VT8 = ir.VectorType(ir.DoubleType(), 8)


class F64x8(types.Type):
    """Numba type of an ``<8 x double>`` value (one AVX-512 register, two AVX2 ones)."""

    def __init__(self):
        super().__init__(name="F64x8")


f64x8 = F64x8()


@register_model(F64x8)
class _F64x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VT8)


def _lanes8_ptr(context, builder, aryty, ary, off):
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [off]), _VT8.as_pointer())


@intrinsic
def load8(typingctx, ary, off):
    """``ary.flat[off:off+8]`` as one vector (unaligned load, no bounds check)."""
    if not (_is_f64_array(ary) and isinstance(off, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        off = context.cast(builder, args[1], sig.args[1], types.intp)
        return builder.load(_lanes8_ptr(context, builder, sig.args[0], args[0], off), align=8)

    return f64x8(ary, off), codegen


@intrinsic
def store8(typingctx, ary, off, v):
    """``ary.flat[off:off+8] = v`` (unaligned store, no bounds check)."""
    if not (_is_f64_array(ary) and isinstance(off, types.Integer) and v == f64x8):
        return None

    def codegen(context, builder, sig, args):
        off = context.cast(builder, args[1], sig.args[1], types.intp)
        builder.store(args[2], _lanes8_ptr(context, builder, sig.args[0], args[0], off), align=8)
        return context.get_dummy_value()

    return types.none(ary, off, f64x8), codegen


@intrinsic
def splat8(typingctx, x):
    """``(x, …, x)`` (8 lanes) for a float32 or float64 ``x`` (float32 widened exactly first)."""
    if x not in (types.float32, types.float64):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if sig.args[0] == types.float32:
            v = builder.fpext(v, ir.DoubleType())
        vec = builder.insert_element(ir.Constant(_VT8, ir.Undefined), v,
                                     ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(vec, vec, ir.Constant(ir.VectorType(ir.IntType(32), 8),
                                                            [0] * 8))

    return f64x8(x), codegen


@intrinsic
def fma8(typingctx, a, b, c):
    """``a·b + c`` per lane with one rounding (``llvm.fma``), 8 lanes."""
    if not (a == f64x8 and b == f64x8 and c == f64x8):
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VT8, [_VT8] * 3),
                                            "llvm.fma.v8f64")
        return builder.call(fn, args)

    return f64x8(f64x8, f64x8, f64x8), codegen


@intrinsic
def zero8(typingctx):
    """``(0, …, 0)`` (8 lanes)."""
    def codegen(context, builder, sig, args):
        return ir.Constant(_VT8, [0.0] * 8)

    return f64x8(), codegen


@intrinsic
def prefetch(typingctx, ary, off):
    """Hint the CPU to bring the cache line holding ``ary.flat[off]`` into L1 (``llvm.prefetch``,
    read, locality 3: ``prefetcht0`` on x86). Never faults (any offset), changes no result."""
    if not (isinstance(ary, types.Array) and isinstance(off, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        off = context.cast(builder, args[1], sig.args[1], types.intp)
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        ptr = builder.bitcast(builder.gep(data, [off]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.none(ary, off), codegen


def _shuffle4(name, mask):
    """An intrinsic ``name(a, b)``: the lanes ``mask`` of the eight lanes ``(a, b)``."""

    def typer(typingctx, a, b):
        if not (a == f64x4 and b == f64x4):
            return None

        def codegen(context, builder, sig, args):
            return builder.shuffle_vector(args[0], args[1],
                                          ir.Constant(ir.VectorType(ir.IntType(32), 4), mask))

        return f64x4(f64x4, f64x4), codegen

    typer.__name__ = name
    return intrinsic(typer)


#: ``(a₀, b₀, a₂, b₂)`` and ``(a₁, b₁, a₃, b₃)``: interleave the even / odd lanes of a and b.
unpack_lo4 = _shuffle4("unpack_lo4", [0, 4, 2, 6])
unpack_hi4 = _shuffle4("unpack_hi4", [1, 5, 3, 7])
#: ``(a₀, a₁, b₀, b₁)`` and ``(a₂, a₃, b₂, b₃)``: the low / high halves of a and b.
halves_lo4 = _shuffle4("halves_lo4", [0, 1, 4, 5])
halves_hi4 = _shuffle4("halves_hi4", [2, 3, 6, 7])


@intrinsic
def fma1(typingctx, a, b, c):
    """``a·b + c`` for float64 scalars with one rounding (``llvm.fma.f64``): the same rounding as
    one lane of :func:`fma4`/:func:`fma8`, for remainders that must sum bitwise alike."""
    if not (a == types.float64 and b == types.float64 and c == types.float64):
        return None

    def codegen(context, builder, sig, args):
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(d, [d] * 3),
                                            "llvm.fma.f64")
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen
