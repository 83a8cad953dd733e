"""Dagster features that datanectar uses on its users' behalf, without their warnings.

Partitioned asset checks are a Dagster preview feature and backfill policies a beta one;
Dagster warns on every use, whoever made the choice. A user did not choose them by writing a
catalog, so the warning is noise to them: datanectar's own uses are quiet, and warnings
raised by the user's code are left as they are.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg


@contextmanager
def chosen_for_users() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield
