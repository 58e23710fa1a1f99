"""Preloaded with WSGIImportScript: takes its time, like an application whose imports are
slow, so a test can stop Apache while the daemon is still starting."""
import time

time.sleep(3)
