"""The public library API (re-exported from `faro`)."""

from faro.api.faro import Faro
from faro.api.rbac import rbac_manifests
from faro.errors import OutputError

__all__ = ["Faro", "OutputError", "rbac_manifests"]
