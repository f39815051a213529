"""``activation-lab cache [--clear]``: where the cache is, what it holds, and emptying it.

The cache holds compiled native kernels (``native/``: each library with its record) and,
for ``check --exhaustive`` without ``--out``, its state files (``check/``).  ``--clear``
removes those files only (the names this package writes there), nothing else.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import emit_json

HELP = "show where the cache of compiled kernels (and exhaustive-check state) is and how big; --clear empties it"

#: state files that check --exhaustive keeps in the cache without --out
_STATE_GLOB = "check-exhaustive-*.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clear", action="store_true", help="remove the cached kernels and exhaustive-check state files")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _size(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(p.lstat().st_size for p in path.rglob("*"))
        return path.lstat().st_size
    except OSError:
        return 0


def _human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def run(args: argparse.Namespace) -> int:
    from ...atomic import TEMP_NAME
    from ...numeric import native

    root = native.cache_root()
    kernels = native.cache_files()
    states_dir = root / "check"
    states = sorted(p for p in states_dir.glob(_STATE_GLOB) if p.is_file() and not p.is_symlink()) \
        if states_dir.is_dir() else []
    states += sorted(p for p in (states_dir.iterdir() if states_dir.is_dir() else ()) if TEMP_NAME.fullmatch(p.name))
    libraries = [p for p in kernels if p.suffix == ".so"]
    size = sum(_size(p) for p in kernels + states)
    trust = native.untrusted(native.cache_dir(), folder=True) if native.cache_dir().exists() else None
    removed: list[Path] = []
    if args.clear:
        removed = native.clear_cache()
        for path in states:
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
        for folder in (states_dir, native.cache_dir()):
            try:
                folder.rmdir()           # only when empty: nothing of anyone else's goes
            except OSError:
                pass
    info = {"cache": str(root), "kernels": len(libraries), "state_files": len([p for p in states
                                                                              if not TEMP_NAME.fullmatch(p.name)]),
            "bytes": size, "problem": trust, "cleared": args.clear, "removed": len(removed)}
    if args.json:
        emit_json(info)
        return 0
    print(f"cache: {root}" + ("" if root.exists() else " (not created yet)"))
    print(f"  native kernels: {info['kernels']} ({native.cache_dir()})")
    print(f"  check --exhaustive state files: {info['state_files']} ({states_dir})")
    print(f"  size: {_human(size)}")
    if trust:
        print(f"  not used: {native.cache_dir()} {trust} (kernels are built in a private temporary folder)")
    if args.clear:
        print(f"cleared: {len(removed)} removed")
    return 0
