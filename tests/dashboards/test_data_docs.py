"""The Data Docs page serves the build's Great Expectations Data Docs over the dashboard's own
HTTP, its links between documents kept inside the site."""

from __future__ import annotations

from pathlib import Path

from skillstream.settings import Settings
from tests.conftest import record_a_build
from tests.dashboards.test_app import run_app


def write_data_docs(settings: Settings) -> Path:
    """A two-page Data Docs site recorded as the newest build's, as the checkpoint writes it."""
    site = settings.home / "gx_site"
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text(
        '<html><body><h1>Validation results</h1><a href="validations/run.html">run</a>'
        '<a href="https://greatexpectations.io/">GX</a></body></html>'
    )
    (site / "validations" / "run.html").write_text(
        "<html><body><p>expect_column_values_to_not_be_null: passed</p>"
        '<a href="../index.html">home</a></body></html>'
    )
    record_a_build(settings, data_docs=str(site / "index.html"))
    return site


def iframe_html(app) -> str:  # type: ignore[no-untyped-def]
    frames = [n for n in app.main.children.values() if type(n).__name__ == "UnknownElement"]
    return str(frames[0].proto.srcdoc)


def test_the_index_links_to_the_dashboard_not_to_files(published_settings: Settings) -> None:
    write_data_docs(published_settings)
    app = run_app("data_docs")
    html = iframe_html(app)
    assert "<h1>Validation results</h1>" in html
    assert 'href="./data-docs?doc=validations/run.html" target="_blank"' in html
    assert 'href="https://greatexpectations.io/"' in html  # other sites stay as they are
    assert "file://" not in html


def test_a_linked_document_and_no_path_outside_the_site(published_settings: Settings) -> None:
    site = write_data_docs(published_settings)
    (site.parent / "secret.html").write_text("<p>not Data Docs</p>")
    app = run_app()
    app.query_params["doc"] = "validations/run.html"
    app.switch_page("screens/data_docs.py").run()
    html = iframe_html(app)
    assert "expect_column_values_to_not_be_null: passed" in html
    assert 'href="./data-docs?doc=index.html"' in html
    app.query_params["doc"] = "../secret.html"
    app.run()
    assert "not Data Docs" not in str(app.main)
    assert "The Data Docs have no page “../secret.html”" in app.warning[0].value
