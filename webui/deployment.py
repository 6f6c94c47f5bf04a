"""What a deployment needs from the web app: a shared secret key outside embedded mode, the client's address and
scheme from trusted proxies (XIESHANG_PROXIES), secure cookies over HTTPS (XIESHANG_HTTPS or the proxy's
X-Forwarded-Proto), and static files under content-hashed names with long cache headers (WhiteNoise).

Static files: `url_for('static', filename='app.css')` gives `/static/app.<hash>.css`; WhiteNoise serves that name
with `Cache-Control: max-age=31536000, public, immutable` (a changed file gets a new name), and the plain name
with a short max-age (for references from inside bundles, e.g. fonts a stylesheet names). Neither goes through
Flask's request hooks (no session, no database).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from whitenoise import WhiteNoise

from engine.settings import Settings

from .headers import HEADERS

SECRET_KEY_ENV = "XIESHANG_SECRET_KEY"
PROXIES_ENV = "XIESHANG_PROXIES"
HTTPS_ENV = "XIESHANG_HTTPS"
ONE_YEAR = 365 * 24 * 3600
SHORT_MAX_AGE = 300          # seconds, for files asked for by their plain name
HASH_CHARS = 12
MAX_PROXIES = 10
TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


class DeploymentError(RuntimeError):
    """A setting the web app cannot start without (the message names the variable)."""


def init_app(app: Flask, settings: Settings) -> None:
    """Check the secret key, trust the configured proxies, secure cookies over HTTPS, serve hashed static files."""
    check_startup(settings, app.config.get("SECRET_KEY"))
    proxies = _proxies(app.config.get("PROXIES", os.environ.get(PROXIES_ENV, "")))
    https = _flag(app.config.get("HTTPS", os.environ.get(HTTPS_ENV, "")))
    if https:
        app.config.update(SESSION_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    static = StaticFiles(Path(app.static_folder), app.static_url_path)
    app.extensions["xieshang_static"] = static
    app.url_defaults(static.hashed_url_defaults)
    app.wsgi_app = SecureCookies(static.wrap(app.wsgi_app))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies,
                                x_prefix=proxies)


def check_startup(settings: Settings, secret_key: str | None = None) -> None:
    """Raise DeploymentError for settings the web app cannot start with (also checked by `xieshang serve` first)."""
    if not settings.embedded and not settings.secret_key and not secret_key:
        raise DeploymentError(
            f"{SECRET_KEY_ENV} is not set: with XIESHANG_REDIS_URL set (several web processes or hosts) every web "
            f"process must sign sessions with the same key; set {SECRET_KEY_ENV} to a long random string, e.g. "
            f"the output of `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    _proxies(os.environ.get(PROXIES_ENV, ""))
    _flag(os.environ.get(HTTPS_ENV, ""))


def _proxies(value) -> int:
    raw = str(value or "0").strip()
    if not raw.isdigit() or int(raw) > MAX_PROXIES:
        raise DeploymentError(f"{PROXIES_ENV} must be the number of reverse proxies in front of xieshang "
                              f"(0–{MAX_PROXIES}), not {raw!r}")
    return int(raw)


def _flag(value) -> bool:
    word = str(value).strip().lower()
    if word not in TRUE | FALSE:
        raise DeploymentError(f"{HTTPS_ENV} must be true or false, not {value!r}")
    return word in TRUE


class SecureCookies:
    """WSGI middleware: over HTTPS (directly, or as a trusted proxy says) every cookie set gets `Secure`.

    Middleware rather than an after_request hook because Flask writes the session cookie after those hooks.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [(name, value if name.lower() != "set-cookie" or _is_secure(value) else f"{value}; Secure")
                       for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _is_secure(cookie: str) -> bool:
    return any(part.strip().lower() == "secure" for part in cookie.split(";")[1:])


class StaticFiles:
    """The static folder's files by content hash, and the WhiteNoise server for both names of each."""

    def __init__(self, folder: Path, url_path: str):
        self.folder = folder
        self.prefix = url_path.rstrip("/") + "/"
        self.hashed: dict[str, str] = {}        # "bpmn/app.js" -> "bpmn/app.<hash>.js"
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            self.hashed[name] = hashed_name(name, hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_CHARS])
        self.immutable = {self.prefix + name for name in self.hashed.values()}

    def wrap(self, wsgi_app) -> WhiteNoise:
        """WhiteNoise in front of `wsgi_app`: plain names with a short max-age, hashed names immutable for a year."""
        server = _Server(wsgi_app, max_age=SHORT_MAX_AGE, allow_all_origins=False,
                         immutable_file_test=lambda _path, url: url in self.immutable,
                         add_headers_function=_security_headers)
        server.add_files(str(self.folder), prefix=self.prefix)
        for name, hashed in self.hashed.items():
            server.add_file_to_dictionary(self.prefix + hashed, str(self.folder / name))
        return server

    def hashed_url_defaults(self, endpoint: str, values: dict) -> None:
        """`url_for('static', filename=...)` names the hashed copy (unknown names stay as they are)."""
        if endpoint == "static" and values.get("filename") in self.hashed:
            values["filename"] = self.hashed[values["filename"]]


class _Server(WhiteNoise):
    FOREVER = ONE_YEAR


def _security_headers(headers, _path, _url) -> None:
    """The same security headers as every page (WhiteNoise answers before Flask's after_request hooks)."""
    for name, value in HEADERS.items():
        headers[name] = value


def hashed_name(name: str, digest: str) -> str:
    """`css/app.css` -> `css/app.<digest>.css` (a name without suffix gets `.<digest>` at its end)."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}" if path.suffix else f"{path.name}.{digest}"))
