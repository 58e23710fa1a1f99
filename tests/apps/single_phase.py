"""Imports _testsinglephase, CPython's own test module with single-phase initialisation,
which an interpreter with its own GIL refuses (PEP 684)."""
import _testsinglephase  # noqa: F401


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"single-phase module loaded\n"]
