//! Records which Python the module is linked against (the same `PYO3_PYTHON` the module's
//! build uses), so `module-config` can print its prefix without running Python.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(&python)
        .args([
            "-c",
            // 3.13t for a free-threaded Python (abiflags "t"; a debug build's "d" is not
            // part of the version).
            "import sys; print(sys.base_prefix); print('%d.%d' % sys.version_info[:2] + sys.abiflags.replace('d', ''))",
        ])
        .output();
    let (prefix, version) = match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let mut lines = text.lines();
            (
                lines.next().unwrap_or("/usr").to_owned(),
                lines.next().unwrap_or("").to_owned(),
            )
        }
        _ => panic!("cannot run {python} (PYO3_PYTHON) to find the Python prefix"),
    };
    println!("cargo:rustc-env=RWSGI_PYTHON_PREFIX={prefix}");
    println!("cargo:rustc-env=RWSGI_PYTHON_VERSION={version}");
    println!("cargo:rustc-env=RWSGI_PYTHON={python}");
}
