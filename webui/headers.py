"""Security headers on every response: a content security policy that allows our own bundled assets only, no
framing by any site, no content sniffing, and no full URLs in the Referer sent to other sites."""

from __future__ import annotations

from flask import Flask

# Scripts and styles come from /static only (no inline code, no eval); the BPMN viewer's stylesheet draws
# its icons from data: URLs; <script type="application/json"> data blocks are not run, so they need nothing.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# The studio's editors (bpmn-js's properties panel, dmn-js and its CodeMirror cell editor) build their widgets with
# style="…" attributes and add <style> elements of their own: on those pages only, inline styles are allowed. Styles
# cannot run code; scripts stay limited to our own files. Only process owners and admins reach these pages.
EDITOR_POLICY = CONTENT_SECURITY_POLICY + "; style-src-attr 'unsafe-inline'; style-src-elem 'self' 'unsafe-inline'"
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",                 # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Add the headers to every response (errors, files and probes included); a view's own value wins."""
    @app.after_request
    def secure(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
