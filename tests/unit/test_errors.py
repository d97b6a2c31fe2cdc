"""One exception tree: the CLI and callers catch one class per decision."""

from __future__ import annotations

import faro
from faro.errors import ApiError, ConfigError, FaroError, KubeError, OutputError, UnknownResourceError


def test_every_error_faro_raises_on_purpose_is_a_faro_error() -> None:
    for cls in (ConfigError, UnknownResourceError, KubeError, ApiError, OutputError):
        assert issubclass(cls, FaroError)
    assert issubclass(UnknownResourceError, ConfigError)  # the user's input: exit code 2
    assert issubclass(ApiError, KubeError) and not issubclass(KubeError, ConfigError)
    assert issubclass(ConfigError, ValueError)  # as before: code catching ValueError still does
    assert faro.ConfigError is ConfigError and faro.OutputError is OutputError


def test_the_tree_has_one_config_error() -> None:
    import faro.config
    import faro.kube.kubeconfig

    assert faro.config.ConfigError is ConfigError
    assert faro.kube.kubeconfig.ConfigError is ConfigError  # kubeconfig problems too
