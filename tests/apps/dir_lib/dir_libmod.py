# A plain module found only through WSGIPythonPath (tests/directives.rs).
VALUE = 'from-dir-lib'
