"""Faro: the complete story of any Kubernetes resource.

The public API is small on purpose: build a :class:`FaroConfig` (with :class:`ResourceRule`
entries) or read one with :func:`load_config`, hand it to :class:`Faro`, add event handlers
(``faro.add_event_handler(h)``: ``h.on_matched(event: MatchedEvent)`` for every matched
change), and ``await faro.run()`` or call ``faro.run_sync()``.
Everything else is internal.
"""

from faro._version import __version__
from faro.api import Faro
from faro.config import FaroConfig, ResourceRule, load_config
from faro.errors import ApiError, ConfigError, FaroError, KubeError, OutputError, UnknownResourceError
from faro.model.events import EventType, StoryEvent
from faro.model.story import Story
from faro.sinks.handlers import EventHandler
from faro.sinks.matched import MatchedEvent

__all__ = [
    "ApiError",
    "ConfigError",
    "EventHandler",
    "EventType",
    "Faro",
    "FaroConfig",
    "FaroError",
    "KubeError",
    "MatchedEvent",
    "OutputError",
    "ResourceRule",
    "Story",
    "StoryEvent",
    "UnknownResourceError",
    "__version__",
    "load_config",
]
