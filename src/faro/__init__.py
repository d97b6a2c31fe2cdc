"""Faro: the complete story of any Kubernetes resource.

The public API is small on purpose: build a :class:`FaroConfig` (with :class:`ResourceRule`
entries), hand it to :class:`Faro`, and ``await faro.run()`` or call ``faro.run_sync()``.
Everything else is internal.
"""

from faro._version import __version__
from faro.api import Faro, OutputError
from faro.config import ConfigError, FaroConfig, ResourceRule
from faro.kube.errors import ApiError, KubeError
from faro.model.events import EventType, StoryEvent
from faro.model.story import Story

__all__ = [
    "ApiError",
    "ConfigError",
    "EventType",
    "Faro",
    "FaroConfig",
    "KubeError",
    "OutputError",
    "ResourceRule",
    "Story",
    "StoryEvent",
    "__version__",
]
