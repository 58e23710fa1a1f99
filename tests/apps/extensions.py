"""Imports C extension modules: the standard library's (_decimal, sqlite3, _ssl) and
cryptography's, built with pyo3, which refuses to load in a second interpreter (when
installed: it has no wheels for free-threaded Pythons)."""
import _decimal
import sqlite3
import ssl

try:
    from cryptography.hazmat.primitives import hashes
except ModuleNotFoundError:
    hashes = None


def pyo3_package():
    if hashes is None:
        return "none"
    digest = hashes.Hash(hashes.SHA256())
    digest.update(b"rwsgi")
    return "cryptography:" + digest.finalize().hex()[:8]


def application(environ, start_response):
    body = "decimal=%s sqlite=%s ssl=%s pyo3=%s\n" % (
        _decimal.Decimal("1.5") * 2,
        sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0],
        ssl.OPENSSL_VERSION.split()[0],
        pyo3_package(),
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
