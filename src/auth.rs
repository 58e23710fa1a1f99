//! The Python auth hooks, run in the Apache child (embedded), as mod_wsgi runs them:
//! `WSGIAccessScript` (`allow_access(environ, host)`), `WSGIAuthUserScript` (the `wsgi` authn
//! provider: `check_password(environ, user, password)`, `get_realm_hash(environ, user,
//! realm)`) and `WSGIAuthGroupScript` (the `wsgi-group` authz provider:
//! `groups_for_user(environ, user)`). Each script loads (and reloads) like a WSGI script, in
//! the interpreter of its application group (`%{GLOBAL}` unless `application-group=`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::apache::{Authn, Authz, RealmHash, Request, status};
use crate::config::HookScript;
use crate::hook_scripts;

/// A request value as Python sees it: UTF-8 when it is (browsers send user names and
/// passwords in UTF-8), else latin-1, so no byte is lost.
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `WSGIAccessScript`: OK, DECLINED, or 403.
pub fn access_checker(r: &mut Request<'_>) -> i32 {
    let Some(script) = r.dir_config().auth.access.clone() else {
        return status::DECLINED;
    };
    let host = text(r.useragent_host().unwrap_or(r.client_ip()));
    let answer = call(r, &script, "allow_access", |py, environ, f| {
        f.call1((environ, PyString::new(py, &host)))
    });
    match answer {
        Some(Answer::Bool(true)) => status::OK,
        Some(Answer::Bool(false)) => status::FORBIDDEN,
        Some(Answer::None) => status::DECLINED,
        Some(other) => {
            bad_answer(&script, "allow_access", &other, "True, False or None");
            status::INTERNAL_SERVER_ERROR
        }
        None => status::INTERNAL_SERVER_ERROR,
    }
}

/// The `wsgi` authn provider, Basic.
pub fn check_password(r: &mut Request<'_>, user: &[u8], password: &[u8]) -> Authn {
    let Some(script) = r.dir_config().auth.user.clone() else {
        return no_script(
            r,
            "AuthBasicProvider wsgi",
            "WSGIAuthUserScript",
            Authn::Error,
        );
    };
    let (user, password) = (text(user), text(password));
    let answer = call(r, &script, "check_password", |_, environ, f| {
        f.call1((environ, &user, &password))
    });
    match answer {
        Some(Answer::Bool(true)) => Authn::Granted,
        Some(Answer::Bool(false)) => Authn::Denied,
        Some(Answer::None) => Authn::UserNotFound,
        // A user name to authenticate as instead.
        Some(Answer::Text(name)) => {
            r.set_user(&name);
            Authn::Granted
        }
        Some(other) => {
            bad_answer(
                &script,
                "check_password",
                &other,
                "True, False, None or a user name",
            );
            Authn::Error
        }
        None => Authn::Error,
    }
}

/// The `wsgi` authn provider, Digest.
pub fn get_realm_hash(r: &mut Request<'_>, user: &[u8], realm: &[u8]) -> RealmHash {
    let Some(script) = r.dir_config().auth.user.clone() else {
        return no_script(
            r,
            "AuthDigestProvider wsgi",
            "WSGIAuthUserScript",
            RealmHash::Error,
        );
    };
    let (user, realm) = (text(user), text(realm));
    let answer = call(r, &script, "get_realm_hash", |_, environ, f| {
        f.call1((environ, &user, &realm))
    });
    match answer {
        Some(Answer::Text(hash)) => RealmHash::Found(hash),
        Some(Answer::None) => RealmHash::UserNotFound,
        Some(other) => {
            bad_answer(
                &script,
                "get_realm_hash",
                &other,
                "the MD5 hex digest of 'user:realm:password', or None",
            );
            RealmHash::Error
        }
        None => RealmHash::Error,
    }
}

/// The `wsgi-group` authz provider: granted when the user is in one of the groups the
/// `Require wsgi-group` line names.
pub fn check_authorization(r: &mut Request<'_>, require_line: &[u8]) -> Authz {
    let Some(script) = r.dir_config().auth.group.clone() else {
        return no_script(r, "Require wsgi-group", "WSGIAuthGroupScript", Authz::Error);
    };
    let Some(user) = r.user().map(text) else {
        return Authz::DeniedNoUser;
    };
    // The rest of the Require line, as written: words, quoted as Apache quotes them.
    let required = match rwsgi_core::directive_args::words(&text(require_line)) {
        Ok(words) => words,
        Err(why) => {
            tracing::error!("RW0124: Require wsgi-group: {why}");
            return Authz::Error;
        }
    };
    let answer = call(r, &script, "groups_for_user", |_, environ, f| {
        f.call1((environ, &user))
    });
    match answer {
        Some(Answer::Groups(groups)) => {
            if required.iter().any(|g| groups.contains(g)) {
                Authz::Granted
            } else {
                Authz::Denied
            }
        }
        Some(Answer::None) => Authz::Denied,
        Some(other) => {
            bad_answer(
                &script,
                "groups_for_user",
                &other,
                "an iterable of group names",
            );
            Authz::Error
        }
        None => Authz::Error,
    }
}

/// What a hook function returned, taken out of Python.
enum Answer {
    Bool(bool),
    None,
    Text(String),
    Groups(Vec<String>),
    Other(String),
}

impl Answer {
    fn of(value: &Bound<'_, PyAny>) -> Answer {
        if value.is_none() {
            return Answer::None;
        }
        if let Ok(b) = value.extract::<bool>() {
            if value.is_instance_of::<pyo3::types::PyBool>() {
                return Answer::Bool(b);
            }
        }
        if let Ok(s) = value.cast::<PyString>() {
            return Answer::Text(s.to_string_lossy().into_owned());
        }
        if let Ok(b) = value.cast::<PyBytes>() {
            return Answer::Text(text(b.as_bytes()));
        }
        let groups = value.try_iter().and_then(|items| {
            items
                .map(|item| {
                    let item = item?;
                    Ok(match item.cast::<PyBytes>() {
                        Ok(b) => text(b.as_bytes()),
                        Err(_) => item.str()?.to_string_lossy().into_owned(),
                    })
                })
                .collect::<PyResult<Vec<String>>>()
        });
        match groups {
            Ok(groups) => Answer::Groups(groups),
            Err(_) => Answer::Other(
                value
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
        }
    }

    fn describe(&self) -> String {
        match self {
            Answer::Bool(true) => "True".to_owned(),
            Answer::Bool(false) => "False".to_owned(),
            Answer::None => "None".to_owned(),
            Answer::Text(_) => "a string".to_owned(),
            Answer::Groups(_) => "an iterable".to_owned(),
            Answer::Other(type_name) => format!("a {type_name}"),
        }
    }
}

fn bad_answer(script: &HookScript, function: &str, answer: &Answer, expected: &str) {
    tracing::error!(
        "RW0124: {function}() of auth script '{}' returned {}; it must return {expected}",
        script.path,
        answer.describe()
    );
}

/// A provider used where no script of its kind is configured.
fn no_script<T>(r: &Request<'_>, used: &str, directive: &str, answer: T) -> T {
    let _ = r;
    tracing::error!(
        "RW0125: {used} is used here but no {directive} is configured for this location; add one"
    );
    answer
}

/// Calls `function` of the auth script on the cut-down environ.
fn call(
    r: &mut Request<'_>,
    script: &HookScript,
    function: &str,
    invoke: impl for<'py> FnOnce(
        Python<'py>,
        &Bound<'py, PyDict>,
        &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>>,
) -> Option<Answer> {
    hook_scripts::run(r, script, "auth script", |py, environ, module| {
        let f = module.getattr(function)?;
        invoke(py, environ, &f).map(|value| Answer::of(&value))
    })
}
