"""Builds rwsgi's wheel with setuptools-rust: it takes a Rust binary (rwsgi-express, into
the environment's bin/ as a console command), a Rust shared library that is not a
Python extension (the Apache module, into the rwsgi package) and a Python extension (the
daemon runtime, `rwsgi._daemon`) in one wheel, built for the Python running the build. maturin builds one crate as one extension or one binary per
wheel, so it cannot."""

import glob
import os
import shutil
import sys
import sysconfig

from setuptools import setup
from setuptools_rust import Binding, RustBin, RustExtension, Strip


def require_build_tools():
    """Apache's and clang's development files, named before cargo fails obscurely."""
    apxs = os.environ.get("APXS") or shutil.which("apxs") or shutil.which("apxs2")
    if not apxs:
        sys.exit(
            "rwsgi: building the Apache module needs Apache's development files (apxs).\n"
            "  Debian/Ubuntu: apt-get install apache2-dev    RHEL/Fedora: dnf install httpd-devel\n"
            "  or set APXS to the apxs of the Apache you will load the module into."
        )
    os.environ["APXS"] = apxs  # build.rs asks it where Apache's headers are
    libclang = ("/usr/lib/llvm-*/lib/libclang*.so*", "/usr/lib*/libclang*.so*",
                "/usr/lib/*-linux-gnu/libclang*.so*")
    if sys.platform.startswith("linux") and not (
        os.environ.get("LIBCLANG_PATH") or any(glob.glob(p) for p in libclang)
    ):
        sys.exit(
            "rwsgi: building the Apache module needs libclang (bindgen reads Apache's headers).\n"
            "  Debian/Ubuntu: apt-get install libclang-dev    RHEL/Fedora: dnf install clang-devel\n"
            "  or set LIBCLANG_PATH."
        )
    if os.name == "posix":
        require_shared_libpython()


def require_shared_libpython():
    """Apache loads the module, and the module loads Python: it links libpython, which a
    Python built without --enable-shared lacks, and Debian ships without its -dev package."""
    version = "%d.%d" % sys.version_info[:2]
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        sys.exit(
            "rwsgi: Python %s at %s has no shared libpython, which Apache needs to run Python.\n"
            "  Use a Python built with --enable-shared (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared"
            " pyenv install %s), or the system's python3." % (version, sys.executable, version)
        )
    libdir, library = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")
    if libdir and library and not os.path.exists(os.path.join(libdir, library)):
        sys.exit(
            "rwsgi: building the Apache module links %s, which is missing from %s.\n"
            "  Debian/Ubuntu: apt-get install python%s-dev    RHEL/Fedora: dnf install python%s-devel"
            % (library, libdir, version, version)
        )


# The wheel's module links the libpython of the Python building it, whatever else the
# environment or .cargo/config.toml names (cargo's build scripts read PYO3_PYTHON).
os.environ["PYO3_PYTHON"] = sys.executable
# pyo3 resolves its Python once per target directory: one directory per Python X.Y (and
# build: 3.13t is not 3.13).
os.environ.setdefault(
    "CARGO_TARGET_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "target",
                 "wheel-py%d.%d%s" % (sys.version_info[:2] + (sys.abiflags,))),
)
# Free-threaded 3.13 needs pyo3 told about it (packaging/pyo3_env.py says why).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "packaging"))
import pyo3_env  # noqa: E402

os.environ.update(pyo3_env.cargo_env(os.environ["CARGO_TARGET_DIR"]))

if any(a in sys.argv for a in ("bdist_wheel", "build_ext", "build_rust", "install", "develop",
                               "editable_wheel", "build")):
    require_build_tools()

setup(
    rust_extensions=[
        # The Apache module: a cdylib that links this Python's libpython.
        # Debug line tables serve our own backtraces, not the download: stripped.
        RustExtension("rwsgi.mod_rwsgi", path="Cargo.toml", binding=Binding.NoBinding,
                      py_limited_api=False, strip=Strip.Debug),
        RustBin("rwsgi-express", path="express/Cargo.toml", strip=Strip.Debug),
        # The daemon runtime as an extension of this Python (`rwsgi._daemon`): what a daemon
        # group exec'd into this environment's interpreter imports (daemon mode is Unix
        # only). setuptools-rust builds it with PYO3_BUILD_EXTENSION_MODULE=1, so it links
        # no libpython; its own target directory keeps that from rebuilding the module's
        # pyo3 (and back) every time.
        *([RustExtension("rwsgi._daemon", path="daemon-ext/Cargo.toml", binding=Binding.PyO3,
                         py_limited_api=False, strip=Strip.Debug,
                         env=dict(os.environ,
                                  CARGO_TARGET_DIR=os.path.join(os.environ["CARGO_TARGET_DIR"],
                                                                "daemon-ext")))]
          if os.name == "posix" else []),
    ],
)
