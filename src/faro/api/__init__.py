"""The public library API (re-exported from `faro`)."""

from faro.api.faro import Faro
from faro.api.rbac import rbac_manifests

__all__ = ["Faro", "rbac_manifests"]
