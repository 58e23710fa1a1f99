"""mod_wsgi.server_metrics() as key=value lines: whether it is on, the scoreboard's
generation, each live Apache child (pid:generation), and what the busy workers serve."""
import os

import mod_wsgi


def application(environ, start_response):
    m = mod_wsgi.server_metrics()
    lines = ["pid=%d" % os.getpid(), "enabled=%s" % (m is not None)]
    if m is not None:
        lines.append("running_generation=%d" % m["running_generation"])
        lines.append("limits=%d,%d" % (m["server_limit"], m["thread_limit"]))
        lines.append("running_time_ok=%s" % (0 <= m["running_time"] < 3600))
        lines.append("children=%s" % " ".join(
            "%d:%d" % (p["pid"], p["generation"]) for p in m["processes"]))
        lines.append("writing=%s" % "|".join(
            w["request"] for p in m["processes"] for w in p["workers"]
            if w["status"] == "W"))
        lines.append("statuses=%s" % "".join(sorted(set(
            w["status"] for p in m["processes"] for w in p["workers"]))))
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
