"""xieshang web UI: a Flask app factory; one blueprint per area, found in this package's modules."""

from __future__ import annotations

import importlib
import os
import pkgutil
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext, lazy_pgettext

from domain.people import policy
from domain.services import Services
from engine.service import Engine
from engine.settings import Settings

from . import deployment, errors, gates, headers, i18n, labels, links, navigation, observability, security


def _secret_key(settings: Settings) -> str:
    """The configured secret key, else the instance folder's, created once by whichever process comes first."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Web processes start together: write a complete file aside, then link it into place, which fails if
        # another process got there first, so nobody reads a half-written key or signs with a key it lost.
        draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="utf-8").strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` may carry SETTINGS and SERVICES (a domain.services.Services) to use instead of
    the environment's."""
    app = Flask(__name__)
    app.config.from_mapping(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=11 * 1024 * 1024, MAX_BODY_WITHOUT_FILES=1024 * 1024, JSON_AS_ASCII=False)
    app.config.from_mapping(test_config or {})
    app.json.ensure_ascii = False     # Chinese stays readable in JSON
    settings = app.config.get("SETTINGS") or Settings.from_env()
    deployment.init_app(app, settings)    # secret key outside embedded mode, proxies, HTTPS cookies, static files
    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or _secret_key(settings)   # Flask presets it to None
    app.config.setdefault("UPLOAD_PATH", settings.instance_path / "uploads")
    app.extensions["xieshang"] = app.config.get("SERVICES") or Services.from_settings(settings)
    app.extensions["xieshang_settings"] = settings
    if services_of(app).uploads.folder is None:      # services built without settings keep files where the app does
        services_of(app).uploads.folder = Path(app.config["UPLOAD_PATH"])
    observability.init_app(app)       # request ids, access logs, metrics; answers /healthz, /readyz, /metrics first
    headers.init_app(app)             # security headers (CSP, framing, nosniff, referrer) on every response
    i18n.init_app(app)
    labels.init_app(app)
    errors.init_app(app)
    gates.init_app(app)                   # rate limits and token lifetime
    app.before_request(_cap_body)         # before anything reads the body
    app.before_request(_open_scope)       # signing in and the page share one read transaction
    app.teardown_request(_close_scope)
    app.session_interface = security.CookieSessions()
    app.before_request(security.load_user)
    app.before_request(security.check_csrf)
    app.jinja_env.globals.update(csrf_token=security.csrf_token, url_maker=links.url_maker)
    for module in _blueprint_modules():
        app.register_blueprint(module.bp)
    app.jinja_env.globals.update(has_endpoint=lambda name: name in app.view_functions,
                                 nav_items=navigation.items_for(app, NAV))
    return app


def _cap_body() -> None:
    """Only a multipart post (files) may use MAX_CONTENT_LENGTH; JSON and plain forms get a smaller cap (413)."""
    if request.mimetype != "multipart/form-data":
        request.max_content_length = current_app.config["MAX_BODY_WITHOUT_FILES"]


def _open_scope() -> None:
    """One request, one engine scope: its reads share a session and a transaction, one connection at a time."""
    g.engine_scope = engine_of(current_app).scope()
    g.engine_scope.__enter__()


def _close_scope(_error) -> None:
    scope = g.pop("engine_scope", None)
    if scope is not None:
        scope.__exit__(None, None, None)


# The header menu (webui/navigation.py): supervision's pages share one group, the platforms' another and
# administration a third, so a phone's header holds one row. A member's own page (履职) is their name's link.
NAV = [("inbox.index", lazy_gettext("待办"), None),
       ("intake.propose", lazy_gettext("提出议题"), lambda user: policy.may_propose_topic(user.memberships)),
       ("intake.record", lazy_gettext("代群众登记"), lambda user: policy.may_record_for_residents(user.memberships)),
       ("start.index", lazy_gettext("发起流程"), None), ("instances.index", lazy_gettext("协商事项"), None),
       navigation.Group(lazy_gettext("督办"), (
           ("board.index", lazy_gettext("督办看板"), policy.may_see_board),
           ("ledger.index", lazy_gettext("建议台账"), None),
           ("figures.index", lazy_gettext("数据"), policy.may_see_figures),
           ("deadlines.index", lazy_gettext("时限规则"), policy.may_see_deadline_rules))),
       navigation.Group(lazy_gettext("平台"), (             # the halls, the year's plan and the meetings
           ("halls.index", lazy_pgettext("menu", "议事厅"), policy.may_see_halls),
           ("plans.index", lazy_gettext("年度计划"), policy.may_see_plans),
           ("meetings.index", lazy_gettext("会议活动"), policy.may_organize_meetings))),
       ("overview.index", lazy_gettext("概览"), None),
       navigation.Group(lazy_gettext("管理"), (             # an admin's two, one entry each for everyone else
           ("admin.users", lazy_gettext("用户与单位"), policy.may_administer),
           ("studio_versions.processes", lazy_gettext("流程工作室"), policy.may_use_studio)))]


def _blueprint_modules():
    """Every module of this package that defines a blueprint `bp`, in name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "bp"):
            yield module


def services_of(app: Flask) -> Services:
    """The product (engine and domain services) the app was built with."""
    return app.extensions["xieshang"]


def engine_of(app: Flask) -> Engine:
    """The engine of the product the app was built with."""
    return services_of(app).engine
