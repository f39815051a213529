"""A :class:`~activation_lab.present.compare.Comparison` as Markdown and as one offline HTML page.

The HTML page is self-contained: plots are PNG and formulas are SVG drawn by matplotlib's
mathtext, both embedded as ``data:`` URIs, with inline CSS and no script, so it opens
without network access and refers to nothing outside itself.  The Markdown page shows
formulas as ``$$…$$`` (rendered by GitHub and most viewers) and links the PNG files
written beside it.

Writing a report (:func:`write_report`) follows three rules:

* every file is written atomically (a temporary file in the target directory, then
  ``os.replace``), so a reader sees the old file or the new one, never half of either;
* a directory the tool did not create is written into only when it is empty or with
  ``force=True``; the marker file :data:`MARKER` records the files the tool wrote, which
  is how a later run recognises the directory as its own;
* only files the tool wrote are ever removed: a file of an earlier report that this run
  does not rewrite (say ``report.md`` after ``--format html``) is removed only if its
  content is still what the tool wrote, so a file someone edited is left alone.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..atomic import check_output_folder, remove_stale_temps, write_atomic
from ..errors import ActivationLabError
from ..version import __version__

__all__ = ["MARKER", "FORMATS", "OutputDirectoryError", "check_formats", "check_out_dir", "to_markdown",
           "to_html", "latex_svg", "figure_png", "report_files", "write_report",
           "check_dpi", "PLOT_DPI"]

#: the file that marks a directory as one the report writer made, listing what it wrote
MARKER = ".activation-lab-report"
#: report formats: Markdown (with PNG files beside it) and a self-contained HTML page
FORMATS: tuple[str, ...] = ("md", "html")
#: default resolution of the plots in a report (``--dpi``): sharp on high-density screens
PLOT_DPI = 200
STEM = "report"
# the only names a report writes (and so the only names it may remove as stale)
_OWN_NAME = re.compile(r"report(-[a-z0-9_]+)?\.(md|html|png)")


class OutputDirectoryError(ActivationLabError, FileExistsError):
    """An output directory that the report writer may not write into (as things stand)."""


# ------------------------------------------------------------------ checks made before any work
def check_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"md,html"`` or ``["html"]`` → ``("md", "html")`` / ``("html",)``; unknown formats raise."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(str(f).strip().lower().lstrip(".") for f in items if str(f).strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ActivationLabError(f"unsupported report format {', '.join(map(repr, bad)) or '(none given)'}; "
                                 f"choose from {', '.join(FORMATS)}, e.g. --format md,html")
    return out


def _marker(directory: Path) -> dict[str, str] | None:
    """The files (name → sha256) the tool recorded in ``directory``; None when it has no marker."""
    path = directory / MARKER
    if not path.is_file():
        return None
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (ValueError, AttributeError, OSError):
        return {}   # a marker we cannot read still marks the directory; it just lists nothing to clean
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def check_out_dir(out_dir: str | os.PathLike[str], force: bool = False) -> Path:
    """Raise :class:`OutputDirectoryError` unless a report may be written to ``out_dir``.

    Allowed: a directory that does not exist yet (it will be created), an empty directory,
    a directory holding the tool's marker file, or any directory with ``force``; in every case
    it must be creatable and writable.  Nothing is left behind by this check (the temporary
    files of an earlier interrupted write are removed), so it can run before the (slow)
    comparison, and a run interrupted during its first write runs again without ``force``.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise OutputDirectoryError(f"--out {str(path)!r} is a file, not a directory; give a directory name "
                                   "(it is created if missing)")
    check_output_folder(path)
    if not path.exists() or force:
        return path
    remove_stale_temps(path)
    owned = _marker(path)
    if owned is not None:
        # the directory is ours, but a report-named file the marker does not list is someone else's
        foreign = sorted(p.name for p in path.iterdir() if _OWN_NAME.fullmatch(p.name) and p.name not in owned)
        if foreign:
            raise OutputDirectoryError(
                f"--out {str(path)!r} holds {', '.join(foreign)}, which activation-lab did not write and "
                "would replace; move it, write the report elsewhere, or add --force to replace it")
        return path
    if any(path.iterdir()):
        raise OutputDirectoryError(
            f"--out {str(path)!r} is a directory that activation-lab did not create and it is not empty; "
            "write the report into a new or empty directory, or add --force to write into it anyway "
            "(files of the same names are replaced, nothing else is touched)")
    return path


# ------------------------------------------------------------------ images
def figure_png(fig: Any, dpi: int = PLOT_DPI) -> bytes:
    """A matplotlib Figure as PNG bytes, in the package's style, without the version stamp.

    The image is reduced to a 128-colour palette (no dithering): a line plot in eight
    palette colours and their anti-aliased edges looks the same, at a third of the bytes,
    which keeps the self-contained HTML page small.
    """
    from PIL import Image  # a dependency of matplotlib

    from . import style

    buf = io.BytesIO()
    with style.context():
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    buf.seek(0)
    with Image.open(buf) as image:
        palette = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def latex_svg(tex: str, fontsize: float = 11.0) -> bytes | None:
    """LaTeX (matplotlib's mathtext subset) drawn as a standalone SVG, glyphs as paths.

    No TeX installation and no network: matplotlib lays the formula out itself.  Returns
    None when mathtext cannot parse the text (the page then shows the LaTeX source).
    """
    from matplotlib.figure import Figure

    from . import style

    fig = Figure(figsize=(0.01, 0.01))
    fig.text(0, 0, f"${tex}$", fontsize=fontsize)
    buf = io.BytesIO()
    try:
        with style.context():
            fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.02, transparent=True,
                        metadata={"Creator": None, "Date": None})
    except ValueError:   # mathtext's parse errors are ValueErrors
        return None
    return _compact_svg(buf.getvalue().decode("utf-8")).encode("utf-8")


def _compact_svg(text: str) -> str:
    """An SVG without its XML prolog, DOCTYPE, RDF metadata and comments, whitespace collapsed:
    about a third smaller, and nothing in it names a URL except the SVG namespaces."""
    text = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>|<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"\s*\n\s*", " ", text)
    return re.sub(r">\s+<", "><", text).strip()


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


# ------------------------------------------------------------------ Markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md_text(text: str) -> str:
    """Plain text for Markdown: characters that would start emphasis, links, HTML or a
    table cell escaped (a formula such as x*tanh(a*exp(x)) stays as written)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_text(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_text(c) for c in row) + " |" for row in rows]
    return lines


def _md_code(text: str) -> str:
    """``text`` as a Markdown code span (shown literally, markup included): the fence is one
    backtick longer than the longest run inside, padded where the text starts or ends with one."""
    text = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_prose(text: str, user: Iterable[str] = ()) -> str:
    """Prose written for both pages, with text a user supplied (``user``: a name, a formula)
    escaped wherever it appears: outside code spans every Markdown/HTML character of it is
    escaped (:func:`_md_text`), inside one it stays literal (the span's fence grows past any
    backtick in it).  So a name such as ``<img src=x onerror=...>`` or ``[a](javascript:...)``
    is shown as text in the Markdown page, as the HTML page shows it; the project's own prose
    is left as written."""
    tokens: dict[str, str] = {}
    for i, item in enumerate(sorted({str(u) for u in user if str(u)}, key=len, reverse=True)):
        token = f"\ue000{i}\ue001"
        text = str(text).replace(item, token)
        tokens[token] = item

    def restore(part: str, escape: bool) -> str:
        for token, item in tokens.items():
            part = part.replace(token, _md_text(item) if escape else item)
        return part

    parts = re.split(r"(`[^`]+`)", str(text))
    return "".join(_md_code(restore(p[1:-1], False)) if i % 2 else restore(p, True).replace("\n", " ")
                   for i, p in enumerate(parts))


def to_markdown(comp: Any, images: Mapping[str, str] | None = None) -> str:
    """The report as Markdown; ``images`` maps a plot key to the file name it was written to
    (plots without a file are listed by title only)."""
    images = images or {}
    lines = [f"# {_md_text(comp.title)}", ""]
    lines += [f"Formula: {_md_code(comp.activation.formula)}"
              + (f", parameters {', '.join(f'{k} = {v:g}' for k, v in comp.params.items())}" if comp.params else "")
              + ".", ""]
    lines += [f"Made by {_md_code(comp.command)} (activation-lab {__version__}).", ""]
    user = (comp.activation.name, comp.activation.formula)
    lines += ["## Equivalence", "", _md_prose(comp.equivalence.statement, user), ""]
    lines += ["## Summary", ""] + [f"- {_md_prose(s, user)}" for s in comp.summary] + [""]
    lines += ["## Formulas", ""]
    for f in comp.formulas:
        lines += [f"**{_md_text(f.label)}**", ""]
        for n, tex in enumerate(f.latex):
            lines += [f"$$f{chr(39) * n}(x) = {tex}$$", ""]
    for table in comp.tables:
        lines += [f"## {_md_text(table.title)}", ""]
        if table.note:
            lines += [_md_text(table.note), ""]
        lines += _md_table(table.header, table.rows) + [""]
    if comp.plots:
        lines += ["## Plots", ""]
        for plot in comp.plots:
            if plot.key in images:
                lines += [f"![{_md_text(plot.title)}]({images[plot.key]})", "", f"*{_md_text(plot.caption)}*", ""]
            else:
                lines += [f"- {_md_text(plot.title)}: {_md_text(plot.caption)}"]
        lines += [""]
    if comp.worst_inputs:
        lines += ["## Worst inputs", ""] + [f"- {_md_code(n)}" for n in comp.worst_inputs] + [""]
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------ HTML
_CSS = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; background: #f6f6f6; padding: 0 0.2em; }
.formulas td { max-width: 26rem; }
.math { display: block; overflow-x: auto; max-width: 100%; }
.math img { max-width: none; vertical-align: middle; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #444; }
.equivalence { font-weight: bold; }
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _prose_html(text: str) -> str:
    """Escaped prose with its Markdown `code` spans as <code> (the statements are written for both)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _esc(text))


def _math_html(tex: str, svg_cache: dict[str, bytes | None]) -> str:
    if tex not in svg_cache:
        svg_cache[tex] = latex_svg(tex)
    svg = svg_cache[tex]
    if svg is None:
        return f"<code>{_esc(tex)}</code>"
    return f'<span class="math"><img alt="{_esc(tex)}" src="{_data_uri("image/svg+xml", svg)}"></span>'


def to_html(comp: Any, images: Mapping[str, bytes] | None = None) -> str:
    """The report as one HTML page; ``images`` maps a plot key to its PNG bytes (default: drawn now)."""
    if images is None:
        images = {plot.key: figure_png(plot.figure) for plot in comp.plots if plot.figure is not None}
    svgs: dict[str, bytes | None] = {}
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{_esc(comp.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{_esc(comp.title)}</h1>"]
    params = (", parameters " + ", ".join(f"{_esc(k)} = {v:g}" for k, v in comp.params.items())) if comp.params else ""
    out += [f"<p>Formula: <code>{_esc(comp.activation.formula)}</code>{params}.</p>",
            f"<p>Made by <code>{_esc(comp.command)}</code> (activation-lab {_esc(__version__)}).</p>"]
    out += ["<h2>Equivalence</h2>", f'<p class="equivalence">{_prose_html(comp.equivalence.statement)}</p>']
    out += ["<h2>Summary</h2>", "<ul>"] + [f"<li>{_prose_html(s)}</li>" for s in comp.summary] + ["</ul>"]
    out += ["<h2>Formulas</h2>", '<table class="formulas">',
            "<tr><th>activation</th><th>f(x)</th><th>f′(x)</th><th>f″(x)</th></tr>"]
    for f in comp.formulas:
        cells = "".join(f"<td>{_math_html(tex, svgs)}</td>" for tex in f.mathtext)
        out.append(f"<tr><th>{_esc(f.label)}</th>{cells}</tr>")
    out.append("</table>")
    for table in comp.tables:
        out += [f"<h2>{_esc(table.title)}</h2>"]
        if table.note:
            out.append(f"<p>{_esc(table.note)}</p>")
        out += ["<table>", "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in table.header) + "</tr>"]
        out += ["<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{_esc(c)}</{'th' if i == 0 else 'td'}>"
                                 for i, c in enumerate(row)) + "</tr>" for row in table.rows]
        out.append("</table>")
    if comp.plots:
        out.append("<h2>Plots</h2>")
        for plot in comp.plots:
            if plot.key in images:
                out += ["<figure>", f'<img alt="{_esc(plot.title)}" src="{_data_uri("image/png", images[plot.key])}">',
                        f"<figcaption>{_esc(plot.caption)}</figcaption>", "</figure>"]
    if comp.worst_inputs:
        out += ["<h2>Worst inputs</h2>", "<ul>"] + [f"<li><code>{_esc(n)}</code></li>" for n in comp.worst_inputs]
        out.append("</ul>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ writing
def report_files(comp: Any, formats: Iterable[str] = FORMATS, dpi: int = PLOT_DPI) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every file of the report in ``formats``, images (at ``dpi``) first."""
    formats = check_formats(formats)
    check_dpi(dpi)
    pngs = {plot.key: figure_png(plot.figure, dpi) for plot in comp.plots if plot.figure is not None}
    files: list[tuple[str, bytes]] = []
    names = {key: f"{STEM}-{key}.png" for key in pngs}
    if "md" in formats:
        files += [(names[key], data) for key, data in pngs.items()]
        files.append((f"{STEM}.md", to_markdown(comp, names).encode("utf-8")))
    if "html" in formats:
        files.append((f"{STEM}.html", to_html(comp, pngs).encode("utf-8")))
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_marker(directory: Path, files: Mapping[str, str]) -> None:
    text = json.dumps({"tool": "activation-lab compare", "note": "files written by activation-lab; "
                       "a later report may replace or remove them (only while unchanged)",
                       "files": dict(sorted(files.items()))}, indent=2)
    write_atomic(directory / MARKER, text + "\n")


def check_dpi(dpi: object) -> int:
    """``dpi`` if it is an integer from 10 to 1200, else an error that says so."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 1200:
        raise ActivationLabError(f"dpi must be an integer from 10 to 1200, got {dpi!r}; e.g. --dpi 200")
    return dpi


def write_report(comp: Any, out_dir: str | os.PathLike[str], formats: Iterable[str] = FORMATS,
                 force: bool = False, dpi: int = PLOT_DPI) -> list[Path]:
    """Write the report into ``out_dir`` (see the module docstring for the rules); returns the paths written.

    Images are written before the pages that show them, and the marker last, so an
    interrupted run leaves whole files and a directory the next run recognises.
    """
    formats = check_formats(formats)
    directory = check_out_dir(out_dir, force)
    planned = report_files(comp, formats, dpi)   # everything drawn before the first byte is written
    previous = _marker(directory) if directory.exists() else None
    directory.mkdir(parents=True, exist_ok=True)
    owned = dict(previous or {})
    if previous is None:
        # claim the directory first: if this run is interrupted, the next one knows it
        _write_marker(directory, owned)
    written = []
    for name, payload in planned:
        written.append(write_atomic(directory / name, payload))
        owned[name] = _sha256(payload)
    for name in sorted(set(owned) - {n for n, _ in planned}):
        if not _OWN_NAME.fullmatch(name):   # a hand-edited marker cannot point elsewhere
            del owned[name]
            continue
        stale = directory / name
        # a file of an earlier report that this one does not rewrite: removed only while
        # it is exactly what the tool wrote (someone's edits are kept, and no longer ours)
        if stale.is_file() and _sha256(stale.read_bytes()) == owned[name]:
            stale.unlink()
        del owned[name]
    _write_marker(directory, owned)
    return written
