"""Reports the apache.request_rec capsule (WSGIPassApacheRequest) and checks, with ctypes,
that it points at this request: request_rec's third field is the_request, the request
line."""
import ctypes


def application(environ, start_response):
    capsule = environ.get("apache.request_rec")
    if capsule is None:
        body = "capsule=none\n"
    else:
        get_name = ctypes.pythonapi.PyCapsule_GetName
        get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
        get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        get_pointer.restype = ctypes.c_void_p
        get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        name = get_name(capsule)
        pointer = get_pointer(capsule, name)
        # request_rec begins with: apr_pool_t *pool; conn_rec *connection; server_rec *server;
        # request_rec *next, *prev, *main; char *the_request;
        the_request = ctypes.cast(pointer + 6 * ctypes.sizeof(ctypes.c_void_p),
                                  ctypes.POINTER(ctypes.c_char_p)).contents.value
        body = "capsule=%s\nthe_request=%s\n" % (name.decode(), the_request.decode())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
