"""Read an untrusted model file within stated bounds, deciding before allocating.

The model file (``docs/model-format.md``) is a ZIP of ``meta.json`` and ``.npy`` arrays. Every
size this module allocates is checked first against :class:`ModelLimits`, from numbers that cost
nothing to read: the file's size (``fstat``), the ZIP's entry count (its end record), each
entry's declared uncompressed size (the central directory), and each array's shape and dtype
(its ``.npy`` header). Entries are then read in bounded chunks that stop at the declared size,
so an entry that inflates beyond what it declares never fills memory. Failures are
:class:`~softlogit.io.errors.ModelFileError` with one sentence naming the file.

Why by hand rather than ``numpy.load``: ``np.load`` allocates the declared shape before it
reads, and ``zipfile.ZipFile.read`` inflates a whole entry before any check; neither can be
told a limit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import re
import stat
import struct
import zipfile

import numpy as np

from softlogit.io.errors import ModelFileError

_KiB, _MiB, _GiB = 1 << 10, 1 << 20, 1 << 30
_CHUNK = _MiB


@dataclasses.dataclass(frozen=True)
class ModelLimits:
    """Bounds on what a model file may make :func:`softlogit.load` allocate.

    Set from what a model of this kind can need (documented in ``docs/model-format.md``): a
    linear model holds K·p coefficients, K labels and p feature names, and its fit report
    a few histories of one number per iteration.
    """

    file_bytes: int = 1 * _GiB        #: the model file itself
    entries: int = 64                 #: ZIP entries (softlogit writes about a dozen)
    meta_bytes: int = 64 * _MiB       #: meta.json, uncompressed (feature names live there)
    json_depth: int = 32              #: nesting of meta.json (softlogit writes about 8)
    array_bytes: int = 512 * _MiB     #: one array, uncompressed
    total_bytes: int = 1 * _GiB       #: all entries together, uncompressed
    features: int = 1 << 22           #: p, the number of (encoded) features
    classes: int = 1 << 16            #: K
    parameters: int = 1 << 26         #: K·p coefficients
    history: int = 1 << 20            #: objective / gradient-norm history length
    text_chars: int = 4096            #: characters of one label or feature name


DEFAULT_LIMITS = ModelLimits()

#: The array dtypes a model file may hold (little-endian, no objects, no structured types).
ALLOWED_DTYPES = frozenset({"<f8", "<f4", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2",
                            "|u1", "|b1"})
_ARRAY_NAME = re.compile(r"arrays/[A-Za-z0-9_.]{1,200}\.npy")
_EOCD = b"PK\x05\x06"


def refuse(path, what: str) -> ModelFileError:
    """The error for a model file that is not what softlogit writes."""
    return ModelFileError(f"{path}: not a valid softlogit model file: {what}")


def read_file(path, limits: ModelLimits) -> bytes:
    """The whole file, refusing non-regular files and files over ``limits.file_bytes``."""
    path = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then says what it is.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{path}: is a directory, not a model file")
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{path}: is not a regular file (a device, pipe or socket); "
                                 f"a model file is a regular file")
        if info.st_size > limits.file_bytes:
            raise refuse(path, f"{info.st_size} bytes, more than any softlogit model needs "
                               f"(limit {limits.file_bytes})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            # Read what fstat promised and one byte more (a file that grows is refused): a
            # read of the limit itself would allocate the whole limit up front.
            data = fh.read(info.st_size + 1)
    finally:
        os.close(fd)
    if len(data) > info.st_size:
        raise refuse(path, "the file grew while being read")
    if not data:
        raise ModelFileError(f"{path}: the model file is empty")
    return data


def open_archive(data: bytes, path, limits: ModelLimits) -> zipfile.ZipFile:
    """The ZIP in ``data``, its entries checked: count, names, flags, method and sizes."""
    tail = data[-(65536 + 22):]
    end = tail.rfind(_EOCD)
    if end < 0 or len(tail) - end < 22:
        if data.startswith(b"PK\x03\x04"):
            raise ModelFileError(f"{path}: the model file is truncated or corrupted")
        raise ModelFileError(f"{path}: not a softlogit model file")
    n_entries, cd_size = struct.unpack("<HI", tail[end + 10:end + 16])
    if n_entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        raise refuse(path, "a ZIP64 archive (softlogit models never need one)")
    if n_entries > limits.entries:
        raise refuse(path, f"{n_entries} entries (softlogit writes at most {limits.entries})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, struct.error, EOFError, OverflowError):
        if data.startswith(b"PK\x03\x04"):
            raise ModelFileError(f"{path}: the model file is truncated or corrupted") from None
        raise ModelFileError(f"{path}: not a softlogit model file") from None
    infos = archive.infolist()
    seen, total = set(), 0
    for info in infos:
        name = info.filename
        if name in seen:
            raise refuse(path, f"two entries named {name!r} (a ZIP tool would show one, "
                               f"a reader might use the other)")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise refuse(path, f"entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse(path, f"entry {name!r} uses compression method {info.compress_type}; "
                               f"softlogit reads only stored and deflate entries")
        limit = limits.meta_bytes if name == "meta.json" else limits.array_bytes
        if info.file_size > limit:
            raise refuse(path, f"entry {name!r} declares {info.file_size} bytes uncompressed "
                               f"(limit {limit})")
        total += info.file_size
    if total > limits.total_bytes:
        raise refuse(path, f"its entries declare {total} bytes uncompressed "
                           f"(limit {limits.total_bytes})")
    if "meta.json" not in seen:
        raise ModelFileError(f"{path}: not a softlogit model file (no meta.json)")
    for name in seen:
        if name != "meta.json" and not _ARRAY_NAME.fullmatch(name):
            raise refuse(path, f"unexpected entry {name[:80]!r}")
    return archive


def read_entry(archive: zipfile.ZipFile, name: str, path) -> bytes:
    """An entry's bytes, read in chunks that stop at its declared size (checked by
    :func:`open_archive`): an entry that inflates further is refused, not held."""
    info = archive.getinfo(name)
    parts, size = [], 0
    with archive.open(info) as fh:
        while True:
            chunk = fh.read(min(_CHUNK, info.file_size - size + 1))
            if not chunk:
                break
            size += len(chunk)
            if size > info.file_size:
                raise refuse(path, f"entry {name!r} inflates beyond its declared size")
            parts.append(chunk)
    if size != info.file_size:
        raise ModelFileError(f"{path}: the model file is truncated or corrupted ({name!r} "
                             f"holds {size} of its {info.file_size} bytes)")
    return b"".join(parts)


def parse_meta(payload: bytes, path, limits: ModelLimits) -> dict:
    """``meta.json`` as a dict: UTF-8, depth at most ``limits.json_depth``, no duplicate keys,
    no ``NaN``/``Infinity`` and no number that is not a finite float (``1e400``)."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(path, f"meta.json is not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start})") from None
    depth = json_depth(text)
    if depth > limits.json_depth:
        raise refuse(path, f"meta.json is nested {depth} levels deep "
                           f"(limit {limits.json_depth})")

    def number(token):
        value = float(token)
        if not math.isfinite(value):
            raise ValueError(f"the number {token[:40]} is out of range")
        return value

    def constant(token):
        raise ValueError(f"{token} is not a JSON number")

    def unique_keys(pairs):
        result = dict(pairs)
        if len(result) != len(pairs):  # find the repeat in one pass (an object may be huge)
            seen = set()
            repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise ValueError(f"key {repeated[:80]!r} appears twice in one object")
        return result

    try:
        meta = json.loads(text, parse_float=number, parse_constant=constant,
                          object_pairs_hook=unique_keys)
    except (ValueError, RecursionError) as exc:
        raise refuse(path, f"meta.json: {_line(exc)}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: not a softlogit model file (meta.json is not an object)")
    return meta


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON ``text``, strings skipped (linear, no recursion)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    codes = np.frombuffer(stripped.encode("utf-8", "replace"), dtype=np.uint8)
    step = (np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
            - np.isin(codes, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(step).max(initial=0))


def read_array(payload: bytes, name: str, path, limits: ModelLimits) -> np.ndarray:
    """The array in ``.npy`` bytes, its header checked before anything is allocated:
    dtype in :data:`ALLOWED_DTYPES` (or bounded Unicode), element count and byte size within
    ``limits``, and the data exactly as long as the header says."""
    fh = io.BytesIO(payload)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f".npy format version {version}")
    except (ValueError, SyntaxError, TypeError, struct.error, EOFError, OverflowError) as exc:
        raise refuse(path, f"{name} is not a valid .npy array ({_line(exc)})") from None
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
        raise refuse(path, f"{name} holds Python objects or a structured dtype ({dtype}); "
                           f"a model file holds plain numbers and text")
    text = dtype.kind == "U"
    if text and (dtype.str[0] == ">" or not 0 < dtype.itemsize <= 4 * limits.text_chars):
        raise refuse(path, f"{name} has text dtype {dtype.str} (at most {limits.text_chars} "
                           f"characters, little-endian)")
    if not text and dtype.str not in ALLOWED_DTYPES:
        raise refuse(path, f"{name} has dtype {dtype.str}, not one softlogit writes")
    count = math.prod(int(n) for n in shape)  # Python ints: no overflow
    if count * dtype.itemsize > limits.array_bytes:
        raise refuse(path, f"{name} declares shape {tuple(shape)} ({count} elements), more "
                           f"than a model needs (limit {limits.array_bytes} bytes)")
    offset = fh.tell()
    if len(payload) - offset != count * dtype.itemsize:
        raise refuse(path, f"{name} declares shape {tuple(shape)} but holds "
                           f"{len(payload) - offset} bytes of data")
    array = np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def checksum(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _line(exc) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
