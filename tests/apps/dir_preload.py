# Imported at child start by WSGIImportScript (tests/directives.rs): leaves a mark that
# dir_env.py reports as py.preloaded.
import os

os.environ['RWSGI_PRELOADED'] = '1'
