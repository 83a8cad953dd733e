"""Advisory locks on objects of local stores, for writes that read, change and replace part
of an object in place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..stores import Location


@contextmanager
def one_writer(location: Location) -> Iterator[None]:
    """One writer at a time of the object at `location`, among the processes of this machine
    (an advisory lock on a hidden file beside it): for writes that read, change and replace a
    part of the object, such as a zarr store's record of its periods, two at once would lose
    one's change. Objects on other stores get no lock."""
    if not location.store.is_local:
        yield
        return
    import fcntl
    import os

    folder, name = os.path.split(location.path)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f".{name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
