//! The server part of a [`Plan`](super::Plan): the MPM and its processes, where Apache keeps
//! its files, what it serves from the file system, its logs, timeouts and locale.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::model::*;
use crate::cli::{ApplicationType, Mpm, ServerArgs};
use crate::host::Host;
use crate::platform::Os;

/// Apache for Windows has one MPM, winnt.
pub(super) fn mpm(args: &ServerArgs, host: &Host) -> Mpm {
    match host.os {
        Os::Unix => args.server_mpm,
        Os::Windows => Mpm::Winnt,
    }
}

/// The processes and threads asked for, as the MPM can run them.
pub(super) fn check_processes(args: &ServerArgs, host: &Host, daemon_mode: bool) -> Result<()> {
    if host.os == Os::Windows && args.processes > 1 {
        bail!(
            "--processes {}: Apache for Windows runs one child process; give it more --threads instead",
            args.processes
        );
    }
    if host.os == Os::Unix && args.server_mpm == Mpm::Prefork && args.threads != 1 && !daemon_mode {
        bail!(
            "the prefork MPM runs one thread per process: add --threads 1, or use \
             --server-mpm worker"
        );
    }
    Ok(())
}

/// Where Apache keeps its files, and what it serves from the file system.
pub(super) struct Site {
    pub server_root: PathBuf,
    pub pid_file: PathBuf,
    pub document_root: PathBuf,
    /// Longest URL first.
    pub url_aliases: Vec<(String, PathBuf)>,
}

pub(super) fn resolve_site(args: &ServerArgs, host: &Host) -> Result<Site> {
    let server_root = match &args.server_root {
        Some(d) => absolute(&host.cwd, d),
        None => {
            // mod_wsgi-express's names; ':' cannot be in a Windows file name.
            let sep = if host.os == Os::Windows { '-' } else { ':' };
            host.temp_dir.join(format!(
                "rwsgi-express-{}{sep}{}{sep}{}",
                args.host.as_deref().unwrap_or("localhost"),
                args.port,
                host.user
            ))
        }
    };
    let document_root = match &args.document_root {
        Some(d) => existing_dir("--document-root", &host.cwd, d)?,
        None => server_root.join("htdocs"),
    };
    let url_aliases = url_aliases(args, host)?;
    Ok(Site {
        pid_file: args
            .pid_file
            .as_ref()
            .map(|p| absolute(&host.cwd, p))
            .unwrap_or_else(|| server_root.join("httpd.pid")),
        server_root,
        document_root,
        url_aliases,
    })
}

fn url_aliases(args: &ServerArgs, host: &Host) -> Result<Vec<(String, PathBuf)>> {
    let mut url_aliases = Vec::new();
    for pair in args.url_alias.chunks(2) {
        let url = pair[0].clone();
        if !url.starts_with('/') {
            bail!("--url-alias {url:?}: the URL path must start with /");
        }
        let path = absolute(&host.cwd, Path::new(&pair[1]));
        if !path.exists() {
            bail!(
                "--url-alias {url} {}: no such file or directory",
                path.display()
            );
        }
        url_aliases.push((url, path));
    }
    // A longer alias is not hidden by a shorter one.
    url_aliases.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    Ok(url_aliases)
}

/// `index.html` for static files unless `--directory-index` names another.
pub(super) fn directory_index(args: &ServerArgs) -> Option<String> {
    args.directory_index.clone().or_else(|| {
        (args.application_type == Some(ApplicationType::Static)).then(|| "index.html".to_owned())
    })
}

/// `--include-file`: configuration Apache reads after rwsgi-express's own.
pub(super) fn include_files(args: &ServerArgs, host: &Host) -> Result<Vec<PathBuf>> {
    args.include_file
        .iter()
        .map(|f| existing_file("--include-file", &host.cwd, f))
        .collect()
}

/// `--mime-types`, else the host's types file.
pub(super) fn mime_types(args: &ServerArgs, host: &Host) -> Result<Option<PathBuf>> {
    Ok(match &args.mime_types {
        Some(m) => Some(existing_file("--mime-types", &host.cwd, m)?),
        None => host.mime_types.clone(),
    })
}

pub(super) fn rewrite_rules(args: &ServerArgs, host: &Host) -> Result<Option<PathBuf>> {
    args.rewrite_rules
        .as_ref()
        .map(|f| existing_file("--rewrite-rules", &host.cwd, f))
        .transpose()
}

pub(super) fn resolve_logs(args: &ServerArgs, host: &Host, server_root: &Path) -> Result<Logs> {
    let directory = match &args.log_directory {
        Some(d) => existing_dir("--log-directory", &host.cwd, d)?,
        None => server_root.to_owned(),
    };
    Ok(Logs {
        terminal: args.log_directory.is_none() && (args.log_to_terminal || host.terminal),
        os: host.os,
        directory,
        error_name: args.error_log_name.clone(),
        access_name: args.access_log_name.clone(),
        access_format: args
            .access_log
            .then(|| access_log_format(&args.access_log_format)),
        level: args.log_level,
    })
}

/// mod_reqtimeout's `RequestReadTimeout`: the header stage, then the body stage.
pub(super) fn request_read_timeout(args: &ServerArgs) -> String {
    let header = read_timeout(
        "header",
        args.header_timeout,
        args.header_max_timeout,
        args.header_min_rate,
    );
    let body = read_timeout(
        "body",
        args.body_timeout,
        args.body_max_timeout,
        args.body_min_rate,
    );
    format!("{header} {body}")
}

/// A mod_reqtimeout stage: `T-MAX,MinRate=R`, or a fixed `T` when MAX does not exceed it
/// (Apache refuses `T-MAX` then).
fn read_timeout(stage: &str, timeout: u32, max: u32, min_rate: u32) -> String {
    if max > timeout && min_rate > 0 {
        format!("{stage}={timeout}-{max},MinRate={min_rate}")
    } else if max == 0 && min_rate > 0 {
        format!("{stage}={timeout},MinRate={min_rate}")
    } else {
        format!("{stage}={timeout}")
    }
}

/// LANG and LC_ALL for Apache, and the daemon's `lang=` and `locale=`.
pub(super) fn locale(args: &ServerArgs) -> Result<String> {
    let locale = args.locale.clone().unwrap_or_else(default_locale);
    one_line("--locale", &locale)?;
    Ok(locale)
}
