//! How one request is run: decided once, by the handler in the Apache child, from the
//! configuration (and a `WSGIDispatchScript`'s answer). Embedded mode runs it directly; daemon
//! mode carries it to the daemon typed, in the protocol's `Request` frame, beside the
//! environ. The request's environment (`SetEnv`, headers) never decides any of it: the
//! `mod_wsgi.*` environ variables are the application's to read, not rwsgi's.

/// Where and how a request runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The file the request runs: the script Apache mapped the URL to, or the handler
    /// script ([`Route::handler_script`]).
    pub script: String,
    /// `script` is a `WSGIHandlerScript`, not the file the URL mapped to.
    pub handler_script: bool,
    /// The callable the script provides.
    pub callable: String,
    /// The daemon group's name; empty for embedded mode (`%{GLOBAL}`).
    pub process_group: String,
    /// The application group's name; empty for `%{GLOBAL}`.
    pub application_group: String,
    /// `WSGIScriptReloading`: a changed script is loaded again.
    pub reload: bool,
    /// `WSGIIgnoreActivity On`: the request does not hold off a daemon's
    /// inactivity-timeout.
    pub ignore_activity: bool,
    /// The script's mtime (µs since the epoch) from Apache's directory walk, so nobody
    /// stats it again; `None` for handler scripts, which the walk did not find.
    pub script_mtime_us: Option<i64>,
}
