"""Build a corpus of hostile model files (no binary blobs in the repository: all made here).

Each case is a file an attacker or an unlucky user could hand to ``softlogit predict`` /
``evaluate``: memory and time bombs, files whose contents differ from what a reviewer sees,
inconsistent arrays with valid checksums, and the plain broken ones (truncated, foreign,
pickled, newer version). :func:`build` writes them next to a good model and returns, per file,
a fragment the one-line error must contain.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile

import numpy as np


def members_of(path) -> tuple[dict, dict]:
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    return json.loads(members.pop("meta.json")), members


def write_model(path, meta, members, *, meta_text=None, extra=(), compression=zipfile.ZIP_DEFLATED):
    """A model zip from ``meta`` and ``members``; checksums recomputed so they stay valid."""
    for name, payload in members.items():
        refs = meta.get("arrays") if isinstance(meta, dict) else None
        if isinstance(refs, dict) and isinstance(refs.get(name), dict):  # a mutated ref stays
            refs[name]["sha256"] = hashlib.sha256(payload).hexdigest()
    text = meta_text if meta_text is not None else json.dumps(meta)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("meta.json", text)
        for name, payload in list(members.items()) + list(extra):
            archive.writestr(name, payload)


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=isinstance(array, np.ndarray) and array.dtype == object)
    return buffer.getvalue()


def npy_with_header(header: str, data: bytes = b"") -> bytes:
    """A ``.npy`` (version 1.0) with a hand-written header: it may declare anything."""
    text = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1") + data


def patch_central_directory(path, name: str, *, flags=None, method=None, file_size=None):
    """Rewrite fields of ``name``'s central-directory (and local) header in place."""
    data = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    local = info.header_offset
    start = 0  # find the central record whose name matches
    while True:
        central = data.find(b"PK\x01\x02", start)
        n = struct.unpack("<H", data[central + 28:central + 30])[0]
        if data[central + 46:central + 46 + n] == name.encode():
            break
        start = central + 4
    if flags is not None:
        struct.pack_into("<H", data, central + 8, flags)
        struct.pack_into("<H", data, local + 6, flags)
    if method is not None:
        struct.pack_into("<H", data, central + 10, method)
        struct.pack_into("<H", data, local + 8, method)
    if file_size is not None:
        struct.pack_into("<I", data, central + 24, file_size)
        struct.pack_into("<I", data, local + 22, file_size)
    open(path, "wb").write(bytes(data))


def build(root, good_model) -> dict[str, str]:
    """Write the hostile files into ``root``; returns ``{file name: expected fragment}``."""
    root = os.fspath(root)
    good = open(good_model, "rb").read()
    meta0, members0 = members_of(good_model)
    cases: dict[str, str] = {}

    def fresh():
        return json.loads(json.dumps(meta0)), dict(members0)

    def case(name, fragment):
        cases[name] = fragment
        return os.path.join(root, name)

    def edited(name, fragment, edit=None, member=None, **kw):
        meta, members = fresh()
        if member is not None:
            members[member[0]] = member[1]
        if edit is not None:
            edit(meta, members)
        write_model(case(name, fragment), meta, members, **kw)

    est = meta0["estimator"]
    coef_ref, classes_ref = est["arrays"]["coef_"], est["arrays"]["classes_"]
    coef = np.load(io.BytesIO(members0[coef_ref]))

    # --- the plain broken files ----------------------------------------------------------
    open(case("truncated.softlogit", "truncated or corrupted"), "wb").write(good[:len(good) // 2])
    open(case("empty.softlogit", "the model file is empty"), "wb").write(b"")
    open(case("text.softlogit", "not a softlogit model file"), "wb").write(b"a,b\n1,2\n")
    with zipfile.ZipFile(case("foreign.softlogit", "not a softlogit model file"), "w") as z:
        z.writestr("hello.txt", "hi")
    edited("pickled.softlogit", "holds Python objects",
           member=(coef_ref, npy(np.array([{"a": 1}], dtype=object))))
    edited("newer.softlogit", "is newer than this softlogit reads",
           edit=lambda m, _: m.update(format_version=999))
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0xFF
    open(case("flipped.softlogit", "corrupted"), "wb").write(bytes(flipped))

    # --- memory and time bombs -------------------------------------------------------------
    os.symlink("/dev/zero", case("devzero.softlogit", "not a regular file"))
    os.mkfifo(case("fifo.softlogit", "not a regular file"))
    with open(case("huge.softlogit", "more than any softlogit model needs"), "wb") as fh:
        fh.truncate(3 << 30)  # sparse: 3 GiB declared, no disk used
    edited("meta_bomb.softlogit", "meta.json' declares",
           meta_text=json.dumps(meta0) + " " * (80 << 20))  # 80 MiB of blanks, ~80 KB zipped
    path = case("coef_bomb.softlogit", "declares 4026531840 bytes")
    write_model(path, *fresh())
    patch_central_directory(path, coef_ref, file_size=0xF0000000)
    path = case("coef_lies.softlogit", "corrupted")  # inflates beyond what it declares
    meta, members = fresh()
    members[coef_ref] = npy(np.zeros((1, 1 << 20)))
    write_model(path, meta, members)
    patch_central_directory(path, coef_ref, file_size=len(members0[coef_ref]))
    edited("classes_huge_shape.softlogit", "more than a model needs",
           member=(classes_ref, npy_with_header(
               "{'descr': '<U8', 'fortran_order': False, 'shape': (400000000,), }")))
    edited("classes_empty_strings.softlogit", "text dtype",
           member=(classes_ref, npy_with_header(
               "{'descr': '<U0', 'fortran_order': False, 'shape': (400000000,), }")),
           edit=lambda m, _: m["arrays"][classes_ref].update(object=True))
    edited("shape_lies.softlogit", "holds 16 bytes of data",
           member=(coef_ref, npy_with_header(
               "{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 1000), }",
               b"\0" * 16)))
    edited("deep.softlogit", "nested",
           meta_text=json.dumps(meta0)[:-1] + ', "x": ' + "[" * 100000 + "]" * 100000 + "}")
    edited("overflow.softlogit", "out of range",
           meta_text=json.dumps(meta0).replace('"tol": ', '"tol": 1e400, "_t": ', 1))
    edited("many_entries.softlogit", "entries",
           extra=[(f"arrays/x{i}.npy", b"") for i in range(100)])

    # --- what runs is not what a reviewer sees ----------------------------------------------
    edited("duplicate_entry.softlogit", "two entries named",
           extra=[(coef_ref, npy(coef * -1))])
    edited("unexpected_entry.softlogit", "unexpected entry",
           extra=[("../../evil.npy", b"x")])
    edited("unlisted_array.softlogit", "unexpected entry",
           extra=[("arrays/evil.npy", npy(np.zeros(3)))])
    edited("duplicate_json_key.softlogit", "appears twice",
           meta_text=json.dumps(meta0)[:-1] + ', "kind": "estimator"}')
    path = case("encrypted.softlogit", "encrypted")
    write_model(path, *fresh())
    patch_central_directory(path, coef_ref, flags=0x1)
    path = case("compression.softlogit", "compression method 99")
    write_model(path, *fresh())
    patch_central_directory(path, coef_ref, method=99)
    edited("big_endian.softlogit", "dtype >f8",
           member=(coef_ref, npy(coef.astype(">f8"))))

    # --- arrays that load but do not fit the meta (valid checksums) ------------------------
    nan = coef.copy()
    nan[0, 0] = np.nan
    edited("nan_coef.softlogit", "NaN or infinite", member=(coef_ref, npy(nan)))
    edited("coef_shape.softlogit", "coef_ has shape",
           member=(coef_ref, npy(np.zeros((1, coef.shape[1] + 2)))))
    edited("coef_1d.softlogit", "coef_ has shape", member=(coef_ref, npy(coef.ravel())))
    edited("coef_text.softlogit", "coef_ has shape",
           member=(coef_ref, npy(np.array([["a"] * coef.shape[1]]))))
    edited("intercept_shape.softlogit", "intercept_ has shape",
           member=(est["arrays"]["intercept_"], npy(np.zeros(3))))
    edited("classes_repeat.softlogit", "not sorted without repeats",
           member=(classes_ref, npy(np.array(["hi", "hi"]))))
    edited("classes_three.softlogit", "coef_ has shape",
           member=(classes_ref, npy(np.array(["a", "b", "c"]))))
    edited("classes_nan.softlogit", "NaN or infinite",
           member=(classes_ref, npy(np.array([0.0, np.nan]))),
           edit=lambda m, _: m["arrays"][classes_ref].update(object=False))

    def set_attr(key, value):
        return lambda m, _: m["estimator"]["attributes"].update({key: value})

    edited("n_features_text.softlogit", "n_features_in_", edit=set_attr("n_features_in_", "3"))
    edited("n_features_huge.softlogit", "n_features_in_",
           edit=set_attr("n_features_in_", 10 ** 30))
    edited("attribute_shadows_method.softlogit", "not a fitted attribute",
           edit=set_attr("predict_proba", 1))
    edited("array_shadows_method.softlogit", "is not a fitted attribute",
           edit=lambda m, _: m["estimator"]["arrays"].update(predict=coef_ref))
    edited("unknown_param.softlogit", "has no parameter",
           edit=lambda m, _: m["estimator"]["params"].update(evil=1))
    edited("bad_param.softlogit", "estimator parameters",
           edit=lambda m, _: m["estimator"]["params"].update(penalty="l3"))
    edited("bad_float_tag.softlogit", "estimator parameters",
           edit=lambda m, _: m["estimator"]["params"].update(C={"__float__": "1e999"}))
    edited("unknown_class.softlogit", "unknown estimator class",
           edit=lambda m, _: m["estimator"].update({"class": "os.system"}))
    edited("no_coef.softlogit", "has no coef_",
           edit=lambda m, _: m["estimator"]["arrays"].pop("coef_"))
    edited("report_n_iter.softlogit", "fit_report",
           edit=lambda m, _: m["estimator"]["fit_report"].update(n_iter=-1))

    def enc(key, value):
        return lambda m, _: m["encoder"].update({key: value})

    columns = meta0["encoder"]["columns"]
    edited("encoder_names.softlogit", "do not follow from its columns",
           edit=enc("feature_names_out", [n + "x" for n in meta0["encoder"]["feature_names_out"]]))
    edited("encoder_int_categories.softlogit", "categories that are not distinct text",
           edit=enc("columns", [dict(c, categories=[1, 2]) if c["kind"] == "categorical"
                                else c for c in columns]))
    edited("encoder_kind.softlogit", "column is malformed",
           edit=enc("columns", [dict(c, kind="evil") for c in columns]))
    edited("encoder_short.softlogit", "the encoder makes",
           edit=enc("feature_names_out", meta0["encoder"]["feature_names_out"][:-1]))
    scale_ref = meta0["encoder"]["arrays"]["scale"]
    edited("encoder_zero_scale.softlogit", "scale has values",
           member=(scale_ref, npy(np.zeros(coef.shape[1]))))
    edited("encoder_inf_fill.softlogit", "NaN or infinite",
           member=(meta0["encoder"]["arrays"]["fill"], npy(np.full(coef.shape[1], np.inf))))
    edited("target_name_list.softlogit", "target_name",
           edit=lambda m, _: m.update(target_name=["a"]))
    edited("kind_unknown.softlogit", "kind",
           edit=lambda m, _: m.update(kind="pickle"))
    return cases
