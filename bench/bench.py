#!/usr/bin/env python3
"""rwsgi benchmark: the same WSGI app under rwsgi, mod_wsgi, uWSGI, gunicorn and granian, and
the same bytes served by Apache as static files (the ceiling no Apache module can pass).

Every server gets the same processes x threads. Rounds are interleaved (A B C ... A B C ...)
and results are reported as ratios against mod_wsgi measured in the same run, because the
machine is small and noisy. Run through bench/run.sh, which builds and installs everything.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODULES = "/usr/lib/apache2/modules"

# name, app path, request body bytes (POST) or None, static equivalent path or None
WORKLOADS = [
    ("hello", "/hello", None, "/static/hello.txt"),
    ("get10k", "/get10k", None, "/static/10k.bin"),
    ("post10k", "/echo", 10240, None),
    ("file1m", "/file1m", None, "/static/1m.bin"),
    ("upload50m", "/upload", 50 * 1024 * 1024, "/static/hello.txt"),
    ("stream100", "/stream", None, None),
    ("flask", "/flask/world", None, None),
    # Pure Python, about 1 ms a request: what free-threading runs on every core.
    ("cpu1ms", "/cpu", None, None),
]

# (server, workload) pairs the targets of issue 3 are judged on, with the minimum ratio.
TARGETS = [
    ("embedded hello >= 1.5x mod_wsgi embedded", "rwsgi-embedded", "modwsgi-embedded", "hello", 1.5),
    ("embedded hello >= 85% of static", "rwsgi-embedded", "static", "hello", 0.85),
    ("daemon hello >= 2.5x mod_wsgi daemon", "rwsgi-daemon", "modwsgi-daemon", "hello", 2.5),
    ("daemon hello >= 65% of static", "rwsgi-daemon", "static", "hello", 0.65),
    ("daemon hello >= 70% of rwsgi embedded", "rwsgi-daemon", "rwsgi-embedded", "hello", 0.70),
    ("1 MB download within 10% of static", "rwsgi-embedded", "static", "file1m", 0.90),
    ("50 MB upload within 10% of Apache discarding it", "rwsgi-embedded", "static", "upload50m", 0.90),
    ("hello in a named group (one per process) >= 95% of %{GLOBAL}", "rwsgi-embedded",
     "rwsgi-embedded-global", "hello", 0.95),
    ("stream100 embedded, WSGIStreamCoalescing On >= uWSGI", "rwsgi-embedded-coalescing", "uwsgi",
     "stream100", 1.0),
    ("stream100 embedded, WSGIStreamCoalescing On >= granian", "rwsgi-embedded-coalescing",
     "granian", "stream100", 1.0),
    ("flask embedded >= granian", "rwsgi-embedded", "granian", "flask", 1.0),
    ("flask embedded >= granian on the shared libpython", "rwsgi-embedded", "granian-libpython",
     "flask", 1.0),
    # A daemon group exec'd into the venv's interpreter (Debian's static python3.11) against
    # the same group forked from the module (the shared libpython).
    ("daemon flask exec'd into the static python >= 1.10x forked", "rwsgi-daemon-exec",
     "rwsgi-daemon", "flask", 1.10),
    ("daemon hello exec'd >= 0.95x forked", "rwsgi-daemon-exec", "rwsgi-daemon", "hello", 0.95),
    # Free-threading (issue 33): one daemon process x 2 threads on 3.13t.
    ("cpu1ms 3.13t 1x2 free-threaded >= 1.7x the same with its GIL", "ft-on-1x2",
     "ft-gil-1x2", "cpu1ms", 1.7),
    ("cpu1ms 3.13t 1x2 free-threaded >= 0.9x 2 processes x 1 thread with the GIL",
     "ft-on-1x2", "ft-gil-2x1", "cpu1ms", 0.9),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not listen on %d" % port)


def process_tree(root_pid):
    """The pid and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """A server process tree started in its own session (Apache signals its group)."""

    def __init__(self, name, workdir):
        self.name = name
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        self.port = free_port()
        self.proc = None
        self.workloads = None  # the names of the workloads it runs; None: all

    def command(self):
        raise NotImplementedError

    def env(self):
        return dict(os.environ)

    def start(self):
        cmd, cwd = self.command()
        log = open(os.path.join(self.workdir, "server.log"), "wb")
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=self.env())
        wait_port(self.port, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def pids(self):
        return process_tree(self.proc.pid) if self.proc else []

    def path_for(self, workload):
        name, path, body, static = workload
        return path


class Apache(Server):
    def __init__(self, name, workdir, args, body):
        super().__init__(name, workdir)
        self.args = args
        self.body = body

    def command(self):
        user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
        # The worker MPM (the default, as in rwsgi-express) gives each connection a thread:
        # processes x threads is then exactly the load the configuration holds. The event
        # MPM closes idle keep-alive connections, unannounced, when every thread of a
        # process is busy, so it gets twice the threads of the connections it must hold.
        mpm = self.args.mpm
        p, t = self.args.processes, self.args.threads * (2 if mpm == "event" else 1)
        htdocs = os.path.join(self.args.workdir, "htdocs")
        # `AllowOverride None` at / as Debian's apache2.conf and both express tools set it:
        # without it every request looks for .htaccess in each directory of its path.
        conf = f"""ServerRoot {self.workdir}
DefaultRuntimeDir {self.workdir}
PidFile {self.workdir}/httpd.pid
Listen 127.0.0.1:{self.port}
ServerName localhost
{user}LoadModule mpm_{mpm}_module {MODULES}/mod_mpm_{mpm}.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule mime_module {MODULES}/mod_mime.so
LoadModule alias_module {MODULES}/mod_alias.so
TypesConfig /etc/mime.types
ErrorLog {self.workdir}/error_log
LogLevel warn
KeepAlive On
MaxKeepAliveRequests 0
StartServers {p}
ServerLimit {p}
ThreadsPerChild {t}
ThreadLimit {t}
MaxRequestWorkers {p * t}
MinSpareThreads 1
MaxSpareThreads {p * t}
LimitRequestBody 0
Alias /static {htdocs}
<Directory />
    AllowOverride None
</Directory>
<Directory {self.args.workdir}>
    Require all granted
</Directory>
{self.body}
"""
        path = os.path.join(self.workdir, "httpd.conf")
        with open(path, "w") as f:
            f.write(conf)
        return ["apache2", "-f", path, "-DFOREGROUND"], self.workdir


class SidApache(Apache):
    """Apache in the Debian sid root file system (scripts/sid/root.sh), for the Pythons only
    sid has: its own apache2 (2.4.69), with the bench's work directory mounted in."""

    def __init__(self, name, workdir, args, body, root):
        super().__init__(name, workdir, args, body)
        self.root = root

    def command(self):
        cmd, cwd = super().command()
        wrapper = ("cd %s && . scripts/lib.sh && . scripts/sid/root.sh && "
                   "RWSGI_SID_BIND=%s in_sid \"$0\" \"$@\"" % (REPO, self.args.workdir))
        return ["bash", "-c", wrapper, self.root] + cmd, cwd


class Static(Apache):
    def path_for(self, workload):
        return workload[3]


class Command(Server):
    def __init__(self, name, workdir, cmd, cwd):
        super().__init__(name, workdir)
        self.cmd = [c.replace("{port}", str(self.port)) for c in cmd]
        self.cwd = cwd

    def command(self):
        return self.cmd, self.cwd


def rwsgi_daemon(args, extra="", launch=""):
    """rwsgi's daemon-mode lines (no Python in Apache's children), `extra` before the group;
    `launch` the group's launch= (docs/daemon.md "Launch styles")."""
    launch = f" launch={launch}" if launch else ""
    return (f"WSGIRestrictEmbedded On\n{extra}WSGIDaemonProcess bench processes={args.processes} "
            f"threads={args.threads} python-home={args.venv}{launch}\nWSGIProcessGroup bench\n")


def make_servers(args):
    p, t = args.processes, args.threads
    apps = os.path.join(args.workdir, "apps")
    app = os.path.join(apps, "bench_app.py")
    venv = args.venv
    home = f"WSGIPythonHome {venv}\n"
    alias = f"WSGIScriptAlias / {app}\n"
    load = f"LoadModule wsgi_module {args.workdir}/mod_rwsgi.so\n{home}"
    servers = [
        Static("static", args.workdir, args, ""),
        # No WSGIApplicationGroup: the default, %{RESOURCE}, a named group (the process's only
        # one, so in its main interpreter).
        Apache("rwsgi-embedded", args.workdir, args, load + alias),
    ]
    # Application groups: %{GLOBAL} itself, and the application in a sub-interpreter (another
    # group, imported at start, takes the main interpreter).
    groups = [
        Apache("rwsgi-embedded-global", args.workdir, args,
               load + "WSGIApplicationGroup %{GLOBAL}\n" + alias),
        Apache("rwsgi-embedded-subinterp", args.workdir, args,
               load + f"WSGIImportScript {apps}/main_taken.py process-group=%{{GLOBAL}} "
               "application-group=taken\n" + alias),
    ]
    for server in groups:
        server.workloads = ["hello", "flask"]
    servers += groups
    # Streamed responses with the kernel merging their blocks (rwsgi's opt-in).
    coalescing = [
        Apache("rwsgi-embedded-coalescing", args.workdir, args,
               load + "WSGIStreamCoalescing On\n" + alias),
        Apache("rwsgi-daemon-coalescing", args.workdir, args,
               load + rwsgi_daemon(args, "WSGIStreamCoalescing On\n") + alias),
    ]
    for server in coalescing:
        server.workloads = ["stream100"]
    servers += coalescing
    modwsgi = subprocess.run([os.path.join(venv, "bin", "mod_wsgi-express"), "module-location"],
                             capture_output=True, text=True, check=True).stdout.strip()
    mw = f"LoadModule wsgi_module {modwsgi}\n{home}WSGIApplicationGroup %{{GLOBAL}}\n"
    servers.append(Apache("rwsgi-daemon", args.workdir, args, load + rwsgi_daemon(args) + alias))
    # The same group exec'd into the venv's own interpreter (rwsgi._daemon from the wheel
    # bench/run.sh installed there).
    servers.append(Apache("rwsgi-daemon-exec", args.workdir, args,
                          load + rwsgi_daemon(args, launch="exec") + alias))
    servers.append(Apache("modwsgi-embedded", args.workdir, args, mw + alias))
    servers.append(Apache("modwsgi-daemon", args.workdir, args,
                          mw + f"WSGIRestrictEmbedded On\nWSGISocketPrefix {args.workdir}/modwsgi-daemon/wsgi\n"
                          f"WSGIDaemonProcess bench processes={p} threads={t} python-home={venv}\n"
                          f"WSGIProcessGroup bench\n" + alias))
    bin_ = lambda n: os.path.join(venv, "bin", n)  # noqa: E731
    servers.append(Command("uwsgi", args.workdir, [
        bin_("uwsgi"), "--http-socket", "127.0.0.1:{port}", "--http-keepalive", "--master",
        "--processes", str(p), "--threads", str(t), "--wsgi-file", app, "--callable", "application",
        "--disable-logging", "--die-on-term", "--need-app", "--post-buffering", "0",
        "--buffer-size", "32768"], apps))
    servers.append(Command("gunicorn", args.workdir, [
        bin_("gunicorn"), "-k", "gthread", "-w", str(p), "--threads", str(t), "-b", "127.0.0.1:{port}",
        "--keep-alive", "30", "--log-level", "warning", "bench_app:application"], apps))
    servers.append(Command("granian", args.workdir, [
        bin_("granian"), "--interface", "wsgi", "--workers", str(p), "--blocking-threads", str(t),
        "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning", "bench_app:application"], apps))
    launcher = libpython_launcher(venv)
    if launcher:
        # The same server on the interpreter an Apache module must embed: the venv's Python
        # as a shared library (Debian's python3 executable links it statically, which runs
        # Python code about 15 % faster).
        granian = Command("granian-libpython", args.workdir, [
            launcher, "-m", "granian", "--interface", "wsgi", "--workers", str(p),
            "--blocking-threads", str(t), "--host", "127.0.0.1", "--port", "{port}",
            "--log-level", "warning", "bench_app:application"], apps)
        granian.workloads = ["hello", "flask"]
        servers.append(granian)
    servers += python_version_servers(args)
    servers += free_threading_servers(args)
    servers += sid_python_servers(args)
    servers += baseline_servers(args, home, alias)
    if args.only:
        servers = [s for s in servers if s.name in args.only]
    return servers


LAUNCHER_C = "#include <Python.h>\nint main(int argc, char **argv) { return Py_BytesMain(argc, argv); }\n"


def libpython_launcher(venv):
    """A `python` for `venv` linked against its Python's shared library, built into the venv's
    bin (where it finds pyvenv.cfg) on first use; None if it cannot be built."""
    path = os.path.join(venv, "bin", "python-libpython")
    if os.path.exists(path):
        return path
    config = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                             "import sysconfig as s; print(s.get_path('include'), s.get_config_var('LIBDIR'), "
                             "s.get_config_var('LDVERSION'))"], capture_output=True, text=True)
    if config.returncode != 0:
        return None
    include, libdir, ldversion = config.stdout.split()
    source = path + ".c"
    with open(source, "w") as f:
        f.write(LAUNCHER_C)
    built = subprocess.run(["gcc", "-O2", "-o", path, source, "-I" + include, "-L" + libdir,
                            "-Wl,-rpath," + libdir, "-lpython" + ldversion], capture_output=True, text=True)
    os.unlink(source)
    if built.returncode != 0:
        print("granian-libpython skipped: " + built.stderr.strip(), file=sys.stderr)
        return None
    return path


def python_version_servers(args):
    """rwsgi in both modes for each other Python (--python X.Y=VENV, the venv holding rwsgi's
    wheel for that Python and Flask): the hello workload only, to show the version costs
    nothing."""
    servers = []
    alias = "WSGIScriptAlias / %s\n" % os.path.join(args.workdir, "apps", "bench_app.py")
    for spec in args.python or []:
        version, venv = spec.split("=", 1)
        module = subprocess.run([os.path.join(venv, "bin", "rwsgi-express"), "module-location"],
                                capture_output=True, text=True, check=True).stdout.strip()
        load = "LoadModule wsgi_module %s\nWSGIPythonHome %s\n" % (module, venv)
        embedded = Apache("rwsgi-embedded-py" + version, args.workdir, args, load + alias)
        daemon = Apache("rwsgi-daemon-py" + version, args.workdir, args,
                        load + "WSGIRestrictEmbedded On\n"
                        "WSGIDaemonProcess bench processes=%d threads=%d python-home=%s\n"
                        "WSGIProcessGroup bench\n" % (args.processes, args.threads, venv) + alias)
        # The main module's Apache, the group exec'd into this Python's venv.
        main_load = "LoadModule wsgi_module %s/mod_rwsgi.so\nWSGIPythonHome %s\n" % (
            args.workdir, args.venv)
        execd = Apache("rwsgi-daemon-exec-py" + version, args.workdir, args,
                       main_load + "WSGIRestrictEmbedded On\n"
                       "WSGIDaemonProcess bench processes=%d threads=%d python-home=%s\n"
                       "WSGIProcessGroup bench\n" % (args.processes, args.threads, venv) + alias)
        for server in (embedded, daemon, execd):
            server.workloads = ["hello"]
            servers.append(server)
    return servers


def sid_python_servers(args):
    """rwsgi in both modes for Python 3.14 and 3.15 (--sid-python X.Y=ROOT:VENV, a venv in
    the sid root with that Python's wheel and Flask), under sid's Apache: hello only, the
    rows of the Python versions table."""
    servers = []
    alias = "WSGIScriptAlias / %s\n" % os.path.join(args.workdir, "apps", "bench_app.py")
    for spec in args.sid_python or []:
        version, place = spec.split("=", 1)
        root, venv = place.split(":", 1)
        site = os.path.join(root + venv, "lib", "python" + version, "site-packages", "rwsgi")
        module = os.path.join(venv, "lib", "python" + version, "site-packages", "rwsgi",
                              [f for f in os.listdir(site) if f.startswith("mod_rwsgi")][0])
        load = "LoadModule wsgi_module %s\nWSGIPythonHome %s\n" % (module, venv)
        embedded = SidApache("rwsgi-embedded-py" + version, args.workdir, args, load + alias, root)
        daemon = SidApache("rwsgi-daemon-py" + version, args.workdir, args,
                           load + "WSGIRestrictEmbedded On\n"
                           "WSGIDaemonProcess bench processes=%d threads=%d python-home=%s\n"
                           "WSGIProcessGroup bench\n" % (args.processes, args.threads, venv) + alias,
                           root)
        for server in (embedded, daemon):
            server.workloads = ["hello"]
            servers.append(server)
    return servers


def free_threading_servers(args):
    """One daemon group on free-threaded 3.13t (the wheel's module in the --python 3.13t
    venv): 1 process x 2 threads with WSGIFreeThreading On, the same with the GIL, and 2
    processes x 1 thread with the GIL; and 3.13 (with a GIL) in both sizings when it is
    there. cpu1ms shows what free-threading is for; hello and flask its cost to one thread."""
    pythons = dict(spec.split("=", 1) for spec in args.python or [])
    alias = "WSGIScriptAlias / %s\n" % os.path.join(args.workdir, "apps", "bench_app.py")
    rows = [("ft-on-1x2", "3.13t", 1, 2, True, ["cpu1ms", "hello", "flask"]),
            ("ft-gil-1x2", "3.13t", 1, 2, False, ["cpu1ms", "hello", "flask"]),
            ("ft-gil-2x1", "3.13t", 2, 1, False, ["cpu1ms"]),
            ("gil313-1x2", "3.13", 1, 2, False, ["cpu1ms", "hello", "flask"]),
            ("gil313-2x1", "3.13", 2, 1, False, ["cpu1ms"])]
    servers = []
    if "3.13t" not in pythons:
        return servers
    for name, version, processes, threads, free, workloads in rows:
        venv = pythons.get(version)
        if not venv:
            continue
        module = subprocess.run([os.path.join(venv, "bin", "rwsgi-express"), "module-location"],
                                capture_output=True, text=True, check=True).stdout.strip()
        body = ("LoadModule wsgi_module %s\nWSGIPythonHome %s\nWSGIRestrictEmbedded On\n%s"
                "WSGIDaemonProcess bench processes=%d threads=%d python-home=%s\n"
                "WSGIProcessGroup bench\nWSGIApplicationGroup %%{GLOBAL}\n" % (
                    module, venv, "WSGIFreeThreading On\n" if free else "", processes,
                    threads, venv))
        server = Apache(name, args.workdir, args, body + alias)
        server.workloads = workloads
        servers.append(server)
    return servers


def free_threading_table(med):
    """The free-threading rows: requests/s per workload, against the same build with its
    GIL, and the RSS of all the server's processes."""
    names = ["ft-on-1x2", "ft-gil-1x2", "ft-gil-2x1", "gil313-1x2", "gil313-2x1"]
    if not any((n, "cpu1ms") in med for n in names):
        return []
    lines = ["## Free-threading (3.13t)", "",
             "One daemon group, `processes x threads` as named; `ft-*` run the 3.13t wheel's "
             "module (`ft-on` with `WSGIFreeThreading On`, `ft-gil` without: the GIL stays), "
             "`gil313-*` the 3.13 wheel's. cpu1ms is about 1 ms of pure Python a request; total "
             "RSS is the peak of Apache's and the daemons' processes together during cpu1ms.", "",
             "| server | cpu1ms req/s | vs ft-gil-1x2 | vs ft-gil-2x1 | total RSS MiB | hello req/s "
             "| flask req/s |", "|---|---:|---:|---:|---:|---:|---:|"]
    base = med.get(("ft-gil-1x2", "cpu1ms"), {}).get("rps")
    procs = med.get(("ft-gil-2x1", "cpu1ms"), {}).get("rps")
    for n in names:
        cpu = med.get((n, "cpu1ms"), {})
        if not cpu:
            continue
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            n, fmt(cpu.get("rps"), ".0f"),
            fmt(cpu["rps"] / base if base else None, ".2f"),
            fmt(cpu["rps"] / procs if procs else None, ".2f"),
            fmt(cpu.get("rss_total_mib"), ".1f"),
            fmt(med.get((n, "hello"), {}).get("rps"), ".0f"),
            fmt(med.get((n, "flask"), {}).get("rps"), ".0f")))
    return lines + [""]


WHO_APP = """import os, sys
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s|%s|%d" % (sys.version.split()[0], sys.executable, os.getpid())).encode()]
"""


def several_pythons(args):
    """One Apache (the main module) with a daemon group on each Python: the main venv's
    forked, the others' exec'd. Each group's answer (its sys.version) and its process's RSS
    at rest: the rows of the 'One Apache, several Pythons' table."""
    if not args.python:
        return []
    app = os.path.join(args.workdir, "apps", "who.py")
    with open(app, "w") as f:
        f.write(WHO_APP)
    os.chmod(app, 0o644)
    groups = [("main", args.venv)] + [(v, venv) for v, venv in
                                      (spec.split("=", 1) for spec in args.python)]
    body = "LoadModule wsgi_module %s/mod_rwsgi.so\nWSGIPythonHome %s\n" % (args.workdir, args.venv)
    for name, venv in groups:
        group = "g" + name.replace(".", "")
        body += ("WSGIDaemonProcess %s threads=2 python-home=%s\n"
                 "WSGIScriptAlias /%s %s process-group=%s application-group=%%{GLOBAL}\n" % (
                     group, venv, group, app, group))
    server = Apache("rwsgi-several-pythons", args.workdir, args, body)
    rows = []
    server.start()
    try:
        for name, venv in groups:
            group = "g" + name.replace(".", "")
            answer = http_get(server.port, "/" + group)
            version, executable, pid = answer.split("|")
            time.sleep(1)
            rows.append((group, venv, version, executable, rss_kib(int(pid)) / 1024.0))
    finally:
        server.stop()
    return rows


def http_get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(("GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError("GET %s: %s" % (path, head.split(b"\r\n")[0].decode()))
    return body.decode()


def idle_daemon_rss(server):
    """The peak RSS (MiB) of the server's daemon processes after one request, at rest."""
    http_get(server.port, "/hello")
    time.sleep(1)
    rss = [rss_kib(pid) for pid in server.pids() if b"(rwsgi:bench)" in cmdline(pid)]
    return max(rss) / 1024.0 if rss else None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def baseline_servers(args, home, alias):
    """rwsgi in both modes with another build of the module (--baseline-module, e.g. the
    commit before a change), for every workload asked for: a before/after ratio measured in
    the same run."""
    if not args.baseline_module:
        return []
    module = os.path.join(args.workdir, "mod_rwsgi-baseline.so")
    shutil.copyfile(args.baseline_module, module)
    os.chmod(module, 0o755)
    load = f"LoadModule wsgi_module {module}\n{home}"
    embedded = Apache("rwsgi-embedded-baseline", args.workdir, args, load + alias)
    daemon = Apache("rwsgi-daemon-baseline", args.workdir, args, load + rwsgi_daemon(args) + alias)
    return [embedded, daemon]


LAT = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url, duration, connections, threads, body_bytes):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency", "--timeout", "30s"]
    env = dict(os.environ)
    if body_bytes is not None:
        cmd += ["-s", os.path.join(HERE, "apps", "post.lua")]
        env["BODY_BYTES"] = str(body_bytes)
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=env).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    lat = {p: to_ms(v, u) for p, v, u in LAT.findall(out)}
    # Socket errors (connect, read, write, timeout) are connections the server closed or
    # never answered; non-2xx are answers.
    socket_errors = sum(int(x) for g in re.findall(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out) for x in g)
    non2xx = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    return {"rps": float(m.group(1)) if m else 0.0, "p50": lat.get("50"), "p99": lat.get("99"),
            "socket_errors": socket_errors, "non2xx": non2xx, "raw": out}


class RssSampler(threading.Thread):
    """The peak RSS of the server's largest process, and of all its processes together."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.peak, self.peak_total = server, 0, 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            sizes = [rss_kib(pid) for pid in self.server.pids()]
            self.peak = max([self.peak] + sizes)
            self.peak_total = max(self.peak_total, sum(sizes))
            self.stopped.wait(0.25)


def measure(server, workload, args):
    name, path, body, static = workload
    url = "http://127.0.0.1:%d%s" % (server.port, server.path_for(workload))
    conns = min(args.connections, 2) if body and body > 1_000_000 else args.connections
    run_wrk(url, 1, conns, args.wrk_threads, body)  # warm-up (imports, caches, keep-alive)
    sampler = RssSampler(server)
    sampler.start()
    result = run_wrk(url, args.duration, conns, args.wrk_threads, body)
    sampler.stopped.set()
    sampler.join()
    result["rss_mib"] = sampler.peak / 1024.0
    result["rss_total_mib"] = sampler.peak_total / 1024.0
    return result


def applies(server, workload):
    if server.workloads is not None and workload[0] not in server.workloads:
        return False
    if isinstance(server, Static):
        return workload[3] is not None
    return True


def environment(args):
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    venv_py = os.path.join(args.venv, "bin", "python")
    pkgs = subprocess.run([venv_py, "-m", "pip", "list", "--format=json"], capture_output=True, text=True).stdout
    pkgs = {p["name"].lower(): p["version"] for p in json.loads(pkgs or "[]")}
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    return {
        "date": datetime.date.today().isoformat(),
        "machine": "%s, %d cores, %d GiB" % (platform.machine(), os.cpu_count(), mem + 1),
        "kernel": platform.release(),
        "apache": version(["apache2", "-v"]).replace("Server version: ", ""),
        "python": version([venv_py, "--version"]),
        "rwsgi": version(["cargo", "pkgid", "--manifest-path", os.path.join(REPO, "Cargo.toml"), "-p", "rwsgi"]).rsplit("#", 1)[-1],
        "mod_wsgi": pkgs.get("mod-wsgi", "?"), "uwsgi": pkgs.get("uwsgi", "?"),
        "gunicorn": pkgs.get("gunicorn", "?"), "granian": pkgs.get("granian", "?"), "flask": pkgs.get("flask", "?"),
        "wrk": version(["wrk", "-v"]),
        "sizing": "%d processes x %d threads, Apache %s MPM, wrk -t%d -c%d, %d s x %d rounds" % (
            args.processes, args.threads, args.mpm, args.wrk_threads, args.connections,
            args.duration, args.rounds),
    }


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def summarize(runs):
    """One server and workload over the rounds: its best round (the least disturbed: on a
    shared machine interference only ever slows a run down), the median requests/s beside
    it, the peak RSS over all rounds and the socket errors and non-2xx answers of all rounds."""
    best = max(runs, key=lambda r: r["rps"])
    return {
        "rps": best["rps"], "p50": best["p50"], "p99": best["p99"],
        "median_rps": statistics.median(r["rps"] for r in runs),
        "rss_mib": max(r["rss_mib"] for r in runs),
        "rss_total_mib": max(r.get("rss_total_mib", 0) for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "non2xx": sum(r["non2xx"] for r in runs),
        "rounds": [round(r["rps"]) for r in runs],
    }


def report(results, servers, env, args):
    names = [s.name for s in servers]
    med = {key: summarize(runs) for key, runs in results.items()}
    lines = ["# rwsgi benchmark — %s" % env["date"], ""]
    lines += ["- " + "%s: %s" % (k, v) for k, v in env.items() if k != "date"]
    lines += ["", "Each server's best round (requests/s, with that round's p50/p99) and its "
              "median over the interleaved rounds; ratios (`/mw` against mod_wsgi embedded, "
              "`/static` against Apache serving the same bytes statically) are of best rounds "
              "in the same run. Interference on this shared machine only ever slows a round "
              "down, so the best round is the least disturbed (see bench/README.md, Method). "
              "RSS is the peak resident size of any one process of the server, over all rounds.", ""]
    for wl in [w[0] for w in WORKLOADS if w[0] in args.workloads]:
        lines += ["## %s" % wl, "",
                  "| server | req/s (best) | median | /mw | /static | p50 ms | p99 ms | peak RSS MiB | socket errors | non-2xx |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        base = med.get(("modwsgi-embedded", wl), {}).get("rps")
        static = med.get(("static", wl), {}).get("rps")
        for n in names:
            m = med.get((n, wl))
            if not m:
                continue
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %.1f | %d | %d |" % (
                n, fmt(m["rps"], ".0f"), fmt(m["median_rps"], ".0f"),
                fmt(m["rps"] / base if base else None, ".2f"),
                fmt(m["rps"] / static if static else None, ".2f"), fmt(m["p50"], ".2f"),
                fmt(m["p99"], ".2f"), m["rss_mib"], m["socket_errors"], m["non2xx"]))
        lines.append("")
    lines += python_versions_table(med, names)
    lines += launch_table(med, args)
    lines += free_threading_table(med)
    lines += groups_table(med)
    lines += ["## Targets", "", "Judged on the ratio of best rounds; the ratio of medians is shown beside it.", "",
              "| target | measured (best) | medians | result |", "|---|---:|---:|---|"]
    for label, a, b, wl, minimum in TARGETS:
        ma, mb = med.get((a, wl)), med.get((b, wl))
        if not ma or not mb or not mb["rps"]:
            lines.append("| %s | - | - | not measured (%s) |" % (label, "missing"))
            continue
        ratio = ma["rps"] / mb["rps"]
        median_ratio = ma["median_rps"] / mb["median_rps"] if mb["median_rps"] else None
        lines.append("| %s | %.2f | %s | %s |" % (label, ratio, fmt(median_ratio, ".2f"),
                                                  "PASS" if ratio >= minimum else "FAIL"))
    # While wrk's connections do not exceed processes x threads, no connection may be lost.
    lost = sum(m["socket_errors"] for (n, _), m in med.items() if n.startswith("rwsgi"))
    within = args.connections <= args.processes * args.threads
    if within and any(n.startswith("rwsgi") for n, _ in med):
        lines.append("| rwsgi socket errors, load within capacity = 0 | %d | - | %s |" % (
            lost, "PASS" if lost == 0 else "FAIL"))
    rss_r = [med[(n, w)]["rss_mib"] for n in ["rwsgi-embedded"] for w in args.workloads if (n, w) in med]
    rss_m = [med[(n, w)]["rss_mib"] for n in ["modwsgi-embedded"] for w in args.workloads if (n, w) in med]
    if rss_r and rss_m:
        lines.append("| peak RSS per process <= mod_wsgi embedded | %.1f vs %.1f MiB | - | %s |" % (
            max(rss_r), max(rss_m), "PASS" if max(rss_r) <= max(rss_m) else "FAIL"))
    return "\n".join(lines) + "\n", med


def groups_table(med):
    """Application groups: the same app as %{GLOBAL}, as a named group (the default
    %{RESOURCE}, alone in its processes) and in a sub-interpreter."""
    rows = [("%{GLOBAL}", "rwsgi-embedded-global"), ("named group, one per process", "rwsgi-embedded"),
            ("sub-interpreter (another group has the main one)", "rwsgi-embedded-subinterp")]
    lines = []
    for wl in ["hello", "flask"]:
        base = med.get(("rwsgi-embedded-global", wl), {}).get("rps")
        if not base:
            continue
        if not lines:
            lines = ["## Application groups (embedded)", "",
                     "The same application in each kind of interpreter; the cost is the server's time "
                     "per request above %{GLOBAL}'s (1/req/s of each, at the same load).", "",
                     "| workload | interpreter | req/s (best) | median | vs %{GLOBAL} | cost µs/request |",
                     "|---|---|---:|---:|---:|---:|"]
        for label, name in rows:
            m = med.get((name, wl))
            if not m:
                continue
            lines.append("| %s | %s | %s | %s | %.2f | %s |" % (
                wl, label, fmt(m["rps"], ".0f"), fmt(m["median_rps"], ".0f"), m["rps"] / base,
                fmt(1e6 / m["rps"] - 1e6 / base if m["rps"] else None, ".1f")))
    return lines + [""] if lines else []


def launch_table(med, args):
    """The two launch styles of one daemon group, and one Apache with a group per Python."""
    lines = []
    rows = [(n, args.idle_rss.get(n)) for n in ("rwsgi-daemon", "rwsgi-daemon-exec")
            if n in args.idle_rss]
    if rows:
        lines += ["## Daemon launch styles", "",
                  "The same group forked from the module (its Python is the venv's shared "
                  "libpython) and exec'd into the venv's interpreter (Debian's static python3.11, "
                  "importing rwsgi._daemon); RSS of a daemon process at rest after one request.", "",
                  "| server | hello req/s | flask req/s | idle daemon RSS MiB |", "|---|---:|---:|---:|"]
        for n, rss in rows:
            lines.append("| %s | %s | %s | %s |" % (
                n, fmt(med.get((n, "hello"), {}).get("rps"), ".0f"),
                fmt(med.get((n, "flask"), {}).get("rps"), ".0f"), fmt(rss, ".1f")))
        lines.append("")
    if args.several_pythons:
        lines += ["## One Apache, several Pythons", "",
                  "One Apache with the main module; a daemon group per venv (`python-home=`), the "
                  "main venv's forked, the others exec'd into their own Python. Each answers with "
                  "its `sys.version` and `sys.executable`.", "",
                  "| group | python-home | sys.version | sys.executable | idle RSS MiB |",
                  "|---|---|---|---|---:|"]
        for group, venv, version, executable, rss in args.several_pythons:
            lines.append("| %s | %s | %s | %s | %.1f |" % (group, venv, version, executable, rss))
        lines.append("")
    return lines


def python_versions_table(med, names):
    """hello per Python in both modes, against the main rows (the Python of --venv)."""
    versions = [n[len("rwsgi-embedded-py"):] for n in names if n.startswith("rwsgi-embedded-py")]
    if not versions:
        return []
    lines = ["## Python versions (hello)", "",
             "The main rows run the Python of the comparison venv; each other Python runs its own "
             "wheel's module, installed by pip into a venv of that Python; `exec'd` is the main "
             "module's Apache with its daemon group exec'd into that venv's Python. 3.14 and 3.15 "
             "are Debian sid's, under sid's Apache 2.4.69 in a sid root file system "
             "(scripts/sid/root.sh); 3.13t is free-threaded, here with its GIL "
             "(`WSGIFreeThreading Off`).", "",
             "| Python | embedded req/s | vs main | daemon req/s | vs main | exec'd daemon req/s | vs main |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    main_e = med.get(("rwsgi-embedded", "hello"), {}).get("rps")
    main_d = med.get(("rwsgi-daemon", "hello"), {}).get("rps")
    for v in versions:
        e = med.get(("rwsgi-embedded-py" + v, "hello"), {}).get("rps")
        d = med.get(("rwsgi-daemon-py" + v, "hello"), {}).get("rps")
        x = med.get(("rwsgi-daemon-exec-py" + v, "hello"), {}).get("rps")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            v, fmt(e, ".0f"), fmt(e / main_e if e and main_e else None, ".2f"),
            fmt(d, ".0f"), fmt(d / main_d if d and main_d else None, ".2f"),
            fmt(x, ".0f"), fmt(x / main_d if x and main_d else None, ".2f")))
    return lines + [""]


def chart(med, servers, path, args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    wls = [w[0] for w in WORKLOADS if w[0] in args.workloads]
    fig, axes = plt.subplots(1, len(wls), figsize=(3.2 * len(wls), 4.5), squeeze=False)
    for ax, wl in zip(axes[0], wls):
        names = [s.name for s in servers if (s.name, wl) in med]
        vals = [med.get((n, wl), {}).get("rps", 0) for n in names]
        colors = ["#d62728" if n.startswith("rwsgi") else "#7f7f7f" if n == "static" else "#1f77b4" for n in names]
        ax.bar(range(len(names)), vals, color=colors)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=70, fontsize=7)
        ax.set_title(wl)
        ax.set_ylabel("requests/s" if wl == wls[0] else "")
    fig.suptitle("rwsgi benchmark (%d processes x %d threads)" % (args.processes, args.threads))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", required=True, help="venv with mod_wsgi, uwsgi, gunicorn, granian, flask")
    ap.add_argument("--module", required=True, help="the built mod_rwsgi.so")
    ap.add_argument("--workdir", default="/tmp/rwsgi-bench")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--mpm", choices=["worker", "event"], default="worker",
                    help="Apache MPM of every Apache row (worker: one thread per connection)")
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="server names to run")
    ap.add_argument("--python", action="append", metavar="X.Y=VENV",
                    help="also run hello under rwsgi for Python X.Y, from the wheel pip installed in VENV")
    ap.add_argument("--sid-python", action="append", metavar="X.Y=ROOT:VENV",
                    help="also run hello under rwsgi for Python X.Y in the sid root ROOT, from "
                    "the wheel pip installed in VENV (a path inside ROOT)")
    ap.add_argument("--workloads", nargs="*", default=[w[0] for w in WORKLOADS])
    ap.add_argument("--baseline-module",
                    help="another mod_rwsgi.so to run as rwsgi-*-baseline rows")
    ap.add_argument("--label", help="suffix of the result files (a partial run beside the day's full one)")
    args = ap.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(os.path.join(args.workdir, "htdocs"))
    shutil.copytree(os.path.join(HERE, "apps"), os.path.join(args.workdir, "apps"))
    shutil.copy(args.module, os.path.join(args.workdir, "mod_rwsgi.so"))
    with open(os.path.join(args.workdir, "htdocs", "hello.txt"), "wb") as f:
        f.write(b"Hello, world!")
    with open(os.path.join(args.workdir, "htdocs", "10k.bin"), "wb") as f:
        f.write(b"x" * 10240)
    one_m = os.urandom(1024 * 1024)
    for p in (os.path.join(args.workdir, "htdocs", "1m.bin"), os.path.join(args.workdir, "apps", "1m.bin")):
        with open(p, "wb") as f:
            f.write(one_m)
    subprocess.run(["chmod", "-R", "a+rX", args.workdir], check=True)
    os.chmod(args.workdir, 0o755)

    env = environment(args)
    print("environment:", json.dumps(env, indent=1))
    args.idle_rss = {}
    args.several_pythons = several_pythons(args)
    servers = make_servers(args)
    workloads = [w for w in WORKLOADS if w[0] in args.workloads]
    results = {}
    try:
        for s in servers:
            print("starting", s.name, "on port", s.port, flush=True)
            s.start()
        args.idle_rss = {s.name: idle_daemon_rss(s) for s in servers
                         if s.name in ("rwsgi-daemon", "rwsgi-daemon-exec")}
        for rnd in range(args.rounds):
            for wl in workloads:
                for s in servers:  # interleaved: every server once per workload per round
                    if not applies(s, wl):
                        continue
                    r = measure(s, wl, args)
                    results.setdefault((s.name, wl[0]), []).append(r)
                    print("round %d %-10s %-17s %9.0f req/s  p50 %s ms  p99 %s ms  rss %.1f MiB  "
                          "socket errors %d  non-2xx %d" % (
                              rnd + 1, wl[0], s.name, r["rps"], fmt(r["p50"], ".2f"),
                              fmt(r["p99"], ".2f"), r["rss_mib"], r["socket_errors"], r["non2xx"]),
                          flush=True)
    finally:
        for s in servers:
            s.stop()
    text, med = report(results, servers, env, args)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, env["date"] + ("-" + args.label if args.label else ""))
    with open(stem + ".md", "w") as f:
        f.write(text)
    with open(stem + ".json", "w") as f:
        json.dump({"environment": env, "results": {"%s/%s" % k: v for k, v in med.items()}}, f, indent=1)
    chart(med, servers, stem + ".png", args)
    print(text)
    print("written:", stem + ".md", stem + ".png", stem + ".json")


if __name__ == "__main__":
    sys.exit(main())
