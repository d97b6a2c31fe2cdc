"""The public library API (re-exported from `faro`)."""

from faro.api.faro import Faro

__all__ = ["Faro"]
