# Fails while it loads, one call deep: the error log's traceback starts here.
def configure():
    raise RuntimeError('the configuration is missing')


configure()
