"""Talking to another LRS: authentication and the xAPI paging of GET /statements.

xAPI Communication 2.1.3: a StatementResult holds `statements` and, when there are more,
a `more` IRL relative to the LRS's host (one that leads elsewhere is refused: the
credentials go to the configured LRS only); `since`/`until` are exclusive/inclusive stored
times; `ascending=true` returns the oldest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

DEFAULT_PAGE_SIZE = 500
TIMEOUT_SECONDS = 60


class LrsPullError(RuntimeError):
    """The other LRS refused or failed a request; the message says which and why."""


@dataclass(frozen=True)
class Endpoint:
    """An LRS's xAPI base (…/xapi/) and the credentials to read it."""

    base: str
    auth: tuple[str, str] | None
    version: str = "1.0.3"

    @classmethod
    def parse(cls, url: str, auth: str | None, version: str) -> Endpoint:
        """`https://key:secret@lrs.example/xapi` or a plain URL with `auth` = key:secret."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LrsPullError(f"{url!r} is not an http(s) URL of an xAPI endpoint")
        credentials: tuple[str, str] | None = None
        if parts.username is not None:
            credentials = (parts.username, parts.password or "")
        if auth:
            user, sep, secret = auth.partition(":")
            if not sep:
                raise LrsPullError("--auth must be KEY:SECRET")
            credentials = (user, secret)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        return cls(urlunsplit((parts.scheme, netloc, path, "", "")), credentials, version)

    @property
    def statements_url(self) -> str:
        return urljoin(self.base, "statements")

    @property
    def cursor_key(self) -> str:
        """The cursor's name: the endpoint and who reads it (not the secret)."""
        return f"{self.base} as {self.auth[0] if self.auth else 'anonymous'}"


class Client:
    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.session = requests.Session()
        self.session.headers["X-Experience-API-Version"] = endpoint.version
        self.session.headers["Accept"] = "application/json"
        if endpoint.auth is not None:
            self.session.auth = endpoint.auth

    def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self.session.get(url, params=params, timeout=TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise LrsPullError(f"GET {url}: {error}") from None
        if response.status_code in (401, 403):
            raise LrsPullError(f"GET {url}: {response.status_code}, check the credentials")
        if response.status_code != 200:
            raise LrsPullError(f"GET {url}: {response.status_code} {response.text[:300]}")
        try:
            result = response.json()
        except ValueError:
            raise LrsPullError(f"GET {url}: the answer is not JSON") from None
        if not isinstance(result, dict) or not isinstance(result.get("statements"), list):
            raise LrsPullError(f"GET {url}: the answer is not a StatementResult")
        return result

    def _same_origin(self, url: str) -> str:
        """`url`, if it is on the configured scheme, host and port: the credentials go
        there only, so a `more` link elsewhere is refused rather than followed."""
        if _origin(url) != _origin(self.endpoint.base):
            raise LrsPullError(
                f"the LRS's `more` link {url} leaves {_origin(self.endpoint.base)}; "
                "credentials are sent to the configured LRS only"
            )
        return url

    def pages(
        self, since: str | None, until: str | None, page_size: int, more: str | None = None
    ) -> Iterator[tuple[list[Any], str | None]]:
        """(statements, url of the next page or None) for each page, oldest first."""
        if more:
            url, params = urljoin(self.endpoint.base, more), None
        else:
            url = self.endpoint.statements_url
            params = {"ascending": "true", "limit": str(page_size), "format": "exact"}
            if since:
                params["since"] = since
            if until:
                params["until"] = until
        while True:
            result = self.get(url, params)
            next_page = result.get("more") or None
            next_url = (
                self._same_origin(urljoin(self.endpoint.base, next_page)) if next_page else None
            )
            yield result["statements"], next_url
            if next_url is None:
                return
            url, params = next_url, None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or default}"
