"""Hostile model and data files, run through ``load``, ``predict`` and ``evaluate``.

The corpus is built by :mod:`hostile_models` (nothing binary is committed). All cases run in
ONE subprocess (Python and softlogit start once) under a memory limit (``RLIMIT_AS``: the
process's size after imports plus 1 GiB, far below what any of the bombs would take) and a
time limit: each must give one ``error:`` line that names the file and says what is wrong,
exit status 1, no traceback, and the process's peak memory stays small.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

from softlogit.cli import main

sys.path.insert(0, os.path.dirname(__file__))
import hostile_models  # noqa: E402

DRIVER = textwrap.dedent(r'''
    import contextlib, io, json, os, resource, sys, time, traceback
    root = sys.argv[1]
    spec = json.load(open(os.path.join(root, "cases.json")))
    import softlogit
    from softlogit.cli import main
    from softlogit.io.errors import DataError, ModelFileError

    def run(argv, stdout=None):
        err, out = io.StringIO(), stdout or io.StringIO()
        start = time.perf_counter()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                status = main(argv)
        except BaseException:
            status, err = "raised", io.StringIO(traceback.format_exc())
        return {"status": status, "err": err.getvalue(), "s": time.perf_counter() - start}

    good, data = spec["good"], spec["data"]
    warm = run(["evaluate", good, data])  # imports everything before the limit is set
    vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
    limit = vm * 1024 + (1 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = {"warm": warm}
    for name in spec["models"]:
        path = os.path.join(root, name)
        try:
            softlogit.load(path)
            load = {"status": 0, "err": ""}
        except ModelFileError as exc:
            load = {"status": 1, "err": "error: " + str(exc) + "\n"}
        except BaseException:
            load = {"status": "raised", "err": traceback.format_exc()}
        results[name] = {"load": load, "predict": run(["predict", path, data]),
                         "evaluate": run(["evaluate", path, data])}
    for name in spec["data_files"]:
        results[name] = {"predict": run(["predict", good, os.path.join(root, name)])}
    full = open("/dev/full", "w")
    results["stdout full"] = {"predict": run(["predict", good, data], stdout=full)}
    with contextlib.suppress(OSError):
        full.close()  # what is still buffered cannot be written either
    results["peak_rss_growth_kb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                     - base_rss)
    json.dump(results, open(os.path.join(root, "results.json"), "w"))
''')


def _data_files(root) -> dict[str, str]:
    """Hostile data files: svmlight and .npy/.npz that declare far more than they hold."""
    cases = {}
    (root / "wide.svm").write_text("1 1:0.5 2000000000:1.0\n0 3:1.5\n")
    cases["wide.svm"] = "feature index 2000000000 is beyond"
    header = hostile_models.npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 3), }", b"\0" * 48)
    (root / "huge.npy").write_bytes(header)
    cases["huge.npy"] = "declares shape (100000000000, 3)"
    import zipfile

    with zipfile.ZipFile(root / "huge.npz", "w") as archive:
        archive.writestr("X.npy", header)
    cases["huge.npz"] = "declares shape (100000000000, 3)"
    return cases


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=60), rng.normal(size=60)
    kind = rng.choice(["p", "q"], size=60)
    pv.write_csv(pa.table({"a": a, "b": b, "kind": kind,
                           "label": np.where(a + (kind == "p") > 0.5, "hi", "lo")}),
                 root / "good.csv")
    assert main(["fit", str(root / "good.csv"), "--no-figures", "--test-size", "0",
                 "--out", str(root / "run")]) == 0
    good = root / "run" / "model.softlogit"
    models = hostile_models.build(root, good)
    data_files = _data_files(root)
    (root / "cases.json").write_text(json.dumps(
        {"good": str(good), "data": str(root / "good.csv"), "models": list(models),
         "data_files": list(data_files)}))
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", DRIVER, str(root)], env=env, timeout=240,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results.json").read_text())
    return root, models, data_files, results


def _one_error_line(result, fragment, name):
    lines = result["err"].splitlines()
    assert result["status"] == 1, result
    assert len(lines) == 1 and lines[0].startswith("error: "), result["err"]
    assert name in lines[0] and fragment in lines[0], lines[0]
    assert "Traceback" not in result["err"] and "--debug" not in lines[0]


def test_the_good_model_works_in_the_driver(corpus):
    *_, results = corpus
    assert results["warm"]["status"] == 0, results["warm"]


@pytest.mark.parametrize("command", ["load", "predict", "evaluate"])
def test_every_hostile_model_gives_one_line_naming_file_and_fault(corpus, command):
    root, models, _, results = corpus
    assert len(models) >= 50
    failures = []
    for name, fragment in models.items():
        try:
            _one_error_line(results[name][command], fragment, name)
            assert results[name][command].get("s", 0) < 20  # the time limit, per case
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


def test_memory_stays_bounded_under_the_limit(corpus):
    *_, results = corpus
    # Bombs declare 4 GiB, 12.8 GB, 80 MiB of JSON ...: refused before allocation, so the
    # peak resident size barely grows over the whole corpus (160 MiB covers the 80 MiB meta
    # bomb being refused from its declared size and the 8 MiB entry that lies about its size).
    assert results["peak_rss_growth_kb"] < 160 * 1024, results["peak_rss_growth_kb"]


def test_hostile_data_files_are_refused_before_allocating(corpus):
    _, _, data_files, results = corpus
    for name, fragment in data_files.items():
        _one_error_line(results[name]["predict"], fragment, name)


def test_a_full_stdout_is_named(corpus):
    *_, results = corpus
    _one_error_line(results["stdout full"]["predict"], "No space left on device", "<stdout>")
