//! The parts of a [`Plan`](super::Plan) that take more than a line to work out: the
//! application and its mount point, the user to run as, HTTPS, access control.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::model::*;
use crate::cli::{ApplicationType, ServerArgs};
use crate::host::Host;
use crate::platform::{Accounts, Os};

pub(super) fn resolve_app(args: &ServerArgs, host: &Host) -> Result<(App, Option<String>)> {
    let entry = match (&args.application, &args.entry_point) {
        (Some(_), Some(_)) => {
            bail!("give the application once: as the argument or with --entry-point, not both")
        }
        (Some(e), None) | (None, Some(e)) => Some(e.as_str()),
        (None, None) => None,
    };
    let Some(entry) = entry else {
        if args.application_type == Some(ApplicationType::Static) {
            return Ok((App::Static, None));
        }
        bail!(
            "no application given: rwsgi-express start-server wsgi.py (a WSGI script) or \
             rwsgi-express start-server pkg.module:application (a module entry point)"
        );
    };
    let as_path = absolute(&host.cwd, Path::new(entry));
    // A script's name, even when the file is missing (`app.wsgi` is not module `app`
    // with a callable `wsgi`), unless it is a module here: Django's `mysite.wsgi`
    // (mysite/wsgi.py), as gunicorn takes it.
    let module_here = |module: &str| {
        let base = host.cwd.join(module.replace('.', "/"));
        base.with_extension("py").is_file() || base.join("__init__.py").is_file()
    };
    let names_a_file = entry.ends_with(".py")
        || entry.contains(['/', '\\'])
        || (entry.ends_with(".wsgi") && !module_here(entry));
    let kind = args.application_type.unwrap_or(if as_path.is_file() {
        ApplicationType::Script
    } else if parse_module_entry(entry).is_some() && !names_a_file {
        ApplicationType::Module
    } else {
        ApplicationType::Script
    });
    match kind {
        ApplicationType::Script => {
            if !as_path.is_file() {
                bail!(
                    "the WSGI script {} does not exist (for a module entry point write \
                     pkg.module:application)",
                    as_path.display()
                );
            }
            Ok((App::Script(as_path), None))
        }
        ApplicationType::Module => match parse_module_entry(entry) {
            Some((module, callable)) => Ok((App::Module(module), callable)),
            None => bail!(
                "{entry:?} is not a module entry point: write pkg.module or pkg.module:callable"
            ),
        },
        ApplicationType::Static => {
            bail!("--application-type static serves files only: do not give an application")
        }
    }
}

/// `--mount-point`: "" for the root, else "/path" without a trailing slash.
pub(super) fn mount_point(args: &ServerArgs) -> Result<String> {
    if !args.mount_point.starts_with('/') {
        bail!("--mount-point {:?} must start with /", args.mount_point);
    }
    Ok(args.mount_point.trim_end_matches('/').to_owned())
}

pub(super) fn resolve_run_as(
    args: &ServerArgs,
    host: &Host,
    accounts: &dyn Accounts,
) -> Result<Option<RunAs>> {
    if host.os == Os::Windows && (args.user.is_some() || args.group.is_some()) {
        bail!(
            "--user and --group: Apache for Windows runs as the account that starts it (as a \
             service, the service's account); remove them"
        );
    }
    if !host.is_root() {
        if args.user.is_some() || args.group.is_some() {
            bail!(
                "--user and --group need rwsgi-express to be started as root (only root can \
                 switch users); without them Apache runs as you"
            );
        }
        return Ok(None);
    }
    let (user, defaulted) = match &args.user {
        Some(u) => (
            accounts.user(u).ok_or_else(|| {
                anyhow::anyhow!("--user {u}: no such user (see `getent passwd {u}`)")
            })?,
            false,
        ),
        None => (
            accounts
                .user("www-data")
                .or_else(|| accounts.user("nobody"))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "running as root, and neither www-data nor nobody exists: name an \
                         unprivileged account with --user"
                    )
                })?,
            true,
        ),
    };
    let (uid, primary_gid, user_name) = user;
    if uid == 0 {
        bail!(
            "--user {user_name}: Apache's children must not run as root; name an \
             unprivileged account"
        );
    }
    let (gid, group) = match &args.group {
        Some(g) => accounts.group(g).ok_or_else(|| {
            anyhow::anyhow!("--group {g}: no such group (see `getent group {g}`)")
        })?,
        None => (
            primary_gid,
            accounts
                .group_name(primary_gid)
                .unwrap_or_else(|| format!("#{primary_gid}")),
        ),
    };
    Ok(Some(RunAs {
        user: user_name,
        group,
        uid,
        gid,
        defaulted,
    }))
}

pub(super) fn resolve_https(args: &ServerArgs, host: &Host) -> Result<Option<Https>> {
    let (cert, key) = match &args.ssl_certificate {
        Some(stem) => {
            if args.ssl_certificate_file.is_some() || args.ssl_certificate_key_file.is_some() {
                bail!(
                    "--ssl-certificate names both files (STEM.crt and STEM.key): do not also \
                     give --ssl-certificate-file/--ssl-certificate-key-file"
                );
            }
            let stem = stem.to_string_lossy();
            (
                Some(PathBuf::from(format!("{stem}.crt"))),
                Some(PathBuf::from(format!("{stem}.key"))),
            )
        }
        None => (
            args.ssl_certificate_file.clone(),
            args.ssl_certificate_key_file.clone(),
        ),
    };
    let Some(port) = args.https_port else {
        if cert.is_some() || key.is_some() || args.https_only {
            bail!("the HTTPS options need --https-port");
        }
        return Ok(None);
    };
    let (Some(cert), Some(key)) = (cert, key) else {
        bail!(
            "--https-port needs a certificate: --ssl-certificate-file and \
             --ssl-certificate-key-file (or --ssl-certificate STEM)"
        );
    };
    if port == args.port {
        bail!("--https-port {port} is also the HTTP --port");
    }
    let mut files = vec![absolute(&host.cwd, &cert), absolute(&host.cwd, &key)];
    if let Some(chain) = &args.ssl_certificate_chain_file {
        files.push(absolute(&host.cwd, chain));
    }
    for f in &files {
        if !f.is_file() {
            bail!("{} does not exist", f.display());
        }
    }
    Ok(Some(Https {
        port,
        certificate: files[0].clone(),
        key: files[1].clone(),
        chain: files.get(2).cloned(),
        only: args.https_only,
    }))
}

/// `--auth-user-script`, `--auth-type`, `--auth-group-script`, `--auth-group` and
/// `--host-access-script`.
pub(super) fn resolve_auth(
    args: &ServerArgs,
    host: &Host,
) -> Result<(Option<Auth>, Option<PathBuf>)> {
    let script = |flag: &str, f: &Option<PathBuf>| {
        f.as_ref()
            .map(|f| existing_file(flag, &host.cwd, f))
            .transpose()
    };
    let kind = match args.auth_type.to_ascii_lowercase().as_str() {
        "basic" => "Basic",
        "digest" => "Digest",
        _ => bail!("--auth-type {}: Basic or Digest", args.auth_type),
    };
    let group_script = script("--auth-group-script", &args.auth_group_script)?;
    if args.auth_group.is_some() && group_script.is_none() {
        bail!(
            "--auth-group needs --auth-group-script, whose groups_for_user() names the user's groups"
        );
    }
    let group_name = args.auth_group.clone().unwrap_or_else(|| "wsgi".to_owned());
    one_line("--auth-group", &group_name)?;
    let auth = match script("--auth-user-script", &args.auth_user_script)? {
        Some(user_script) => Some(Auth {
            user_script,
            kind,
            group: group_script.map(|g| (g, group_name)),
        }),
        None if group_script.is_some() => {
            bail!(
                "--auth-group-script needs --auth-user-script, which authenticates the user first"
            )
        }
        None => None,
    };
    let host_access_script = script("--host-access-script", &args.host_access_script)?;
    Ok((auth, host_access_script))
}
