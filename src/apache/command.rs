//! The directive table: a declarative list of [`Directive`]s turned into Apache's
//! `command_rec` array at compile time, with one trampoline for every directive.

use std::ffi::{CStr, c_char, c_void};
use std::ptr::null_mut;

use super::pool::Pool;
use super::server::Server;
use super::{Impl, Module, sys};

type ServerConf = <Impl as Module>::ServerConf;
type DirConf = <Impl as Module>::DirConf;
type DirectiveError = <Impl as Module>::DirectiveError;

/// Where a directive may appear (mod_wsgi's context codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Main server only, outside any container (`S only`).
    Global,
    /// Main server or `<VirtualHost>` (`S,V`).
    Server,
    /// Also in `<Directory>`/`<Location>`/`<Files>` (`S,V,D`).
    Directory,
    /// Also in `.htaccess` with `AllowOverride FileInfo` (`S,V,D,H`).
    FileInfo,
    /// `<Directory>`/`<Location>` and `.htaccess` with `AllowOverride AuthConfig` (`D,H`).
    AuthConfig,
}

impl Scope {
    const fn req_override(self) -> i32 {
        (match self {
            Scope::Global | Scope::Server => sys::RSRC_CONF,
            Scope::Directory => sys::RSRC_CONF | sys::ACCESS_CONF,
            Scope::FileInfo => sys::RSRC_CONF | sys::ACCESS_CONF | sys::OR_FILEINFO,
            Scope::AuthConfig => sys::ACCESS_CONF | sys::OR_AUTHCFG,
        }) as i32
    }
}

/// One directive: its exact name, where it is allowed, a usage line and its setter. The
/// setter's error `E` is the module's own type; its `Display` is the message Apache prints.
pub struct Directive<S: 'static, D: 'static, E: 'static> {
    pub name: &'static CStr,
    pub scope: Scope,
    pub usage: &'static CStr,
    pub apply: fn(&mut Cmd<'_>, &mut S, &mut D, &str) -> Result<(), E>,
}

/// What a directive setter may look at while the configuration is read.
pub struct Cmd<'a> {
    raw: &'a mut sys::cmd_parms,
    /// The directive a section's handler is applying for one of its lines.
    inner: Option<String>,
}

/// One line inside a configuration section (`<Name …>` … `</Name>`).
#[derive(Clone, Debug)]
pub struct SectionLine {
    pub name: String,
    pub args: String,
    /// `file:line`, for messages.
    pub location: String,
}

impl<'a> Cmd<'a> {
    /// The directive's name as written in the table (or the inner directive's, in
    /// [`Cmd::as_inner`]).
    pub fn name(&self) -> String {
        if let Some(inner) = &self.inner {
            return inner.clone();
        }
        // SAFETY: cmd->cmd points at our static command_rec whose name is a static C string.
        unsafe { CStr::from_ptr((*self.raw.cmd).name) }
            .to_string_lossy()
            .into_owned()
    }

    /// The configuration pool (lives as long as this configuration generation).
    pub fn pool(&self) -> Pool {
        // SAFETY: Apache passes a live pool in cmd_parms.
        unsafe { Pool::from_raw(self.raw.pool) }.expect("cmd_parms without a pool")
    }

    /// The server (main or virtual host) being configured.
    pub fn server(&self) -> Server<'a> {
        // SAFETY: cmd->server is the live server_rec being configured.
        unsafe { Server::from_raw(self.raw.server) }.expect("cmd_parms without a server")
    }

    /// True inside `<VirtualHost>`.
    pub fn in_virtual_host(&self) -> bool {
        self.server().is_virtual()
    }

    /// Runs `f` with `name()` saying `name`: a section's handler applying one of its lines
    /// with that directive's setter, so its messages name the line's directive.
    pub fn as_inner<R>(&mut self, name: &str, f: impl FnOnce(&mut Cmd<'a>) -> R) -> R {
        let outer = self.inner.replace(name.to_owned());
        let result = f(self);
        self.inner = outer;
        result
    }

    /// The lines directly inside the section this directive opens. Apache leaves them to
    /// the section's handler, which reads them here instead of walking them (so no other
    /// directive setter runs while it holds the configuration).
    pub fn section_lines(&self) -> Vec<SectionLine> {
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: the configuration tree's strings are NUL-terminated pool strings.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        let mut lines = Vec::new();
        // SAFETY: cmd->directive is the section's live node in the configuration tree (or
        // NULL); its children form a NULL-terminated list that lives as long as the tree.
        let mut node =
            unsafe { self.raw.directive.as_ref() }.map_or(std::ptr::null_mut(), |d| d.first_child);
        // SAFETY: as above, for each child.
        while let Some(d) = unsafe { node.as_ref() } {
            lines.push(SectionLine {
                name: text(d.directive),
                args: text(d.args),
                location: format!("{}:{}", text(d.filename), d.line_num),
            });
            node = d.next;
        }
        lines
    }
}

const fn entry<S, D, E>(i: usize, d: &Directive<S, D, E>) -> sys::command_rec {
    sys::command_rec {
        name: d.name.as_ptr(),
        func: sys::cmd_func {
            raw_args: Some(invoke),
        },
        cmd_data: std::ptr::without_provenance_mut(i),
        req_override: d.scope.req_override(),
        args_how: sys::RAW_ARGS,
        errmsg: d.usage.as_ptr(),
    }
}

/// A NUL-terminated `command_rec` array. Its pointers all refer to `'static` data, so
/// sharing it between threads is sound.
pub(super) struct CommandTable<const N: usize>([sys::command_rec; N]);

// SAFETY: the table is immutable and only points at 'static C strings and functions.
unsafe impl<const N: usize> Sync for CommandTable<N> {}

impl<const N: usize> CommandTable<N> {
    pub(super) const ENTRY_SIZE: usize = size_of::<sys::command_rec>();

    const fn build(dirs: &[Directive<ServerConf, DirConf, DirectiveError>]) -> Self {
        let empty = sys::command_rec {
            name: std::ptr::null(),
            func: sys::cmd_func { raw_args: None },
            cmd_data: null_mut(),
            req_override: 0,
            args_how: sys::RAW_ARGS,
            errmsg: std::ptr::null(),
        };
        let mut table = [empty; N];
        let mut i = 0;
        while i < dirs.len() {
            table[i] = entry(i, &dirs[i]);
            i += 1;
        }
        CommandTable(table)
    }

    pub(super) const fn as_ptr(&self) -> *const sys::command_rec {
        self.0.as_ptr()
    }
}

const DIRECTIVES: &[Directive<ServerConf, DirConf, DirectiveError>] = <Impl as Module>::DIRECTIVES;
pub(super) static COMMANDS: CommandTable<{ DIRECTIVES.len() + 1 }> =
    CommandTable::build(DIRECTIVES);

/// The one RAW_ARGS handler behind every directive: finds the entry by index, checks the
/// context, and calls its setter. An error fails the configuration (and `apache2 -t`) with
/// its text, which is where the setter's error type becomes Apache's string.
unsafe extern "C" fn invoke(
    parms: *mut sys::cmd_parms,
    mconfig: *mut c_void,
    args: *const c_char,
) -> *const c_char {
    // SAFETY: Apache passes a live cmd_parms for the duration of the call.
    let Some(raw) = (unsafe { parms.as_mut() }) else {
        return std::ptr::null();
    };
    let index = raw.info as usize;
    let Some(directive) = DIRECTIVES.get(index) else {
        return c"rwsgi: unknown directive index".as_ptr();
    };
    if directive.scope == Scope::Global {
        // SAFETY: ap_check_cmd_context returns NULL or a static/pool error string.
        let err = unsafe { sys::ap_check_cmd_context(parms, sys::GLOBAL_ONLY) };
        if !err.is_null() {
            return err;
        }
    }
    let args = if args.is_null() {
        String::new()
    } else {
        // SAFETY: RAW_ARGS passes the rest of the line as a NUL-terminated string.
        unsafe { CStr::from_ptr(args) }
            .to_string_lossy()
            .into_owned()
    };
    let server = raw.server;
    let pool = raw.pool;
    // Apache reads .htaccess files (in the request's temporary pool) while other threads
    // serve requests with the same server configuration: there a directive gets a scratch
    // ServerConf of its own, never the shared one.
    let in_htaccess = raw.pool == raw.temp_pool;
    let mut scratch = ServerConf::default();
    let server_conf = if in_htaccess {
        Some(&mut scratch)
    } else {
        // SAFETY: our slot of the server's config vector holds the ServerConf created by
        // create_server_config; reading the server configuration is single-threaded.
        unsafe {
            super::module::config_slot((*server).module_config)
                .cast::<ServerConf>()
                .as_mut()
        }
    };
    // SAFETY: mconfig is the DirConf Apache created for the current section.
    let dir_conf = unsafe { mconfig.cast::<DirConf>().as_mut() };
    let (Some(server_conf), Some(dir_conf)) = (server_conf, dir_conf) else {
        return c"rwsgi: configuration objects missing".as_ptr();
    };
    let mut cmd = Cmd { raw, inner: None };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (directive.apply)(&mut cmd, server_conf, dir_conf, &args)
    }));
    let message = match result {
        Ok(Ok(())) => return std::ptr::null(),
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!(
            "{}: internal error while parsing this directive",
            cmd.name()
        ),
    };
    // SAFETY: the configuration pool outlives the error message Apache prints.
    match unsafe { Pool::from_raw(pool) } {
        Some(pool) => pool.strdup(&message),
        None => c"rwsgi: configuration error".as_ptr(),
    }
}
