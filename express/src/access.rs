//! Checks, as the user Apache's children will run as, that everything the application needs
//! is reachable — before Apache starts, so a permission problem is one clear message instead
//! of a crash loop (mod_wsgi's most common root-deployment failure).
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use nix::unistd::{AccessFlags, Uid, access};

use crate::plan::{App, Plan};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Readable.
    File,
    /// Listable and searchable (Python imports from it).
    Dir,
}

/// What must be reachable, with what it is for.
pub fn needed(plan: &Plan) -> Vec<(Kind, String, PathBuf)> {
    let mut items = Vec::new();
    if let App::Script(p) = &plan.app {
        items.push((Kind::File, "the WSGI script".to_owned(), p.clone()));
    }
    items.push((
        Kind::Dir,
        "the working directory".to_owned(),
        plan.working_directory.clone(),
    ));
    for p in &plan.python_path {
        items.push((Kind::Dir, "a sys.path directory".to_owned(), p.clone()));
    }
    match &plan.python_home {
        Some(home) => {
            items.push((
                Kind::Dir,
                "the Python home (virtual environment)".to_owned(),
                home.clone(),
            ));
            // A venv's standard library is the Python's it was made from.
            let base = std::fs::read_to_string(home.join("pyvenv.cfg"))
                .ok()
                .and_then(|cfg| rwsgi_core::venv::venv_base(&cfg))
                .and_then(|bin| bin.parent().map(Path::to_owned));
            if let Some(prefix) = base {
                items.push((
                    Kind::Dir,
                    "the Python the virtual environment was made from".to_owned(),
                    prefix.join(format!("lib/python{}", crate::built::PYTHON_VERSION)),
                ));
            }
        }
        // The Python rwsgi was built with (a pyenv under root's home is the classic trap).
        None => items.push((
            Kind::Dir,
            "the Python standard library".to_owned(),
            Path::new(crate::built::PYTHON_PREFIX)
                .join(format!("lib/python{}", crate::built::PYTHON_VERSION)),
        )),
    }
    if plan.app != App::Static {
        items.push((
            Kind::File,
            "the generated handler".to_owned(),
            plan.handler_path(),
        ));
    }
    items.push((
        Kind::Dir,
        "the document root".to_owned(),
        plan.document_root.clone(),
    ));
    for (url, path) in &plan.url_aliases {
        let kind = if path.is_dir() { Kind::Dir } else { Kind::File };
        items.push((kind, format!("--url-alias {url}"), path.clone()));
    }
    items
}

/// The first problem reaching `path` as the current (real) user: the component that stops
/// it and why.
fn check(kind: Kind, path: &Path) -> Option<(PathBuf, String)> {
    let mut prefix = PathBuf::new();
    let components: Vec<_> = path.components().collect();
    for (i, comp) in components.iter().enumerate() {
        prefix.push(comp);
        let last = i + 1 == components.len();
        let flags = match (last, kind) {
            (false, _) => AccessFlags::X_OK,
            (true, Kind::File) => AccessFlags::R_OK,
            (true, Kind::Dir) => AccessFlags::R_OK | AccessFlags::X_OK,
        };
        if let Err(e) = access(&prefix, flags) {
            let what = match (last, kind, e) {
                (_, _, nix::errno::Errno::ENOENT) => "does not exist".to_owned(),
                (false, _, _) => "is not searchable (x)".to_owned(),
                (true, Kind::File, _) => "is not readable (r)".to_owned(),
                (true, Kind::Dir, _) => "is not readable and searchable (r-x)".to_owned(),
            };
            return Some((prefix, what));
        }
    }
    None
}

/// Runs as the target user: prints one `LABEL\tPATH\tCOMPONENT\tWHY` line per problem.
pub fn check_as(user: &str, uid: u32, gid: u32, items: &[String]) -> Result<()> {
    crate::platform::drop_privileges(user, uid, gid)?;
    for item in items {
        let mut parts = item.splitn(3, ':');
        let (Some(kind), Some(label), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("bad item {item:?}");
        };
        let kind = if kind == "dir" { Kind::Dir } else { Kind::File };
        if let Some((component, why)) = check(kind, Path::new(path)) {
            println!("{label}\t{path}\t{}\t{why}", component.display());
        }
    }
    Ok(())
}

fn describe(component: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(component) {
        Ok(m) => {
            let owner = nix::unistd::User::from_uid(Uid::from_raw(m.uid()))
                .ok()
                .flatten()
                .map_or_else(|| m.uid().to_string(), |u| u.name);
            format!(" (mode {:04o}, owner {owner})", m.mode() & 0o7777)
        }
        Err(_) => String::new(),
    }
}

fn owned_by_root(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).is_ok_and(|m| m.uid() == 0)
}

/// Checks `plan`'s paths as its `run_as` user (or as ourselves); a refusal names the path,
/// the component in the way, and the fixes.
pub fn verify(plan: &Plan) -> Result<()> {
    let items = needed(plan);
    let problems: Vec<(String, String, PathBuf, String)> = match &plan.run_as {
        None => items
            .iter()
            .filter_map(|(kind, label, path)| {
                check(*kind, path)
                    .map(|(c, why)| (label.clone(), path.display().to_string(), c, why))
            })
            .collect(),
        Some(r) => {
            let exe = std::env::current_exe().context("cannot find rwsgi-express itself")?;
            let args: Vec<String> = items
                .iter()
                .map(|(kind, label, path)| {
                    let kind = if *kind == Kind::Dir { "dir" } else { "file" };
                    format!("{kind}:{}:{}", label.replace(':', ";"), path.display())
                })
                .collect();
            let out = Command::new(exe)
                .arg("__check-access")
                .args(["--user", &r.user, "--uid", &r.uid.to_string()])
                .args(["--gid", &r.gid.to_string(), "--"])
                .args(&args)
                .output()
                .context("cannot run the access check")?;
            if !out.status.success() {
                bail!(
                    "cannot check access as {}: {}",
                    r.user,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| {
                    let mut f = l.splitn(4, '\t');
                    Some((
                        f.next()?.to_owned(),
                        f.next()?.to_owned(),
                        PathBuf::from(f.next()?),
                        f.next()?.to_owned(),
                    ))
                })
                .collect()
        }
    };
    if problems.is_empty() {
        return Ok(());
    }
    let who = match &plan.run_as {
        Some(r) => format!("{} (the user Apache's children run as)", r.user),
        None => "you".to_owned(),
    };
    let mut message = format!("{who} cannot reach what the application needs:\n");
    for (label, path, component, why) in &problems {
        let detail = if component.as_os_str() == path.as_str() {
            format!("it {why}{}", describe(component))
        } else {
            format!("{} {why}{}", component.display(), describe(component))
        };
        message.push_str(&format!("  {label} {path}: {detail}\n"));
    }
    match &plan.run_as {
        Some(r) => {
            message.push_str(&format!(
                "Fix: move the application somewhere {u} can read (and --working-directory \
                 with it), or grant access (for example `chmod o+x` on the directory in the \
                 way, or `setfacl -m u:{u}:rx`)",
                u = r.user
            ));
            // Running as the owner fits only an owner Apache's children may run as: never
            // root.
            if problems.iter().all(|(_, _, c, _)| !owned_by_root(c)) {
                message.push_str(", or run as the files' owner with --user/--group");
            }
            message.push('.');
        }
        None => message.push_str("Fix: grant yourself access to those paths, or move them."),
    }
    bail!(message)
}
