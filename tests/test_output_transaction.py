"""Outputs as one transaction: failures, interrupts and concurrent runs never leave a mixture.

In-process tests cover the failing write, the lock, link modes, escaping and the RandomState
fix; one batch of subprocesses (started together, so their start-up costs overlap) covers
SIGINT/SIGTERM at each point of ``fit --out`` and two fits racing for one directory. The
pause points are the test hook :func:`softlogit.io.atomic.checkpoint`.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

import softlogit
from softlogit.cli import main
from softlogit.io.atomic import _DirectoryLock, atomic_write_bytes, write_directory


def _snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _leftovers(parent):
    """Temporaries or lock files beside the outputs (names starting with a dot)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tx")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=80), rng.normal(size=80)
    pv.write_csv(pa.table({"a": a, "b": b, "label": np.where(a + b > 0, "yes", "no")}),
                 root / "data.csv")
    return root / "data.csv"


@pytest.fixture
def previous(tmp_path, data):
    """An output directory holding a complete earlier fit and a file of the user's."""
    out = tmp_path / "parent" / "run"
    assert main(["fit", str(data), "--no-figures", "--C", "0.5", "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine\n")
    return out


def test_a_failing_write_leaves_the_directory_byte_identical(previous, data, monkeypatch,
                                                             capsys):
    before = _snapshot(previous)
    for point in ("write:model.softlogit", "write:metrics.json", "commit"):
        monkeypatch.setenv("SOFTLOGIT_TEST_FAIL", point)
        capsys.readouterr()
        assert main(["fit", str(data), "--no-figures", "--C", "2", "--out",
                     str(previous)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "No space left on device" in err
        assert err.count("\n") == 1 and point in err
        assert _snapshot(previous) == before
        assert _leftovers(previous.parent) == []


def test_success_leaves_only_new_outputs_and_keeps_other_files(previous, data):
    (previous / "roc.png").write_bytes(b"stale figure of an earlier run")
    assert main(["fit", str(data), "--no-figures", "--C", "2", "--out", str(previous)]) == 0
    assert sorted(p.name for p in previous.iterdir()) == ["coefficients.csv", "metrics.json",
                                                          "model.softlogit", "notes.txt"]
    assert (previous / "notes.txt").read_text() == "mine\n"
    metrics = json.loads((previous / "metrics.json").read_text())
    assert metrics["model"]["params"]["C"] == 2.0
    assert softlogit.load(previous / "model.softlogit").estimator.C == 2.0
    assert _leftovers(previous.parent) == []


def test_a_failed_run_creates_no_output_directory(tmp_path, data, capsys):
    out = tmp_path / "new" / "deeper" / "run"
    assert main(["fit", str(tmp_path / "missing.csv"), "--out", str(out)]) == 1
    assert main(["fit", str(data), "--test-size", "2", "--out", str(out)]) == 1
    assert not (tmp_path / "new").exists()
    os.environ["SOFTLOGIT_TEST_FAIL"] = "write:metrics.json"
    try:
        assert main(["fit", str(data), "--no-figures", "--out", str(out)]) == 1
    finally:
        del os.environ["SOFTLOGIT_TEST_FAIL"]
    assert not (tmp_path / "new").exists()  # the parents it made are gone again
    capsys.readouterr()


def test_a_held_lock_refuses_a_second_writer(previous, data, capsys):
    before = _snapshot(previous)
    with _DirectoryLock(previous):
        assert main(["fit", str(data), "--no-figures", "--out", str(previous)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {previous}: another softlogit run is writing this "
                                f"directory (lock file .run.lock)"]
    assert _snapshot(previous) == before
    assert _leftovers(previous.parent) == []  # the lock file goes with its holder


def test_new_files_do_not_take_a_link_targets_mode(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"old")
    os.chmod(target, 0o4755)  # set-uid, executable
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    atomic_write_bytes(link, b"new")
    assert not link.is_symlink() and link.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(link).st_mode) == 0o666 & ~umask
    assert target.read_bytes() == b"old"  # the link's target is not written through
    regular = tmp_path / "kept.csv"
    regular.write_bytes(b"x")
    os.chmod(regular, 0o6640)
    atomic_write_bytes(regular, b"y")
    assert stat.S_IMODE(os.stat(regular).st_mode) == 0o640  # bits kept, set-id bits not


def test_write_directory_refuses_names_that_leave_the_directory(tmp_path):
    with pytest.raises(ValueError, match="not a plain file name"):
        write_directory(tmp_path / "out", {"../escape": b"x"})
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape").exists()


def test_names_labels_and_paths_from_data_are_printed_escaped(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    label = np.where(x > 0, "[/]", "[red]")
    data = tmp_path / "[red]data.csv"
    pv.write_csv(pa.table({"x\x1b[2Jname": x, "target": label}), data)
    assert main(["fit", str(data), "--no-figures", "--test-size", "0", "--out",
                 str(tmp_path / "[bold]out")]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err
    shown = "".join(out.out.split())  # the console may wrap long paths
    assert "[red]data.csv" in shown and "[/](" in shown and "[red](" in shown
    assert "[bold]out" in shown
    # An error line that quotes a column name shows the escape sequence as text.
    (tmp_path / "other.csv").write_text("\x1b[2Jevil\n1\n")
    assert main(["predict", str(tmp_path / "[bold]out" / "model.softlogit"),
                 str(tmp_path / "other.csv")]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2Jevil" in err and err.count("\n") == 1


@pytest.mark.parametrize("fit", ["fit", "partial_fit"])
def test_a_random_state_object_works_with_sgd(fit):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 3))  # several mini-batches, so the row order matters
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)

    def run(seed):
        model = softlogit.LogisticRegression(solver="sgd", max_iter=5,
                                             random_state=np.random.RandomState(seed))
        if fit == "fit":
            return model.fit(X, y).coef_
        return model.partial_fit(X, y, classes=[0, 1]).coef_

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)  # the same seed, the same row order
    assert not np.array_equal(a, c)


# --- subprocesses: signals at each point, and two fits racing ----------------------------------

_BOOT = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
         "from softlogit.cli import main; sys.exit(main(sys.argv[1:]))")


def _start(argv, tmp_path, name, pause=None):
    flag = tmp_path / f"{name}.reached"
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               SOFTLOGIT_TEST_PAUSE_FILE=str(flag))
    env.pop("SOFTLOGIT_TEST_FAIL", None)
    if pause:
        env["SOFTLOGIT_TEST_PAUSE"] = pause
    proc = subprocess.Popen([sys.executable, "-c", _BOOT, *argv], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, flag


def _wait_for(flag, proc, seconds=120):
    deadline = time.monotonic() + seconds
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the pause point was never reached"
        time.sleep(0.05)


INTERRUPTS = [("fit", signal.SIGINT), ("fit", signal.SIGTERM),
              ("write:model.softlogit", signal.SIGINT), ("write:metrics.json", signal.SIGTERM),
              ("write:convergence.png", signal.SIGTERM), ("commit", signal.SIGINT)]


def test_interrupts_at_every_point_and_racing_fits_leave_complete_sets(tmp_path, data):
    runs = []
    for i, (point, signum) in enumerate(INTERRUPTS):
        out = tmp_path / f"p{i}" / "run"
        assert main(["fit", str(data), "--no-figures", "--C", "0.5", "--out", str(out)]) == 0
        before = _snapshot(out)
        figures = [] if point == "write:convergence.png" else ["--no-figures"]
        proc, flag = _start(["fit", str(data), *figures, "--C", "3", "--out", str(out)],
                            tmp_path, f"i{i}", pause=point)
        runs.append((point, signum, out, before, proc, flag))
    # Two fits to one directory: the first holds it (paused just before its swap) while the
    # second reaches its output phase; then the first completes.
    race = tmp_path / "race" / "run"
    first, first_flag = _start(["fit", str(data), "--no-figures", "--C", "4", "--out",
                                str(race)], tmp_path, "first", pause="commit")
    for point, signum, out, before, proc, flag in runs:
        _wait_for(flag, proc)
        proc.send_signal(signum)
    _wait_for(first_flag, first)
    second, _ = _start(["fit", str(data), "--no-figures", "--C", "5", "--out", str(race)],
                       tmp_path, "second")
    _, second_err = second.communicate(timeout=120)
    first_flag.unlink()  # let the first one finish
    _, first_err = first.communicate(timeout=120)
    for point, signum, out, before, proc, flag in runs:
        _, err = proc.communicate(timeout=120)
        expected = 130 if signum == signal.SIGINT else 143
        assert proc.returncode == expected, (point, err)
        assert err.splitlines()[-1].startswith("error: "), (point, err)
        assert "Traceback" not in err, (point, err)
        assert _snapshot(out) == before, point  # byte-identical
        assert _leftovers(out.parent) == [], point  # no temporary, no lock
    assert second.returncode == 1
    assert second_err.splitlines() == [f"error: {race}: another softlogit run is writing "
                                       f"this directory (lock file .run.lock)"]
    assert first.returncode == 0, first_err
    # One complete, consistent set: the first run's model and metrics, nothing else.
    assert sorted(p.name for p in race.iterdir()) == ["coefficients.csv", "metrics.json",
                                                      "model.softlogit"]
    assert json.loads((race / "metrics.json").read_text())["model"]["params"]["C"] == 4.0
    assert softlogit.load(race / "model.softlogit").estimator.C == 4.0
    assert _leftovers(race.parent) == []
