//! The facts about the Python this runtime is built for that its code acts on: pyo3's
//! version cfgs (`Py_3_12`, …) and `RWSGI_PYTHON_VERSION` (`X.Y`).

use std::env;

fn main() {
    println!("cargo::rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo::rerun-if-env-changed=PYO3_CROSS_PYTHON_VERSION");
    pyo3_build_config::use_pyo3_cfgs();
    let version = if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        // Cross-built: the Python is named, not run (scripts/windows/toolchain.sh).
        env::var("PYO3_CROSS_PYTHON_VERSION").unwrap_or_else(|_| "3.11".to_owned())
    } else {
        let python = pyo3_build_config::get();
        // 3.13t, not 3.13: a free-threaded Python is another build (another venv layout,
        // another libpython). For 3.13t the free-threaded cfg comes from RUSTFLAGS
        // (packaging/pyo3_env.py), which cargo shows build scripts as CARGO_CFG_*.
        let free_threaded =
            python.is_free_threaded() || env::var_os("CARGO_CFG_PY_GIL_DISABLED").is_some();
        format!(
            "{}.{}{}",
            python.version().major,
            python.version().minor,
            if free_threaded { "t" } else { "" }
        )
    };
    println!("cargo::rustc-env=RWSGI_PYTHON_VERSION={version}");
}
