"""The one exception root of wardstream.

Policy outcomes are return values, never exceptions. Exceptions are for
configuration, input and infrastructure problems; their messages say what was
wrong and how to fix it, and never contain record contents or raw subject ids.
Each package adds its own subclasses in its own ``errors.py``.
"""

EXIT_RESTART = 75
"""A worker's exit code (EX_TEMPFAIL) when a restart is the fix: see ``RestartNeeded``."""


class WardstreamError(Exception):
    """Root of every error wardstream raises on purpose."""


class RestartNeeded(WardstreamError):
    """The worker must stop, and a restart fixes it: the restart rebuilds the worker's memory
    from the committed topics (a failed transaction, partitions lost to the group, a state
    reader that died). ``wardstream worker`` exits with ``EXIT_RESTART`` so that its
    supervisor (systemd ``Restart=on-failure``, a Kubernetes pod) starts it again."""
