"""What cargo needs to build rwsgi's pyo3 crates for the Python running this file.

pyo3 0.29 and later refuse the free-threaded build of Python 3.13 (3.13t) at build time,
though their definitions for it remain (CPython declared free-threading supported from
3.14, and 3.14t builds as any Python does). For 3.13t rwsgi describes the interpreter to
pyo3 as 3.13 in a PYO3_CONFIG_FILE and sets pyo3's free-threaded cfg (`Py_GIL_DISABLED`)
itself, for every crate of the build, so the same definitions are used as for 3.14t.

Imported by setup.py; run as a script by the tests and scripts (with the Python to build
for): `python3.13t packaging/pyo3_env.py TARGET_DIR` prints the variables as KEY=VALUE
lines (none for other Pythons); with `--shell` first, as `export` lines for `eval`.
"""

import os
import shlex
import sys
import sysconfig


def needs_config_file():
    return sys.version_info[:2] == (3, 13) and bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def cargo_env(target_dir, environ=os.environ):
    """The variables to add for a build in `target_dir` (which holds the config file)."""
    if not needs_config_file():
        return {}
    os.makedirs(target_dir, exist_ok=True)
    config = os.path.join(target_dir, "pyo3-python3.13t.cfg")
    lines = [
        "implementation=CPython",
        "version=3.13",
        "shared=%s" % ("true" if sysconfig.get_config_var("Py_ENABLE_SHARED") else "false"),
        "abi3=false",
        "lib_name=python3.13t",
        "lib_dir=%s" % sysconfig.get_config_var("LIBDIR"),
        "executable=%s" % sys.executable,
        "pointer_width=%d" % (8 * sysconfig.get_config_var("SIZEOF_VOID_P")),
        "build_flags=",
        "suppress_build_script_link_lines=false",
    ]
    with open(config, "w") as f:
        f.write("\n".join(lines) + "\n")
    rustflags = (environ.get("RUSTFLAGS", "") + " --cfg Py_GIL_DISABLED").strip()
    return {"PYO3_CONFIG_FILE": config, "RUSTFLAGS": rustflags}


if __name__ == "__main__":
    shell = sys.argv[1] == "--shell"
    for key, value in cargo_env(sys.argv[-1]).items():
        print(("export %s=%s" % (key, shlex.quote(value))) if shell else "%s=%s" % (key, value))
