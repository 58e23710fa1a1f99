"""WSGIAuthUserScript and WSGIAuthGroupScript for tests/auth.rs: a user store in Python."""
import hashlib

USERS = {"alice": "wonderland", "bob": "builder", "carol": "s3cret"}
GROUPS = {"alice": ["admins", "staff"], "bob": ["staff"], "carol": []}


def check_password(environ, user, password):
    environ["wsgi.errors"].write("check_password for %s on %s\n" % (user, environ["REQUEST_URI"]))
    if user == "mallory":
        raise RuntimeError("mallory is not welcome")
    if user == "alias":
        # Authenticates as another user.
        return "alice" if password == "wonderland" else False
    if user not in USERS:
        return None
    return USERS[user] == password


def get_realm_hash(environ, user, realm):
    if user not in USERS:
        return None
    return hashlib.md5(("%s:%s:%s" % (user, realm, USERS[user])).encode()).hexdigest()


def groups_for_user(environ, user):
    return GROUPS.get(user, [])
