"""The password rules every new or changed password meets: long enough, not the username, not a common password."""

from __future__ import annotations

from functools import cache
from importlib import resources

MIN_LENGTH = 10
MAX_LENGTH = 128      # scrypt takes any length; a bound keeps hashing a guess cheap for the server
TOO_SHORT = "密码至少 {n} 位 (at least {n} characters)"
TOO_LONG = "密码不能超过 {n} 位 (at most {n} characters)"
IS_USERNAME = "密码不能与用户名相同或包含用户名 (the password must not be or contain the username)"
TOO_COMMON = "这是常见密码，很容易被猜中，请换一个 (this is a common password that is easily guessed; choose another)"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = resources.files("domain.people").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problems(password: str, username: str) -> list[str]:
    """What is wrong with `password` for the account `username` (empty when it may be used)."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return [TOO_SHORT.format(n=MIN_LENGTH)]
    if len(password) > MAX_LENGTH:
        return [TOO_LONG.format(n=MAX_LENGTH)]
    lowered = password.lower()
    if username and len(username) >= 3 and username.lower() in lowered:
        return [IS_USERNAME]
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return [TOO_COMMON]
    return []
