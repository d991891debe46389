"""Modules imported on first use: phonenumbers, python-stdnum and num2words take a fifth
of ``import srmkb`` and are needed only for texts with digits or spoken numbers."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for module ``name`` and imports it at the first attribute read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)


def num2words(number: Any, **options: Any) -> Any:
    """``num2words.num2words``, imported at the first call."""
    from num2words import num2words as convert

    return convert(number, **options)
