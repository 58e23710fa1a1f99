# The Python half of the `mod_wsgi` module's API, run by rwsgi in every interpreter with
# the module's namespace as globals. rwsgi has put in place before it: the subscriber lists
# (event_callbacks, shutdown_callbacks, signal_callbacks), process_group, and the native
# functions _active_snapshot and _log.

import logging as _logging
import traceback as _traceback
from collections.abc import Mapping as _Mapping


def subscribe_events(callback):
    """Calls callback(name, **event) for every request and process event."""
    event_callbacks.append(callback)
    return callback


def subscribe_shutdown(callback):
    """Calls callback('process_stopping', shutdown_reason=...) once, as the process stops."""
    shutdown_callbacks.append(callback)
    return callback


def subscribe_signals(callback):
    """Calls callback('process_signal', signum=..., signame=...) when a daemon process
    gets SIGHUP or SIGUSR2. Apache's own processes keep their signals: there the callback
    is never called, and the log says so."""
    if process_group:
        signal_callbacks.append(callback)
    else:
        _log(
            20,
            "mod_wsgi.subscribe_signals() called outside daemon mode; the callback will "
            "not be invoked. Signal callbacks are only delivered in daemon mode processes.\n"
            + "".join(_traceback.format_stack()[:-1]),
        )
    return callback


class _ActiveRequests(_Mapping):
    """mod_wsgi.active_requests: {request_id: request_data} of the requests running in
    this interpreter now (read live)."""

    __slots__ = ()

    def __getitem__(self, request_id):
        return _active_snapshot()[request_id]

    def __iter__(self):
        return iter(_active_snapshot())

    def __len__(self):
        return len(_active_snapshot())

    def copy(self):
        return _active_snapshot()

    def __repr__(self):
        return repr(_active_snapshot())


active_requests = _ActiveRequests()


class LogHandler(_logging.Handler):
    """A logging handler that writes records into the Apache error log, at the Apache level
    matching the record's (CRITICAL → crit, ERROR → error, WARNING → warn, INFO → info,
    lower → debug), one log line per line of the formatted record; `LogLevel wsgi:...`
    filters them like rwsgi's own lines."""

    def emit(self, record):
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        _log(record.levelno, message)
