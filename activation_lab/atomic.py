"""Safe file output: atomic writes, output folders checked before the work, nobody's files replaced.

* :func:`write_atomic`: a reader sees the old file or the new one, never half of either.  The
  temporary file beside the target is named ``.<name>.al-tmp.<pid>.<random>.tmp``
  (:data:`TEMP_NAME`), so a later run in that folder recognises the leftovers of a write that
  was killed and removes them (:func:`remove_stale_temps`); no other file ever matches.
* New files get the mode ``open()`` would give them (0666 less the umask); a replaced regular
  file keeps its permission bits, never a setuid, setgid or sticky bit, and a symbolic link is
  replaced by a plain file without looking at its target.
* :func:`check_output_folder`: before any slow work, whether a folder can be created and written.
* :func:`foreign_files` / :func:`record_files`: each output folder keeps a small record
  (:data:`MANIFEST`) of the files the tool wrote there and their SHA-256; a file that is not
  listed with its current content is someone else's and is not replaced without ``force``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import ActivationLabError

__all__ = ["write_atomic", "TEMP_NAME", "remove_stale_temps", "OutputFolderError", "check_output_folder",
           "MANIFEST", "foreign_files", "record_files", "sha256_file"]

#: the temporary files :func:`write_atomic` makes (and only those): ``.<name>.al-tmp.<pid>.<8 random>.tmp``
TEMP_NAME = re.compile(r"\..*\.al-tmp\.(?P<pid>[0-9]+)\.[a-z0-9_]{8}\.tmp", re.S)
#: a temporary file older than this is stale even where its process id is in use again
STALE_AFTER_S = 24 * 3600.0
#: the record of the files the tool wrote into an output folder
MANIFEST = ".activation-lab-files"
_SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX


class OutputFolderError(ActivationLabError, PermissionError):
    """An output folder that cannot be used: not creatable, not writable, or holding someone else's files."""


def _temp_prefix(name: str) -> str:
    return f".{name[:120]}.al-tmp.{os.getpid()}."


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    The temporary file lives beside the target so the final rename never crosses a file
    system; on any error it is removed and the previous file (if any) is left as it was.
    A replaced regular file keeps its permission bits (rwx only: no setuid, setgid or sticky
    bit); anything else at ``path`` (a symbolic link included, whose target is not looked at
    or touched) is replaced by a file with the umask's mode.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode) & ~_SPECIAL_BITS if stat.S_ISREG(st.st_mode) else _default_mode()
    except FileNotFoundError:
        mode = _default_mode()
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())    # the data is on disk before the name points at it
            os.fchmod(fh.fileno(), mode & 0o777)   # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _default_mode() -> int:
    return 0o666 & ~_umask()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True          # someone else's process
    return True


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that interrupted :func:`write_atomic` calls left in ``folder``.

    Only names matching :data:`TEMP_NAME`, only regular files of this user, and only where
    the process that made them has ended (or a day has passed).  Returns what was removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        found = TEMP_NAME.fullmatch(entry.name)
        if not found:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            continue
        pid = int(found["pid"])
        if pid == os.getpid() or (_pid_alive(pid) and now - st.st_mtime < STALE_AFTER_S):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def check_output_folder(folder: str | os.PathLike[str], option: str = "--out") -> Path:
    """Raise :class:`OutputFolderError` (one line) unless ``folder`` can be created and written.

    Made to run before any slow work.  An existing folder is tried by creating (and removing)
    a temporary file in it, which also tells a read-only file system or an immutable folder
    apart; a missing one is created, tried, and removed again, so nothing is left behind.
    Stale temporary files of earlier interrupted writes there are removed.
    """
    path = Path(folder)
    hint = f"choose another {option} (a folder you can write to)"
    missing: list[Path] = []
    probe = path
    while not probe.exists() and not probe.is_symlink():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = f"{option} {str(path)!r} is a file" if probe == path else \
            f"{option} {str(path)!r} cannot be created: {str(probe)!r} is a file"
        raise OutputFolderError(f"{what}, not a folder; {hint}")
    created: list[Path] = []
    try:
        for directory in reversed(missing):
            os.mkdir(directory)
            created.append(directory)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix("probe"), suffix=".tmp", dir=path)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        verb = "created" if missing and len(created) < len(missing) else "written"
        raise OutputFolderError(f"{option} {str(path)!r} cannot be {verb}: {err.strerror or err}; {hint}") from None
    finally:
        for directory in reversed(created):
            try:
                os.rmdir(directory)
            except OSError:
                pass
    if not missing:
        remove_stale_temps(path)
    return path


def sha256_file(path: str | os.PathLike[str]) -> str | None:
    """SHA-256 of a regular file's content (hex); None for anything else or an unreadable file."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            digest = hashlib.sha256()
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            return digest.hexdigest()
    except OSError:
        return None


def _manifest(folder: Path) -> dict[str, str]:
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def foreign_files(folder: str | os.PathLike[str], names: Iterable[str],
                  also_ours: Iterable[str] = ()) -> list[str]:
    """Those of ``names`` present in ``folder`` that the tool did not write as they are now:
    not in the folder's :data:`MANIFEST` with their current SHA-256 (and not in ``also_ours``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    owned, extra = _manifest(folder), set(also_ours)
    foreign = []
    for name in dict.fromkeys(names):
        path = folder / name
        if not (path.exists() or path.is_symlink()) or name in extra:
            continue
        if path.is_symlink() or owned.get(name) is None or sha256_file(path) != owned[name]:
            foreign.append(name)
    return foreign


def record_files(folder: str | os.PathLike[str], files: Mapping[str, str | None], tool: str) -> None:
    """Add ``files`` (name → SHA-256, or None to hash the file now) to ``folder``'s :data:`MANIFEST`."""
    folder = Path(folder)
    owned = _manifest(folder)
    for name, digest in files.items():
        digest = digest or sha256_file(folder / name)
        if digest:
            owned[name] = digest
    text = json.dumps({"tool": tool, "note": "files written by activation-lab; it replaces them only while "
                       "they are unchanged", "files": dict(sorted(owned.items()))}, indent=2)
    write_atomic(folder / MANIFEST, text + "\n")


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask would set it,
    briefly, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
