"""The teaching notebooks run top to bottom in a fresh kernel, fast, without errors or
warnings, and their committed outputs are not stale."""

import re
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
VOLATILE = "volatile"   # cell tag: output depends on timing or machine, not compared

_NOISE = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),                       # object ids
    (re.compile(r"\d+(\.\d+)?\s*(ns|µs|us|ms|s)\b"), "<time>"),   # timings
]


def _text_outputs(cell) -> list[str]:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif o.get("output_type") in ("execute_result", "display_data"):
            data = o.get("data", {})
            if "text/plain" in data and not any(k.startswith("image/") for k in data):
                out.append(data["text/plain"])
        elif o.get("output_type") == "error":
            out.append(f"ERROR {o.get('ename')}: {o.get('evalue')}")
    text = "".join(t if isinstance(t, str) else "".join(t) for t in out)
    for pattern, repl in _NOISE:
        text = pattern.sub(repl, text)
    return text


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_is_not_stale(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    committed = nbformat.read(path, as_version=4)
    fresh = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = nbclient.NotebookClient(fresh, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"{path.name} took {elapsed:.1f} s"
    for i, (old, new) in enumerate(zip(committed.cells, fresh.cells, strict=True)):
        if new.cell_type != "code":
            continue
        for o in new.get("outputs", []):
            assert o.get("output_type") != "error", f"{path.name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
            if o.get("output_type") == "stream":
                assert o.get("name") != "stderr", f"{path.name} cell {i} wrote to stderr: {o.get('text')}"
            if o.get("output_type") in ("display_data", "execute_result"):
                data = o.get("data", {})
                text = data.get("text/plain", "")
                text = text if isinstance(text, str) else "".join(text)
                pictured = any(k.startswith("image/") for k in data)
                # a figure whose repr stands in for its picture (inline plotting never switched on)
                assert pictured or not (text.startswith("<Figure") or (not text and len(data) == 1)), \
                    f"{path.name} cell {i} shows a figure as text, not as an image (add %matplotlib inline)"
        if VOLATILE in new.get("metadata", {}).get("tags", []):
            continue
        assert _text_outputs(old) == _text_outputs(new), f"{path.name} cell {i}: committed output is stale"
