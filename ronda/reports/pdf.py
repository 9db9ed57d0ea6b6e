"""`ronda report --pdf`: the HTML report printed by WeasyPrint, an optional extra
(`pip install 'ronda[pdf]'`): it pulls in Pango and friends, which a desk that only mails
HTML reports does not need. Without it, `--pdf` is refused in one line."""

from __future__ import annotations

from pathlib import Path


class PdfUnavailable(Exception):
    """WeasyPrint cannot be used here; the text says what to install."""


MISSING = (
    "--pdf needs WeasyPrint, which is not installed: pip install 'ronda[pdf]' "
    "(or open the HTML report in a browser and print it to PDF)"
)


def require_weasyprint() -> None:
    """Refuse at once, in one line, when WeasyPrint cannot be imported."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: installed, but its system libraries are not
        raise PdfUnavailable(MISSING) from None


def _data_only() -> object:
    """A fetcher of `data:` URLs only (the inlined logo): a report fetches nothing else,
    neither from the network nor from files."""
    import weasyprint

    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint 66 and later
        return weasyprint.URLFetcher(allowed_protocols={"data"})

    def fetch(url: str, *args: object, **kwargs: object) -> dict:
        if not url.startswith("data:"):
            raise ValueError(f"the report fetches nothing ({url[:40]})")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)  # type: ignore[attr-defined]

    return fetch


def html_to_pdf(html: str, path: Path) -> Path:
    """Print `html` to `path`, fetching nothing but what the file holds."""
    require_weasyprint()
    import weasyprint

    weasyprint.HTML(string=html, url_fetcher=_data_only()).write_pdf(str(path))
    return path


__all__ = ["MISSING", "PdfUnavailable", "html_to_pdf", "require_weasyprint"]
