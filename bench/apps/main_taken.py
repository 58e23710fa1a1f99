# Imported at start into another application group (bench.py's rwsgi-embedded-subinterp row):
# that group takes the main interpreter, so the application under test runs in a
# sub-interpreter.
