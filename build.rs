//! Finds Apache (apxs / apr-1-config), generates the FFI bindings with bindgen and links
//! libpython with an rpath so the module binds to the Python it was built for.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=apache/wrapper.h");
    println!("cargo::rerun-if-env-changed=APXS");
    println!("cargo::rerun-if-env-changed=APR_CONFIG");
    println!("cargo::rerun-if-env-changed=PYO3_PYTHON");

    pyo3_build_config::use_pyo3_cfgs();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let bindings = out_dir.join("apache_sys.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        windows(&out_dir, &bindings);
        return;
    }
    // Without the rpath the module binds at run time to whichever libpython has the same
    // SONAME first in the loader's path, not necessarily the one it was built against.
    pyo3_build_config::add_libpython_rpath_link_args();

    let apxs = env::var("APXS").unwrap_or_else(|_| "apxs".to_owned());
    let include_dir = query(&apxs, &["-q", "INCLUDEDIR"]).unwrap_or_else(|err| {
        panic!(
            "cannot run `{apxs} -q INCLUDEDIR` ({err}). Install Apache's development files \
             (Debian/Ubuntu: apt-get install apache2-dev) or set APXS to the apxs path."
        )
    });
    let apr_config = env::var("APR_CONFIG")
        .ok()
        .or_else(|| {
            query(&apxs, &["-q", "APR_CONFIG"])
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "apr-1-config".to_owned());
    let apr_flags = query(&apr_config, &["--includes", "--cppflags"]).unwrap_or_else(|err| {
        panic!("cannot run `{apr_config} --includes --cppflags` ({err}); set APR_CONFIG")
    });

    let mut clang_args = vec![format!("-I{include_dir}")];
    clang_args.extend(apr_flags.split_whitespace().map(str::to_owned));
    generate(&clang_args, &bindings);
}

/// Runs bindgen on apache/wrapper.h with `clang_args`, writing the bindings to `out`.
fn generate(clang_args: &[String], out: &Path) {
    let builder = bindgen::Builder::default()
        .header("apache/wrapper.h")
        .clang_args(clang_args)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false);
    let bindings = allowlist(builder)
        .generate()
        .expect("bindgen failed to generate the Apache bindings");
    bindings.write_to_file(out).expect("write bindings");
}

/// The Windows (mingw) build: bindings and import libraries from committed files, so it
/// needs neither Windows headers nor libclang. scripts/windows/gen-bindings.sh sets
/// RWSGI_WINDOWS_HEADERS to regenerate the bindings from the headers of Apache, APR and
/// APR-util for Windows.
fn windows(out_dir: &Path, bindings: &Path) {
    const COMMITTED: &str = "apache/windows/bindings-x86_64.rs";
    println!("cargo::rerun-if-changed={COMMITTED}");
    println!("cargo::rerun-if-env-changed=RWSGI_WINDOWS_HEADERS");
    if let Ok(headers) = env::var("RWSGI_WINDOWS_HEADERS") {
        let clang_args = [
            "--target=x86_64-w64-mingw32".to_owned(),
            format!("-I{headers}"),
            // Apache for Windows is built with MSVC, where pid_t is an int (apr.hw); mingw's
            // is 64 bits, which would lay the scoreboard out wrong.
            "-DRWSGI_MSVC_PID_T".to_owned(),
        ];
        generate(&clang_args, Path::new(COMMITTED));
    }
    std::fs::copy(COMMITTED, bindings).expect("copy the Windows bindings");
    // Import libraries for the DLLs of Apache for Windows, made from the committed .def
    // files with mingw's dlltool.
    let dlltool = env::var("DLLTOOL").unwrap_or_else(|_| "x86_64-w64-mingw32-dlltool".to_owned());
    for lib in ["httpd", "apr-1", "aprutil-1"] {
        let def = format!("apache/windows/lib{lib}.def");
        println!("cargo::rerun-if-changed={def}");
        let status = Command::new(&dlltool)
            .args(["--input-def", &def, "--dllname", &format!("lib{lib}.dll")])
            .arg("--output-lib")
            .arg(out_dir.join(format!("lib{lib}.a")))
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run {dlltool} ({e}): install mingw-w64 (binutils-mingw-w64-x86-64) or set DLLTOOL")
            });
        assert!(status.success(), "{dlltool} failed on {def}");
        println!("cargo::rustc-link-lib=dylib={lib}");
    }
    println!("cargo::rustc-link-search=native={}", out_dir.display());
}

/// Everything the fence uses from Apache/APR, grouped by header: growing the API is a
/// one-line change here.
fn allowlist(b: bindgen::Builder) -> bindgen::Builder {
    let types = [
        // httpd.h, http_config.h
        "request_rec",
        "server_rec",
        "conn_rec",
        "module",
        "module_struct",
        "command_rec",
        "cmd_parms",
        "cmd_how",
        "cmd_func",
        "ap_conf_vector_t",
        "core_dir_config",
        // util_filter.h, apr_buckets.h
        "ap_filter_t",
        "ap_filter_rec_t",
        "ap_input_mode_t",
        "apr_bucket",
        "apr_bucket_brigade",
        "apr_read_type_e",
        "ap_bucket_error",
        // apr
        "apr_table_entry_t",
        "apr_array_header_t",
        "apr_finfo_t",
        "apr_filetype_e",
        "apr_sockaddr_t",
        "apr_os_file_t",
        "unixd_config_rec",
        "process_rec",
        "apr_proc_t",
        "ap_regmatch_t",
        "ap_regex_t",
        // mod_auth.h (WSGIAuthUserScript, WSGIAuthGroupScript)
        "authn_provider",
        "authz_provider",
        "authn_status",
        "authz_status",
        // scoreboard.h
        "global_score",
        "process_score",
        "worker_score",
    ];
    let functions = [
        // hooks
        "ap_hook_post_config",
        "ap_hook_check_config",
        "ap_hook_child_init",
        "ap_hook_translate_name",
        "ap_hook_handler",
        "ap_hook_pre_mpm",
        "ap_hook_check_access",
        "ap_register_auth_provider",
        // http_ssl.h (mod_ssl.is_https, mod_ssl.var_lookup)
        "ap_ssl_conn_is_ssl",
        "ap_ssl_var_lookup",
        "ap_find_linked_module",
        // config
        "ap_check_cmd_context",
        "ap_getword_conf",
        "ap_server_root_relative",
        "ap_state_query",
        "ap_mpm_query",
        "ap_add_version_component",
        "ap_allow_options",
        "ap_get_server_banner",
        "ap_get_server_name",
        "ap_get_server_port",
        "ap_get_useragent_host",
        "ap_document_root",
        "ap_context_prefix",
        "ap_context_document_root",
        "ap_run_http_scheme",
        "ap_run_generate_log_id",
        "ap_get_limit_req_body",
        "ap_find_path_info",
        "ap_get_module_config",
        // protocol
        "ap_setup_client_block",
        "ap_get_brigade",
        "ap_pass_brigade",
        "ap_set_content_type",
        "ap_set_content_length",
        "ap_map_http_request_error",
        "ap_bucket_error_create",
        "ap_send_fd",
        "ap_get_conn_socket",
        // logging
        "ap_log_error_",
        "ap_log_rerror_",
        // regex
        "ap_pregcomp",
        "ap_regexec",
        "ap_pregsub",
        // apr
        "apr_palloc",
        "apr_pstrdup",
        "apr_pstrmemdup",
        "apr_table_get",
        "apr_table_set",
        "apr_table_add",
        "apr_table_unset",
        "apr_table_elts",
        "apr_pool_cleanup_register",
        "apr_pool_cleanup_null",
        "apr_brigade_create",
        "apr_brigade_cleanup",
        "apr_brigade_flatten",
        "apr_brigade_length",
        "apr_bucket_transient_create",
        "apr_bucket_flush_create",
        "apr_bucket_eos_create",
        "apr_brigade_insert_file",
        "apr_os_file_put",
        "apr_socket_opt_set",
        "apr_strerror",
        // daemon processes
        "ap_close_listeners",
        "apr_proc_other_child_register",
        "apr_proc_other_child_unregister",
        "ap_runtime_dir_relative",
        // scoreboard (mod_wsgi.server_metrics())
        "ap_exists_scoreboard_image",
        "ap_get_scoreboard_global",
        "ap_get_scoreboard_process",
        "ap_copy_scoreboard_worker",
    ];
    let vars = [
        "ap_server_conf",
        "ap_unixd_config",
        "apr_bucket_type_eos",
        "apr_bucket_type_flush",
        "ap_top_module",
        "ap_conftree",
        "ap_server_argv0",
    ];
    let constants = [
        "AP_SERVER_(MAJORVERSION|MINORVERSION|PATCHLEVEL)_NUMBER",
        "MODULE_MAGIC_NUMBER_(MAJOR|MINOR)",
        "MODULE_MAGIC_COOKIE",
        "APR_HOOK_.*",
        "OK",
        "DECLINED",
        "DONE",
        "HTTP_.*",
        "APLOG_.*",
        "AP_SQ_.*",
        "AP_MPMQ_.*",
        "RSRC_CONF",
        "ACCESS_CONF",
        "OR_.*",
        "GLOBAL_ONLY",
        "NOT_IN_.*",
        "OPT_.*",
        "REQUEST_CHUNKED_.*",
        "AP_REQ_.*_PATH_INFO",
        "AP_REG_.*",
        "APR_SUCCESS",
        "APR_OC_REASON_.*",
        "APR_EOF",
        "APR_TCP_NODELAY",
        "AP_FTYPE_.*",
        "APR_FOPEN_.*",
        "M_GET",
        "M_HEAD",
        "AUTH_.*",
        "AUTHZ_.*",
        "AP_AUTH_INTERNAL_PER_CONF",
        "AP_AUTH_INTERNAL_PER_URI",
        "REMOTE_NAME",
    ];
    let mut b = b;
    for t in types {
        b = b.allowlist_type(t);
    }
    for f in functions {
        b = b.allowlist_function(f);
    }
    for v in vars {
        b = b.allowlist_var(v);
    }
    for c in constants {
        b = b.allowlist_var(c);
    }
    b
}

fn query(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
