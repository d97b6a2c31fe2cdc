"""Faro: the complete story of any Kubernetes resource.

The public API is small on purpose: build a :class:`FaroConfig`, hand it to :class:`Faro`,
and either ``await faro.run()`` or call ``faro.run_sync()``. Everything else is internal.
"""

from faro._version import __version__

__all__ = ["__version__"]
