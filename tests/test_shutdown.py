"""SIGTERM and SIGHUP stop long commands as Ctrl-C does: one line, exit status 128 + signal,
no process of the command left (workers, forkserver, resource tracker), state saved and resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import activation_lab as al
from activation_lab.analysis import exhaustive as ex
from activation_lab.present.commands import _common

ROOT = Path(__file__).resolve().parents[1]
ONE = 0x3F800000                       # 1.0f: a slice of positive inputs
START, STOP, CHUNK = ONE, ONE + 2**25, 2**15    # 1024 chunks: half a minute on two cores, stopped early

RUN = f"""
import functools, sys
import activation_lab.analysis.exhaustive as ex
ex.exhaustive = functools.partial(ex.exhaustive, start={START}, stop={STOP}, chunk_size={CHUNK})
from activation_lab.present.cli import main
sys.exit(main(["check", "telu", "--exhaustive", "--out", sys.argv[1]]))
"""


def _group(pgid: int) -> list[str]:
    """The processes (pid and command) still in process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(f"{entry.name}: {cmd[:120]}")
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_exhaustive_check_cleanly(tmp_path, sig):
    out = tmp_path / "out"
    state = out / "check-exhaustive-telu-0.json"
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(out)], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the check ended before it could be stopped: " + proc.stderr.read()
        assert state.exists(), "no state file after 120 s"
        assert len(_group(proc.pid)) >= 3, _group(proc.pid)   # the command, its forkserver and workers
        os.kill(proc.pid, sig)                                  # to the command only, not its group
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + sig, (proc.returncode, stderr)
    # besides the progress lines of the run: one line, no traceback
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("telu f float32:")]
    assert len(lines) == 1 and f"stopped by {sig.name}" in lines[0] and "resume" in lines[0], stderr
    time.sleep(5)
    left = _group(proc.pid)
    if left:     # a failing test leaves nothing either
        os.killpg(proc.pid, signal.SIGKILL)
    assert not left, left
    # the state file is whole and belongs to this run: a new run with the same range resumes from it
    identity = ex._identity(al.get("telu"), 0, None, START, STOP, CHUNK)
    done, totals, seconds = ex._load_state(state, identity)
    assert 0 < len(done) < (STOP - START) // CHUNK and seconds > 0
    assert json.loads(state.read_text())["done"] == sorted(done)
    assert not [p.name for p in out.iterdir() if ".al-tmp." in p.name]


def slow_evaluation(x):
    """An implementation whose every chunk takes ten minutes (a worker deep in a long chunk)."""
    time.sleep(600)
    return x


SLOW = f"""
import functools, sys
import activation_lab.analysis.exhaustive as ex
from tests.test_shutdown import slow_evaluation
ex.exhaustive = functools.partial(ex.exhaustive, start={START}, stop={STOP}, chunk_size={CHUNK},
                                  implementation=slow_evaluation)
from activation_lab.present.cli import main
sys.exit(main(["check", "telu", "--exhaustive", "--out", sys.argv[1]]))
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_workers_deep_in_a_chunk_are_stopped_at_once(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", SLOW, str(tmp_path)], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(_group(proc.pid)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)     # the command, the forkserver, two workers
        time.sleep(2)           # the workers are in their first chunk
        assert proc.poll() is None, proc.stderr.read()
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)       # not after the chunks (ten minutes)
        time.sleep(5)
        left = _group(proc.pid)
    finally:
        if proc.poll() is None or _group(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, stderr
    assert not left, left
    assert (tmp_path / "check-exhaustive-telu-0.json").is_file()    # saved, with nothing done yet


def test_stop_signals_raise_once_and_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(_common.Terminated) as stop:
        with _common.stop_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    assert stop.value.signum == signal.SIGTERM and isinstance(stop.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before


def test_long_command_reports_one_line_and_exit_status(capsys):
    @_common.long_command(lambda args: "; state saved")
    def run(args):
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(1)
        raise AssertionError("not stopped")

    class Args:
        verb = "check"

    assert run(Args()) == 128 + signal.SIGHUP
    assert capsys.readouterr().err == "activation-lab check: stopped by SIGHUP; state saved\n"
