import sys

USERS = {"ann": "annpw", "bob": "bobpw"}
GROUPS = {"ann": ["staff"], "bob": ["visitors"]}


def check_password(environ, user, password):
    print("check_password user=%s uri=%s" % (user, environ.get("REQUEST_URI")), file=sys.stderr)
    if user not in USERS:
        return None
    return USERS[user] == password


def groups_for_user(environ, user):
    print("groups_for_user user=%s" % user, file=sys.stderr)
    return [g.encode() for g in GROUPS.get(user, [])]
