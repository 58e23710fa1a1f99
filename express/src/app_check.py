# rwsgi-express imports the application once before Apache starts, as Apache's children
# will (the same user, Python, working directory and sys.path), so a broken application
# stops the start with its own traceback instead of answering 500 to every request.
# Arguments: the generated handler, then the --python-path directories.
import os
import site
import sys
import traceback
import types

__tracebackhide__ = True

handler, directories = sys.argv[1], sys.argv[2:]
sys.argv = ['mod_wsgi']
# What the application prints while it loads goes with its traceback.
sys.stdout = sys.stderr
before = list(sys.path)
for directory in directories:
    site.addsitedir(directory)
sys.path[:] = [p for p in sys.path if p not in before] + before

try:
    with open(handler, 'rb') as f:
        code = compile(f.read(), handler, 'exec')
    exec(code, {'__name__': '__rwsgi_check__', '__file__': handler})
except BaseException as error:
    kept = []
    tb = error.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_globals.get('__tracebackhide__'):
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for tb in reversed(kept):
        chain = types.TracebackType(chain, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    traceback.print_exception(type(error), error, chain)
    sys.stderr.flush()
    # An application that imports mod_wsgi needs Apache: it cannot be checked out here.
    needs_apache = isinstance(error, ModuleNotFoundError) and error.name in ('mod_wsgi', 'apache')
    os._exit(4 if needs_apache else 3)
sys.stderr.flush()
# Not sys.exit: threads and atexit handlers the application started must not keep us.
os._exit(0)
