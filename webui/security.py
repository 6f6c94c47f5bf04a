"""Who is signed in (session or API token), CSRF tokens for every form, and access guards for views."""

from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from domain.people.accounts import UserView
from engine.errors import NotFound

CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request that sends no session cookie (every API call) gets its new empty
    session without the signer Flask would build first (0.1 ms a request, before any hook runs)."""

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def load_user() -> None:
    """Put the signed-in person (or None) in `g.user` for this request."""
    g.user = None
    accounts = current_app.extensions["xieshang"].accounts     # the app's Services (see webui.services_of)
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        g.user = accounts.user_for_token(header[7:].strip())
        g.token_auth = True
        return
    g.token_auth = False
    username = session.get("username")
    if username:
        try:
            user = accounts.user(username)
        except NotFound:
            user = None
        # A session made before the person's generation moved on (signed out elsewhere, password reset, role taken
        # away) has ended, even if its cookie was copied and kept.
        current = user is not None and user.active and session.get("generation", 0) == user.generation
        g.user = user if current else None
        if g.user is None:
            session.clear()


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf() -> None:
    """Refuse unsafe requests without the session's token (API calls authenticate by token instead)."""
    if request.method in SAFE_METHODS or getattr(g, "token_auth", False) or request.path.startswith("/api/"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="csrf")


def sign_in(user: UserView) -> None:
    """Start a fresh session for `user` (a new session id guards against fixation)."""
    lang = session.get("lang")
    session.clear()
    session["username"] = user.username
    session["generation"] = user.generation
    if lang:
        session["lang"] = lang
    session.permanent = True


def login_required(view):
    """Redirect anonymous people to the sign-in page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def allowed_if(rule):
    """Only people for whom the policy `rule(user)` holds may use the view (others get 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not rule(g.user):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_user() -> UserView | None:
    """The signed-in person, if any."""
    return g.get("user")
