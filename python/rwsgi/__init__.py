"""rwsgi: mod_wsgi rebuilt in Rust. This package carries the Apache module, built for the
Python it is installed into, and the ``rwsgi-express`` command; Apache loads the module, so
there is nothing to import for a WSGI application. ``module_location()`` and
``module_config()`` tell an Apache administrator what to load."""

import glob
import os
import sys

__all__ = ["module_location", "module_config"]


def module_location():
    """The path of this installation's ``mod_rwsgi`` module, for ``LoadModule``."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "mod_rwsgi*.so")) +
                   glob.glob(os.path.join(here, "mod_rwsgi*.pyd")))
    if not found:
        raise RuntimeError("mod_rwsgi is missing from %s: reinstall rwsgi" % here)
    return found[0]


def module_config():
    """The lines that load the module into Apache, for this Python environment."""
    return 'LoadModule wsgi_module "%s"\nWSGIPythonHome "%s"\n' % (module_location(), sys.prefix)
