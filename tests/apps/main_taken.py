# Imported at child start when RWSGI_TEST_SUBINTERPRETERS=1 (tests/harness): its group
# takes the main interpreter, so every application under test runs in a sub-interpreter.
