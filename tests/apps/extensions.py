"""Imports C extension modules: the standard library's (_decimal, sqlite3, _ssl) and
cryptography's, built with pyo3, which refuses to load in a second interpreter."""
import _decimal
import sqlite3
import ssl

from cryptography.hazmat.primitives import hashes


def application(environ, start_response):
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"rwsgi")
    body = "decimal=%s sqlite=%s ssl=%s sha256=%s\n" % (
        _decimal.Decimal("1.5") * 2,
        sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0],
        ssl.OPENSSL_VERSION.split()[0],
        digest.finalize().hex()[:8],
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
