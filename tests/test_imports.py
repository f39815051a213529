"""Importing the package stays light: no heavy module is loaded until used."""

import subprocess
import sys

HEAVY = ["sympy", "scipy", "matplotlib", "cupy", "dask", "mpmath", "numpy", "torch", "jax"]


def test_import_is_light():
    code = ("import sys, activation_lab as al; al.names(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_export_imports_no_framework():
    """activation_lab.export imports torch or jax only when a function for that framework is made."""
    code = ("import sys, activation_lab.export as ex, activation_lab.present.cli as cli; cli.build_parser(); "
            "print([m for m in ('torch', 'jax') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_api_names():
    import activation_lab as al

    for name in ["names", "get", "define", "Activation"]:
        assert name in al.__all__ and callable(getattr(al, name))
