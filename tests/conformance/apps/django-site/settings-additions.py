
# ---- the conformance suite's additions (a production-like site) ----
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS += ["uploads"]
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"
LOGGING = {
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
