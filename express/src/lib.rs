//! rwsgi-express: generates an Apache configuration for a WSGI application and runs Apache
//! with mod_rwsgi in the foreground. The binary is `src/main.rs`; this library holds the
//! logic so it can be tested.
#![forbid(unsafe_code)]
pub mod access;
pub mod cli;
pub mod host;
pub mod plan;
pub mod render;
pub mod run;

use std::path::Path;

use anyhow::{Context, Result};

use cli::{Cli, Command, ServerArgs};

/// `module-config`: the lines that load mod_rwsgi into an existing Apache.
pub fn module_config(module: &Path) -> String {
    let home = host::active_virtual_env().unwrap_or_else(|| host::PYTHON_PREFIX.into());
    format!(
        "LoadModule wsgi_module \"{}\"\nWSGIPythonHome \"{}\"\n",
        module.display(),
        home.display()
    )
}

fn server(args: &ServerArgs, start: bool) -> Result<i32> {
    let host = host::Host::detect(
        args.httpd_executable.as_deref(),
        args.modules_directory.as_deref(),
    )?;
    let plan = plan::resolve(args, &host, &plan::SystemAccounts)?;
    run::write_server_root(&plan)?;
    access::verify(&plan)?;
    run::config_test(&plan)?;
    for n in &plan.notices {
        eprintln!("rwsgi-express: note: {n}");
    }
    if !start || args.setup_only {
        println!(
            "rwsgi-express: wrote {}\n  start it with {} start (stop, graceful, configtest)",
            plan.conf_path().display(),
            plan.server_root.join("apachectl").display()
        );
        return Ok(0);
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
            print!("{}", module_config(&host::module_location()?));
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
            let dest = dir.join("mod_rwsgi.so");
            if source != dest {
                // Copy then rename: a running Apache keeps the old file mapped.
                let tmp = dir.join(".mod_rwsgi.so.new");
                std::fs::copy(&source, &tmp)
                    .with_context(|| format!("cannot copy the module into {}", dir.display()))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
                std::fs::rename(&tmp, &dest)?;
            }
            print!("{}", module_config(&dest));
            Ok(0)
        }
        Command::CheckAccess {
            user,
            uid,
            gid,
            items,
        } => {
            access::check_as(&user, uid, gid, &items)?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests;
