"""The one exception root of wardstream.

Policy outcomes are return values, never exceptions. Exceptions are for
configuration, input and infrastructure problems; their messages say what was
wrong and how to fix it, and never contain record contents or raw subject ids.
Each package adds its own subclasses in its own ``errors.py``.
"""


class WardstreamError(Exception):
    """Root of every error wardstream raises on purpose."""
