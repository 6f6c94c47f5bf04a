"""Links to many rows of one kind: a page of twenty tasks links each the same way, so the route is built once."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from flask import url_for

# A value every converter of a route's part takes and writes back as is (int and string alike), found once in the URL.
_MARK = 9876543210123456789


def url_maker(endpoint: str, name: str, **values) -> Callable[[object], str]:
    """`url_for(endpoint, name=value, **values)` as a function of `value`: the URL is built once around a mark and each
    value put in its place, quoted as the route's default (string) and int converters write it."""
    head, _, tail = url_for(endpoint, **{name: _MARK}, **values).partition(str(_MARK))
    return lambda value: f"{head}{quote(str(value), safe=SAFE)}{tail}"


SAFE = "!$&'()*+,/:;=@"      # werkzeug.routing.BaseConverter.to_url's safe characters of a path segment
