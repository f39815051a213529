"""Sphinx configuration of the activation-lab documentation site.

Build (no network needed; see docs/README.md):

    python -m pip install -e '.[docs]' && python -m sphinx -W -b html docs docs/_build/html
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the package itself, also from a checkout that was not pip-installed

import activation_lab  # noqa: E402

# -- the notebooks ------------------------------------------------------------------------------
# They live in notebooks/ (the test suite runs them there); the site renders copies with their
# committed outputs (nb_execution_mode = "off"), refreshed on every build into a gitignored folder.
NOTEBOOKS = DOCS / "notebooks"


def _copy_notebooks() -> None:
    NOTEBOOKS.mkdir(exist_ok=True)
    wanted = {p.name: p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    for old in NOTEBOOKS.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, src in wanted.items():
        dst = NOTEBOOKS / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)  # only when changed, so incremental builds stay incremental


_copy_notebooks()

# -- project ------------------------------------------------------------------------------------
project = "activation-lab"
author = "activation-lab developers"
copyright = "activation-lab developers (MIT licence)"
version = release = activation_lab.__version__

extensions = [
    "myst_nb",                    # Markdown (MyST) pages and the notebooks, as committed
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",                   # NumPy-style docstrings, as NumPy, SciPy, SymPy and Matplotlib write them
    "sphinx.ext.mathjax",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "make_results.py", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# -- checks: the build runs with -W (warnings are errors) ---------------------------------------
nitpicky = True                   # every cross-reference must resolve
nitpick_ignore_regex = [
    # type words in numpydoc's Parameters/Returns that are prose, not objects to link
    (r"py:.*", r"(array_like|array|optional|scalar|callable|sequence|mapping|iterable|default.*)"),
    # the layers below the public API are named in docstrings but not documented on the site
    (r"py:(mod|func|class|meth)", r"activation_lab\.(numeric|budget|frameworks|requests|atomic|symbolic\.parsing|"
                                  r"symbolic\.functions|analysis\.ulp)(\..*)?"),
    # issue 17's modules, in progress: not in the API reference yet
    (r"py:(mod|func|class|meth)", r"activation_lab\.(export|analysis\.framework_audit)(\..*)?"),
    # the figures module's docstring names the method of the object its functions take
    (r"py:meth", r"Activation\.evaluate"),
    # module constants named in docstrings (most have no docstring of their own to link to)
    (r"py:data", r".*"),
]
suppress_warnings: list[str] = []

# -- MyST and notebooks -------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3          # [text](page.md#a-heading) links are checked like any other
nb_execution_mode = "off"         # render the committed outputs; never run the notebooks here
nb_merge_streams = True

# -- API reference ------------------------------------------------------------------------------
autosummary_generate = False    # the tables link to the module pages (automodule), nothing is generated
autosummary_imported_members = True
autodoc_typehints = "none"        # types are in the numpydoc Parameters/Returns sections
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"activation-lab {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "use_edit_page_button": False,
}
html_static_path: list[str] = []
html_last_updated_fmt = None


# -- pages other work adds --------------------------------------------------------------------
# The toctrees name these pages where they belong; a toctree line naming one that does not exist
# yet is left out of the build (a warning otherwise, and warnings are errors), so the site builds
# before and after they land.  Every other toctree entry must exist.
OPTIONAL_PAGES = {
    "notes/targets", "notes/figures-and-verdicts", "notes/exports", "notes/frameworks",
    "results/framework-audit",
}


def _exists(docname: str) -> bool:
    return any((DOCS / f"{docname}{suffix}").exists() for suffix in (".md", ".ipynb", ".rst"))


def _drop_missing_optional(app, docname: str, source: list[str]) -> None:
    folder = docname.rpartition("/")[0]
    kept = []
    for line in source[0].splitlines(keepends=True):
        entry = line.strip()
        target = entry[1:] if entry.startswith("/") else (f"{folder}/{entry}" if folder else entry)
        if target in OPTIONAL_PAGES and not _exists(target):
            continue
        kept.append(line)
    if docname == "guide/index":
        kept = _with_other_notes(kept)
    source[0] = "".join(kept)


def _with_other_notes(lines: list[str]) -> list[str]:
    """A note in docs/notes/ that no toctree names yet goes at the end of the user guide's toctree,
    so a new note is on the site (and in a toctree, as -W requires) before it is placed by hand."""
    others = sorted(f"/notes/{p.stem}\n" for p in (DOCS / "notes").glob("*.md")
                    if f"notes/{p.stem}" not in OPTIONAL_PAGES)
    if not others:
        return lines
    start = next(i for i, line in enumerate(lines) if line.startswith("```{toctree}"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return lines[:end] + others + lines[end:]


# -- docstrings as the package writes them ------------------------------------------------------
# New docstrings are numpydoc (Parameters, Returns, Raises; tests/test_docs.py checks the public
# functions).  Older ones, mostly of result dataclasses, list their fields Google-style
# ("Attributes:" then "name: what it is"), and many write |x| for an absolute value, which
# reStructuredText reads as a substitution.  Before numpydoc sees a docstring, Google sections
# become numpydoc sections and a | outside literals is escaped; nothing else is changed.
_GOOGLE = re.compile(r"^(Attributes|Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?)"
                     r"(?: \([^)]*\))?:\s*$")
_NUMPY_NAME = {"Args": "Parameters", "Arguments": "Parameters", "Example": "Examples", "Note": "Notes"}
_ITEM = re.compile(r"^([A-Za-z_*][\w*, .\[\]]*?):\s+(.*)$")
_LITERAL = re.compile(r"(``.+?``|:[a-z:]+:`[^`]+`|`[^`]+`_?)")


def _google_to_numpy(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _GOOGLE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        title = _NUMPY_NAME.get(match.group(1), match.group(1))
        if out and out[-1].strip():
            out.append("")
        out += [title, "-" * len(title)]
        i += 1
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or lines[i][:1].isspace()):
            body.append(lines[i])
            i += 1
        indents = [len(b) - len(b.lstrip()) for b in body if b.strip()]
        base = min(indents) if indents else 0
        for b in body:
            text = b[base:] if b.strip() else ""
            item = _ITEM.match(text) if text and not text[:1].isspace() else None
            if item and title in ("Attributes", "Parameters", "Raises"):
                out += [item.group(1), "    " + item.group(2)]
            elif text and not text[:1].isspace() and title in ("Attributes", "Parameters"):
                out.append(text)
            else:
                out.append(("    " + text.strip()) if text and title in ("Attributes", "Parameters", "Raises")
                           else text)
        if out and out[-1].strip():
            out.append("")
    return out


def _escape_bars(lines: list[str]) -> list[str]:
    out, literal_indent = [], None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None and line.strip() and indent <= literal_indent:
            literal_indent = None
        stripped = line.strip()
        if literal_indent is None and not stripped.startswith((">>>", "...", "+-", "+=")) and "|" in line \
                and not re.match(r"^\s*\|.*\|\s*$", line):
            parts = _LITERAL.split(line)
            line = "".join(part if k % 2 else part.replace("|", r"\|") for k, part in enumerate(parts))
        if stripped.endswith("::"):
            literal_indent = indent
        out.append(line)
    return out


def _docstring(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = _escape_bars(_google_to_numpy(list(lines)))


# -- short names in docstrings ------------------------------------------------------------------
# Docstrings name their neighbours briefly (:func:`equivalent` in compare.py means the analysis
# function).  A Python reference Sphinx cannot find as written is resolved to the one documented
# object whose full name ends with it, preferring the referring module's own; an ambiguous or
# unknown name stays a warning, so an error.
def _resolve_short_name(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    if not target or target.startswith("activation_lab."):
        return None
    domain = env.get_domain("py")
    found = [name for name in domain.objects if name.endswith("." + target)]
    module = node.get("py:module") or ""
    own = [name for name in found if name == f"{module}.{target}"]
    if own:
        found = own
    else:   # the package-namespace entries of the API index repeat the real ones
        found = [name for name in found if name.count(".") > 1] or found
    if len(found) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    obj = domain.objects[found[0]]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, found[0])


# -- the table of primitives, from the code ---------------------------------------------------
# ```{primitives-table}``` renders activation_lab.numeric.primitives.PRIMITIVES as it is at build
# time, one row per primitive, one column per target: the page cannot drift from the table.
from docutils import nodes  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402


def _callable_name(fn) -> str:
    if fn is None:
        return ""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    module = getattr(fn, "__module__", "") or ""
    return f"{module.split('.')[-1]}.{name}" if module.startswith(("activation_lab", "scipy")) else name


class PrimitivesTable(SphinxDirective):
    has_content = False

    def run(self):
        from activation_lab.numeric.primitives import PRIMITIVES

        header = ["primitive", "NumPy (float64)", "long double", "C (CuPy, native)", "C, float32 only",
                  "PyTorch", "JAX", "mpmath"]
        rows = []
        for p in PRIMITIVES.values():
            numpy_fn = _callable_name(p.numpy) if callable(p.numpy) else p.python
            rows.append([p.name, numpy_fn, _callable_name(p.longdouble), p.c, p.c_float32 or "",
                         p.targets.get("torch", ""), p.targets.get("jax", ""),
                         "guarded" if p.mpmath is not None else "mpmath's own"])
        table = nodes.table(classes=["primitives-table"])
        group = nodes.tgroup(cols=len(header))
        table += group
        group.extend(nodes.colspec(colwidth=1) for _ in header)

        def row(cells, head=False):
            tr = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += nodes.paragraph("", "", nodes.Text(cell) if head or not cell else nodes.literal(cell, cell))
                tr += entry
            return tr

        thead = nodes.thead()
        thead += row(header, head=True)
        tbody = nodes.tbody()
        tbody.extend(row(r) for r in rows)
        group += thead
        group += tbody
        return [table]


def setup(app):
    app.connect("source-read", _drop_missing_optional)
    app.connect("autodoc-process-docstring", _docstring, priority=100)  # before numpydoc's (500)
    app.connect("missing-reference", _resolve_short_name)
    app.add_directive("primitives-table", PrimitivesTable)
    return {"parallel_read_safe": True}
