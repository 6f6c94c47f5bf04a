"""xieshang web UI: a Flask app factory; one blueprint per area."""

from __future__ import annotations

from flask import Flask

from engine.service import Engine
from engine.settings import Settings


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` may carry SETTINGS and ENGINE to use instead of the environment's."""
    app = Flask(__name__)
    app.config.from_mapping(test_config or {})
    settings = app.config.get("SETTINGS") or Settings.from_env()
    app.extensions["xieshang"] = app.config.get("ENGINE") or Engine.from_settings(settings)

    from . import overview

    app.register_blueprint(overview.bp)
    return app


def engine_of(app: Flask) -> Engine:
    """The engine service the app was built with."""
    return app.extensions["xieshang"]
