"""The cluster behind the CLI's ``--dask [SCHEDULER_ADDRESS]``, and how reports name it."""

from __future__ import annotations

import contextlib
import warnings

from softlogit.io.errors import DataError

LOCAL = "local"


@contextlib.contextmanager
def connect(address: str | None):
    """A ``distributed.Client``: on a new ``LocalCluster`` of this machine (``address`` None or
    ``"local"``), or connected to the scheduler at ``address`` (``tcp://host:8786``). Closed on
    exit (a LocalCluster is shut down; a remote cluster keeps running)."""
    try:
        import distributed
    except ImportError as exc:  # the optional extra is missing
        raise DataError("--dask needs Dask's distributed scheduler: pip install "
                        "'softlogit[dask]'") from exc
    if address in (None, LOCAL):
        with warnings.catch_warnings():
            # start-up chatter of a throw-away cluster (a busy dashboard port, sockets the
            # scheduler closes late) is not the user's concern
            warnings.simplefilter("ignore", ResourceWarning)
            warnings.filterwarnings("ignore", message=".*already in use.*")
            with distributed.LocalCluster(dashboard_address=":0") as cluster, \
                    distributed.Client(cluster) as client:
                yield client
        return
    try:
        client = distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise DataError(f"--dask {address}: cannot reach a Dask scheduler there ({exc})") \
            from exc
    with client:
        yield client


def describe(client) -> dict:
    """``{"scheduler", "workers", "threads", "memory_bytes"}`` of the client's cluster."""
    from softlogit.backends.dask.executor import ClusterExecutor

    return ClusterExecutor(client).describe()


def cluster_line(info: dict) -> str:
    """One line for reports: ``2 workers, 4 threads, 15.6 GiB at tcp://…``."""
    gib = info.get("memory_bytes", 0) / 2**30
    return (f"{info['workers']} worker{'s' if info['workers'] != 1 else ''}, "
            f"{info.get('threads', 0)} threads, {gib:.1f} GiB memory at {info['scheduler']}")
