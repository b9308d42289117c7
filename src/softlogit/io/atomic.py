"""Atomic writes: a reader sees the old outputs or the new ones, never a mixture.

Two forms:

- :func:`atomic_writer` / :func:`atomic_write_bytes` replace **one file**: the data go to a
  temporary file in the destination's directory (so the rename stays on one file system), are
  flushed and ``fsync``-ed, and the temporary file is renamed over the destination with
  :func:`os.replace`.
- :func:`write_directory` replaces **a set of files in a directory** as one transaction
  (``softlogit fit --out DIR``): every file is written and ``fsync``-ed into a fresh temporary
  directory beside ``DIR``, which is then swapped in for ``DIR`` in one rename (Linux
  ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames with signals held back between them).
  Files already in ``DIR`` that the command does not own (``replaces`` says which names it
  does) are carried into the new directory as hard links, so they are kept unchanged; the
  command's own outputs from an earlier run are not carried, so a success leaves only new ones.
  A lock file ``.DIR.lock`` beside ``DIR`` stops a second run from writing the same directory
  at the same time.

In both, a failure or an interrupt (``KeyboardInterrupt``, or SIGTERM once
:func:`raise_on_sigterm` is installed) before the final rename removes every temporary and leaves
the destination exactly as it was. New files get the mode a plain ``open()`` would give them
(``0o666`` less the umask), or the permission bits of the regular file they replace, never the
mode of a link's target, and never set-uid, set-gid or sticky bits.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM (see :func:`raise_on_sigterm`), like
    ``KeyboardInterrupt`` on SIGINT, so that ``finally`` blocks remove temporaries."""


class OutputLocked(OSError):
    """Another run holds the lock of the output directory."""


def raise_on_sigterm():
    """Make SIGTERM raise :class:`Terminated` in the main thread (the command line does this).

    Returns the previous handler, for :func:`restore_sigterm` (``None`` when not changed).
    """

    def handler(signum, frame):
        raise Terminated(signum)

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the handler alone
        return None


def restore_sigterm(previous) -> None:
    """Put back the SIGTERM handler :func:`raise_on_sigterm` replaced."""
    if previous is not None:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, previous)


def checkpoint(name: str) -> None:
    """A hook for the interrupt tests: pause, or fail, at the named point of a command.

    When the environment variable ``SOFTLOGIT_TEST_PAUSE`` equals ``name``, the file named by
    ``SOFTLOGIT_TEST_PAUSE_FILE`` is created (so the test knows the point is reached) and the
    process waits until that file is removed again, a signal ends it, or 60 s pass. When
    ``SOFTLOGIT_TEST_FAIL`` equals ``name``, an ``OSError`` (ENOSPC) is raised there, as a full
    disk would. Without these variables (always, outside the tests) it does nothing.
    """
    if os.environ.get("SOFTLOGIT_TEST_FAIL") == name:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
    if os.environ.get("SOFTLOGIT_TEST_PAUSE") != name:
        return
    flag = Path(os.environ.get("SOFTLOGIT_TEST_PAUSE_FILE", os.devnull))
    flag.write_text(name)
    deadline = time.monotonic() + 60
    while flag.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@contextlib.contextmanager
def atomic_writer(path, mode: str = "wb"):
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    Parameters
    ----------
    path : destination path; its directory must exist.
    mode : ``"wb"`` or ``"w"`` (text, UTF-8).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_writer(target, "w") as fh:
    ...     _ = fh.write("hi")
    >>> target.read_text()
    'hi'
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(directory))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp makes the file private (0o600); give it the mode a plain open() would.
        os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with _signals_held():
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with atomic_writer(path, "wb") as fh:
        fh.write(data)


def check_output_directory(path) -> Path:
    """``path`` as the directory a command will write into; nothing is created yet.

    An error if it exists and is not a directory. A link to a directory is followed (the
    directory it points to is the one replaced).
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(out))
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    return out


def write_directory(path, files: dict[str, bytes], replaces=("*",)) -> list[str]:
    """Replace the outputs in directory ``path`` by ``files`` (name → bytes) as one transaction.

    Parameters
    ----------
    path : the output directory; it and its parents are created if missing.
    files : the payload of each file (plain names, no ``/``).
    replaces : glob patterns of the names this command owns in ``path``: existing entries that
        match are dropped (a success leaves only new ones); every other entry is kept.

    Returns
    -------
    The names written, in order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> write_directory(out, {"a.txt": b"1", "b.txt": b"2"})
    ['a.txt', 'b.txt']
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'b.txt']
    """
    out = check_output_directory(path)
    for name in files:
        if not name or "/" in name or os.sep in name or name in (".", ".."):
            raise ValueError(f"{name!r} is not a plain file name")
    created = _make_parents(out.parent)
    try:
        with _DirectoryLock(out):
            _write_and_swap(out, files, replaces)
    except BaseException:
        for directory in reversed(created):  # nothing created when nothing was written
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    return list(files)


def _write_and_swap(out: Path, files: dict[str, bytes], replaces) -> None:
    old_mode = None
    if out.is_dir():
        old_mode = stat.S_IMODE(os.stat(out).st_mode)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(tmp, old_mode if old_mode is not None else 0o777 & ~_umask())
        for name, payload in files.items():
            checkpoint(f"write:{name}")
            fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        if old_mode is not None:
            _carry_over(out, tmp, set(files), replaces)
        _fsync_directory(tmp)
        checkpoint("commit")
        with _signals_held():
            if old_mode is None:
                os.rename(tmp, out)  # ``out`` did not exist: the new directory takes its name
            else:
                _exchange(tmp, out)  # now ``tmp`` holds the old outputs
        _fsync_directory(out.parent)
    finally:
        with _signals_held():  # the temporary goes, whole, even when a signal is pending
            shutil.rmtree(tmp, ignore_errors=True)


def _carry_over(old: Path, new: Path, written: set, replaces) -> None:
    """Hard-link into ``new`` every entry of ``old`` that the command neither writes nor owns."""
    for entry in os.scandir(old):
        if entry.name in written or any(fnmatch.fnmatchcase(entry.name, p) for p in replaces):
            continue
        target = new / entry.name
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry.path, target)


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _exchange(a: Path, b: Path) -> None:
    """Swap the directories ``a`` and ``b`` atomically where the platform can."""
    if _renameat2_exchange(a, b):
        return
    # Two renames: between them ``b`` briefly does not exist (signals are held meanwhile).
    aside = Path(tempfile.mkdtemp(prefix=f".{b.name}.", suffix=".old.tmp", dir=b.parent))
    aside.rmdir()
    os.rename(b, aside)
    try:
        os.rename(a, b)
    except BaseException:
        os.rename(aside, b)
        raise
    os.rename(aside, a)


def _renameat2_exchange(a: Path, b: Path) -> bool:
    # Python has no binding for renameat2; glibc (2.28+) has, and RENAME_EXCHANGE swaps two
    # names in one step, so no reader ever finds ``b`` missing or half-replaced.
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: use the two renames
    raise OSError(code, os.strerror(code), str(b))


class _DirectoryLock:
    """An exclusive ``flock`` on ``.NAME.lock`` beside the directory; an error if held.

    The lock file is removed on release. A run that opened the file just before it was removed
    notices (its file is no longer the one at the path) and opens it again.
    """

    def __init__(self, out: Path):
        self.out = out
        self.path = out.parent / f".{out.name}.lock"
        self.fd = None

    def __enter__(self):
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputLocked(errno.EBUSY, "another softlogit run is writing this "
                                   f"directory (lock file {self.path.name})",
                                   str(self.out)) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return self
            os.close(fd)

    def __exit__(self, *exc):
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self.fd)
        return False


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; returns those created (outermost first)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    missing.reverse()
    for d in missing:
        try:
            d.mkdir()
        except FileExistsError:
            pass
    return missing


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM back for the few system calls that must not be split."""
    signals = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _file_mode(path: Path) -> int:
    """The permissions of the regular file ``path`` replaces, else 0o666 less the umask.

    ``lstat``: a link at ``path`` is replaced by the new file, so its target's mode is not
    taken; set-uid, set-gid and sticky bits are never carried over.
    """
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        return info.st_mode & 0o777
    return 0o666 & ~_umask()


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
