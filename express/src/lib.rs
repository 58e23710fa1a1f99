//! rwsgi-express: generates an Apache configuration for a WSGI application and runs Apache
//! with mod_rwsgi in the foreground. The binary is `src/main.rs`; this library holds the
//! logic so it can be tested.
#![forbid(unsafe_code)]
#[cfg(unix)]
pub mod access;
pub mod app_check;
pub mod built;
pub mod cli;
pub mod host;
pub mod plan;
pub mod platform;
pub mod render;
pub mod run;

use std::path::Path;

use anyhow::{Context, Result};

use cli::{Cli, Command, ServerArgs};

// Checking, as the user Apache's children run as, that they can reach the application: on
// Unix only, where Apache switches users (Apache for Windows runs as the account that
// starts it, which can read what it needs).
#[cfg(unix)]
use access::{check_as as check_access_as, verify as verify_access};

#[cfg(not(unix))]
fn verify_access(_plan: &plan::Plan) -> Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn check_access_as(_user: &str, _uid: u32, _gid: u32, _items: &[String]) -> Result<()> {
    anyhow::bail!("switching users is not supported on Windows")
}

/// `module-config`: the lines that load mod_rwsgi into an existing Apache, for the active
/// virtual environment or else the Python the module runs. On Windows Apache must load
/// `python3XX.dll` first, and paths are written with forward slashes.
pub fn module_config(module: &Path) -> Result<String> {
    let python = platform::default_python();
    let home = match host::active_virtual_env() {
        Some(venv) => venv,
        None => python
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{e:#}"))?
            .home
            .clone(),
    };
    let path = |p: &Path| match platform::OS {
        platform::Os::Unix => p.display().to_string(),
        platform::Os::Windows => p.display().to_string().replace('\\', "/"),
    };
    let mut out = String::new();
    let dll = platform::python_dll_for(&home).or_else(|| python.ok().and_then(|p| p.dll));
    if platform::OS == platform::Os::Windows {
        let dll =
            dll.with_context(|| format!("cannot find the Python DLL for {}", home.display()))?;
        out.push_str(&format!("LoadFile \"{}\"\n", path(&dll)));
    }
    out.push_str(&format!(
        "LoadModule wsgi_module \"{}\"\nWSGIPythonHome \"{}\"\n",
        path(module),
        path(&home)
    ));
    Ok(out)
}

fn server(args: &ServerArgs, start: bool) -> Result<i32> {
    let host = host::Host::detect(
        args.httpd_executable.as_deref(),
        args.modules_directory.as_deref(),
    )?;
    let plan = plan::resolve(args, &host, &platform::SystemAccounts)?;
    run::write_server_root(&plan)?;
    verify_access(&plan)?;
    run::config_test(&plan)?;
    for n in &plan.notices {
        eprintln!("rwsgi-express: note: {n}");
    }
    if !start || args.setup_only {
        let (script, commands) = match plan.os {
            platform::Os::Unix => ("apachectl", "stop, graceful, configtest"),
            platform::Os::Windows => ("apachectl.bat", "in this console until Ctrl-C; configtest"),
        };
        println!(
            "rwsgi-express: wrote {}\n  start it with {} start ({commands})",
            plan.conf_path().display(),
            plan.server_root.join(script).display()
        );
        return Ok(0);
    }
    if plan.check_app {
        if let Some(note) = app_check::check(&plan)? {
            eprintln!("rwsgi-express: note: {note}");
        }
    }
    print!("{}", run::summary(&plan));
    use std::io::Write;
    let _ = std::io::stdout().flush();
    run::start_server(&plan)
}

/// Runs a parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::StartServer(args) => server(&args, true),
        Command::SetupServer(args) => server(&args, false),
        Command::ModuleConfig => {
            print!("{}", module_config(&host::module_location()?)?);
            Ok(0)
        }
        Command::ModuleLocation => {
            println!("{}", host::module_location()?.display());
            Ok(0)
        }
        Command::InstallModule { modules_directory } => {
            let dir = match modules_directory {
                Some(d) => d,
                None => host::find_modules_dir(&host::find_httpd()?)?,
            };
            let source = host::module_location()?;
            let dest = dir.join(platform::MODULE_FILE);
            if source != dest {
                // Copy then rename: a running Apache keeps the old file mapped.
                let tmp = dir.join(format!(".{}.new", platform::MODULE_FILE));
                std::fs::copy(&source, &tmp)
                    .with_context(|| format!("cannot copy the module into {}", dir.display()))?;
                platform::make_readable(&tmp)?;
                std::fs::rename(&tmp, &dest)?;
            }
            print!("{}", module_config(&dest)?);
            Ok(0)
        }
        Command::RunAs { account, command } => {
            platform::exec_as(&account.user, account.uid, account.gid, &command)?;
            Ok(0)
        }
        Command::CheckAccess { account, items } => {
            check_access_as(&account.user, account.uid, account.gid, &items)?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests;
