"""The compiled-kernel cache loads only what this user built for this kernel.

A library planted at the right key (with a constructor that leaves a mark, and an ``al_run``
that returns 42) must not run; truncated, empty, foreign and wrong-orders libraries and a
folder at the key are rebuilt in the same process and give correct values; untrusted folders
are refused with one line on stderr.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import activation_lab as al
from activation_lab.numeric import native

HAVE_TOOLS = bool(sys.platform.startswith("linux") and shutil.which("gcc") and ctypes.util.find_library("mvec"))
pytestmark = pytest.mark.skipif(not HAVE_TOOLS,
                                reason="needs Linux with gcc and glibc's libmvec to build native kernels")

X = np.linspace(-5, 5, 1001, dtype=np.float32)


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    """A kernel cache of this test's own, native kernels on, nothing remembered in the process."""
    monkeypatch.delenv(native.NATIVE_ENV, raising=False)
    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(tmp_path / "cache"))
    native._kernel.cache_clear()
    native._warned.clear()
    native._failures.pop("cache", None)
    yield tmp_path / "cache" / "native"
    native._kernel.cache_clear()
    native._failures.pop("cache", None)


def _silu_expected(orders=(0,)) -> list[np.ndarray]:
    x = X.astype(np.float64)
    s = 1 / (1 + np.exp(-x))
    values = {0: x * s, 1: s * (1 + x * (1 - s)), 2: s * (1 - s) * (2 + x * (1 - 2 * s))}
    return [values[k].astype(np.float32) for k in orders]


def _assert_silu(kernel, orders=(0,)) -> None:
    assert kernel is not None, native.status(al.get("silu").expr)
    outs = [np.full_like(X, np.nan) for _ in orders]
    kernel.run(X, outs)
    for got, want in zip(outs, _silu_expected(orders), strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30)


def _build_real(name: str, orders) -> Path:
    """The cached library of a catalogue kernel, built by another process (so this one has loaded nothing)."""
    code = ("import sys, activation_lab as al; from activation_lab.numeric import native; "
            "k = native.native_kernel(al.get(sys.argv[1]).expr, tuple(map(int, sys.argv[2].split(',')))); "
            "print(k.path)")
    done = subprocess.run([sys.executable, "-c", code, name, ",".join(map(str, orders))], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def _planted(tmp_path: Path, identity: str) -> tuple[Path, Path]:
    """A library whose constructor writes a mark file and whose al_run returns 42: (library, mark)."""
    mark = tmp_path / "planted-code-ran"
    source = tmp_path / "planted.c"
    source.write_text(
        "#include <stdio.h>\n"
        f'__attribute__((constructor)) static void planted(void) {{ FILE *f = fopen("{mark}", "w"); '
        'if (f) { fputs("ran", f); fclose(f); } }\n'
        "int al_run(long n, const float *x, float *y) { for (long i = 0; i < n; i++) y[i] = 42.0f; return 0; }\n"
        f'const char *al_identity(void) {{ return "{identity}"; }}\n')
    library = tmp_path / "planted.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True, timeout=120)
    return library, mark


def _forge_record(library: Path, key: str, orders) -> None:
    """A record that matches ``library`` as it is now (what an attacker with write access could write)."""
    digest = native.hashlib.sha256(library.read_bytes()).hexdigest()
    record = library.with_suffix(".json")
    record.write_text(json.dumps({"key": key, "orders": list(orders), "sha256": digest}))
    record.chmod(0o600)


def _plant_at(target: Path, tmp_path: Path, forge: bool) -> Path:
    key = target.stem.removeprefix("al_")
    library, mark = _planted(tmp_path, f"{key}|0")
    target.unlink()           # a new file (writing into one this process has mapped would change that mapping)
    shutil.copyfile(library, target)
    target.chmod(0o700)
    if forge:
        _forge_record(target, key, (0,))
    else:
        target.with_suffix(".json").unlink()
    return mark


def test_planted_library_in_a_group_writable_folder_is_not_loaded(cache, tmp_path, capsys):
    silu = al.get("silu").expr
    target = _build_real("silu", (0,))
    mark = _plant_at(target, tmp_path, forge=True)     # right key, right record, right identity
    cache.chmod(0o775)                                   # a folder made under umask 002
    kernel = native.native_kernel(silu, (0,))
    assert not mark.exists(), "the planted library's constructor ran"
    _assert_silu(kernel)
    assert not kernel.path.startswith(str(cache))        # built in a private folder instead
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "writable by group" in err and str(cache) in err
    assert target.read_bytes() != b"" and "native kernels for float32" in native.status()


def test_planted_library_without_a_matching_record_is_not_loaded(cache, tmp_path):
    silu = al.get("silu").expr
    target = _build_real("silu", (0,))
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    mark = _plant_at(target, tmp_path, forge=False)     # no record at all
    kernel = native.native_kernel(silu, (0,))
    assert not mark.exists()
    _assert_silu(kernel)
    assert kernel.path == str(target)                    # rebuilt in place
    # a record that names the key and orders but not this file's SHA-256
    native._kernel.cache_clear()
    real_record = json.loads(target.with_suffix(".json").read_text())
    mark = _plant_at(target, tmp_path, forge=False)
    target.with_suffix(".json").write_text(json.dumps(real_record))
    target.with_suffix(".json").chmod(0o600)
    _assert_silu(native.native_kernel(silu, (0,)))
    assert not mark.exists()


def test_files_of_another_user_are_not_trusted(cache, tmp_path, monkeypatch, capsys):
    silu = al.get("silu").expr
    target = _build_real("silu", (0,))
    mark = _plant_at(target, tmp_path, forge=True)
    real_uid = os.geteuid()
    monkeypatch.setattr(native, "_uid", lambda: real_uid + 1)   # as seen by someone else
    kernel = native.native_kernel(silu, (0,))
    assert not mark.exists()
    _assert_silu(kernel)
    assert "belongs to user id" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_damaged_library_is_rebuilt_in_the_same_process(cache, damage):
    silu = al.get("silu").expr
    target = _build_real("silu", (0,))
    data = target.read_bytes()
    target.write_bytes({"truncated": data[: len(data) // 3], "empty": b"", "garbage": b"\x7fELF" + b"\0" * 999}[damage])
    kernel = native.native_kernel(silu, (0,))
    _assert_silu(kernel)
    assert kernel.path == str(target) and target.read_bytes() == data   # the same build again


@pytest.mark.parametrize("forge", [False, True], ids=["copied", "copied-with-forged-record"])
@pytest.mark.parametrize("other", ["wrong-orders", "other-formula"])
def test_another_kernel_at_the_key_is_rebuilt(cache, other, forge):
    silu = al.get("silu").expr
    target = _build_real("silu", (0,))
    stranger = _build_real("silu", (0, 1, 2)) if other == "wrong-orders" else _build_real("telu", (0,))
    shutil.copyfile(stranger, target)
    if forge:    # record and file agree: only the library's own identity tells it apart
        _forge_record(target, target.stem.removeprefix("al_"), (0,))
    kernel = native.native_kernel(silu, (0,))
    _assert_silu(kernel)
    # and the real ones still work, in the same process
    native._kernel.cache_clear()
    _assert_silu(native.native_kernel(silu, (0, 1, 2)), (0, 1, 2))


@pytest.mark.parametrize("content", [False, True], ids=["empty-folder", "folder-with-a-file"])
def test_a_folder_at_the_key_is_rebuilt(cache, content):
    silu = al.get("silu").expr
    target = _build_real("silu", (0,))
    target.unlink()
    target.mkdir()
    if content:
        (target / "keep.txt").write_text("someone's")
    kernel = native.native_kernel(silu, (0,))
    _assert_silu(kernel)
    if content:
        assert (target / "keep.txt").read_text() == "someone's"      # not deleted: built elsewhere
    else:
        assert kernel.path == str(target) and target.is_file()


def test_world_writable_cache_root_is_refused_with_a_message(monkeypatch, tmp_path, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(shared))
    kernel = native.native_kernel(al.get("silu").expr, (0,))
    _assert_silu(kernel)
    assert not kernel.path.startswith(str(shared))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "writable by group and others" in err and str(shared) in err
    assert not any(p.suffix == ".so" for p in shared.rglob("*"))
    assert "not used" in native.status()


def test_cache_folders_are_private_whatever_the_umask(cache, tmp_path):
    old = os.umask(0o002)
    try:
        kernel = native.native_kernel(al.define("x*tanh(exp(x)) - x/9").expr, (0,))
    finally:
        os.umask(old)
    assert kernel is not None and kernel.path.startswith(str(cache))
    for path in (cache.parent, cache):
        assert path.stat().st_mode & 0o777 == 0o700
    for path in cache.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_a_failed_load_falls_back_with_one_line(cache, monkeypatch, capsys):
    monkeypatch.setattr(native, "_open", lambda *a, **k: None)
    act = al.define("x*tanh(exp(x)) + x/11")
    assert native.native_kernel(act.expr, (0,)) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NumPy blocks" in err
    assert "build failed" in native.status(act.expr)
    monkeypatch.undo()
    native._kernel.cache_clear()
    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(cache.parent))
    y = act.evaluate(X)        # the public path still answers
    np.testing.assert_allclose(y, act.evaluate(X.astype(np.float64)).astype(np.float32), rtol=2e-6, atol=1e-30)


def test_stale_build_folders_are_removed_and_clear_removes_only_ours(cache):
    target = _build_real("silu", (0,))
    old = cache / ".build-abcd1234"
    old.mkdir()
    (old / "kernel.c").write_text("int x;")
    fresh = cache / ".build-efgh5678"
    fresh.mkdir()
    then = time.time() - 2 * 3600
    os.utime(old, (then, then))
    native.native_kernel(al.define("x*tanh(exp(x)) + x/13").expr, (0,))
    assert not old.exists() and fresh.exists()     # a build running elsewhere is left alone
    (cache / "notes.txt").write_text("mine")
    removed = native.clear_cache()
    assert target in removed and fresh in removed
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt"]
