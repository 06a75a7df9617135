"""The Great Expectations Data Docs of the newest build, served by the dashboard itself, so
anyone who can open the dashboard can open them (a file:// link opens only on the server).
A link between Data Docs pages opens this page with that document in a new tab (the frame
may not navigate the dashboard itself)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import streamlit as st

from skillstream import settings as settings_module
from skillstream.quality.publish import read_status

LINK = re.compile(r'href="(?![a-z]+:|#|/)([^"#?]+\.html)(#[^"]*)?"')


def site() -> Path | None:
    """The folder of the newest build's Data Docs (or of the published build's)."""
    current, latest = read_status(settings_module.load())
    docs = (latest or {}).get("data_docs") or (current or {}).get("data_docs")
    return Path(docs).parent if docs else None


def document(root: Path, name: str) -> Path | None:
    """A Data Docs page by its path inside the site; None outside it or missing."""
    path = (root / name).resolve()
    inside = path.is_relative_to(root.resolve())
    return path if inside and path.suffix == ".html" and path.is_file() else None


def served(html: str, root: Path, path: Path) -> str:
    """The page with each link to another Data Docs page made a link to this page."""

    def link(match: re.Match[str]) -> str:
        target = (path.parent / match.group(1)).resolve()
        name = (
            target.relative_to(root.resolve()).as_posix()
            if target.is_relative_to(root.resolve())
            else ""
        )
        return f'href="./data-docs?doc={quote(name)}" target="_blank"'

    return LINK.sub(link, html)


st.title("Data Docs")
root = site()
if root is None:
    st.info("No build has written Data Docs yet. Run `skillstream build`.")
    st.stop()
name = st.query_params.get("doc", "index.html")
path = document(root, name)
if path is None:
    st.warning(f"The Data Docs have no page “{name}”. [Open their index](./data-docs).")
    st.stop()
st.caption(f"Great Expectations Data Docs · {name} · [index](./data-docs)")
# the build's own Data Docs, written by the checkpoint on this server: trusted HTML
st.iframe(served(path.read_text(), root, path), height=900)
