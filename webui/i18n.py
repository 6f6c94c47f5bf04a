"""Chinese first, English available: Flask-Babel with Chinese source strings and English catalogs per area."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g, request, session
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


def select_locale() -> str:
    """The person's choice (kept in the session), else zh_CN; `?lang=` switches for API clients too."""
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if request.path.startswith("/api/"):        # API clients may also say so the usual way
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        return "en" if best == "en" else DEFAULT
    return DEFAULT


def catalog_dirs() -> list[str]:
    """Every area's translations directory (webui/translations/<area>)."""
    return sorted(str(p) for p in TRANSLATIONS.iterdir() if p.is_dir()) if TRANSLATIONS.is_dir() else []


def init_app(app) -> None:
    """Attach Flask-Babel to the app."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(catalog_dirs())
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _language():
        return {"current_lang": select_locale(), "languages": LANGUAGES, "user": g.get("user")}


def compile_catalogs() -> list[Path]:
    """Compile every .po under webui/translations to .mo; returns the .mo files written."""
    written = []
    for po_path in sorted(TRANSLATIONS.rglob("*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path)
