"""The one place the version lives, so stories, the CLI and packaging agree."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("faro-k8s")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"
