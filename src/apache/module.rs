//! The exported `wsgi_module` static and the config-object trampolines.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use super::command::{COMMANDS, CommandTable};
use super::hooks;
use super::pool::Pool;
use super::{Impl, MergeConfig, Module, sys};

type ServerConf = <Impl as Module>::ServerConf;
type DirConf = <Impl as Module>::DirConf;

/// The module record Apache loads by name (`LoadModule wsgi_module …`). Its `name` is
/// mod_wsgi's so `<IfModule mod_wsgi.c>`, `[wsgi:error]` log tags and `LogLevel wsgi:…`
/// keep working. Apache writes `module_index`/`next` into it, hence `static mut`.
#[unsafe(no_mangle)]
#[allow(non_upper_case_globals)]
pub static mut wsgi_module: sys::module = sys::module {
    // STANDARD20_MODULE_STUFF
    version: sys::MODULE_MAGIC_NUMBER_MAJOR as i32,
    minor_version: sys::MODULE_MAGIC_NUMBER_MINOR as i32,
    module_index: -1,
    name: c"mod_wsgi.c".as_ptr(),
    dynamic_load_handle: null_mut(),
    next: null_mut(),
    magic: sys::MODULE_MAGIC_COOKIE as std::ffi::c_ulong,
    rewrite_args: None,
    create_dir_config: Some(create_config::<DirConf>),
    merge_dir_config: Some(merge_config::<DirConf>),
    create_server_config: Some(create_server_config),
    merge_server_config: Some(merge_config::<ServerConf>),
    cmds: COMMANDS.as_ptr(),
    register_hooks: Some(hooks::register),
    flags: 0,
};

const _: () = assert!(CommandTable::<1>::ENTRY_SIZE == size_of::<sys::command_rec>());

/// The index Apache assigned to this module (for config vectors and log tags).
pub(super) fn module_index() -> i32 {
    // SAFETY: Apache writes module_index once while loading, before any hook runs; reads
    // afterwards race with nothing.
    unsafe { wsgi_module.module_index }
}

/// Reads this module's slot of a configuration vector (`ap_get_module_config`).
///
/// # Safety
/// `vector` must be a live `ap_conf_vector_t` of the running configuration.
pub(super) unsafe fn config_slot(vector: *mut sys::ap_conf_vector_t) -> *mut c_void {
    let index = module_index();
    if vector.is_null() || index < 0 {
        return null_mut();
    }
    // SAFETY: a config vector is an array of one `void*` per loaded module.
    unsafe { *(vector.cast::<*mut c_void>()).add(index as usize) }
}

/// Writes this module's slot of a configuration vector (`ap_set_module_config`).
///
/// # Safety
/// As [`config_slot`].
pub(super) unsafe fn set_config_slot(vector: *mut sys::ap_conf_vector_t, value: *mut c_void) {
    let index = module_index();
    if vector.is_null() || index < 0 {
        return;
    }
    // SAFETY: as in config_slot.
    unsafe { *(vector.cast::<*mut c_void>()).add(index as usize) = value }
}

unsafe extern "C" fn create_config<T: MergeConfig>(
    p: *mut sys::apr_pool_t,
    _dir: *mut c_char,
) -> *mut c_void {
    // SAFETY: Apache passes the live configuration pool.
    match unsafe { Pool::from_raw(p) } {
        Some(pool) => pool.adopt(T::default()).cast(),
        None => null_mut(),
    }
}

unsafe extern "C" fn create_server_config(
    p: *mut sys::apr_pool_t,
    _s: *mut sys::server_rec,
) -> *mut c_void {
    // SAFETY: as create_config.
    unsafe { create_config::<ServerConf>(p, null_mut()) }
}

unsafe extern "C" fn merge_config<T: MergeConfig>(
    p: *mut sys::apr_pool_t,
    base: *mut c_void,
    add: *mut c_void,
) -> *mut c_void {
    // SAFETY: both pointers were created by create_config::<T> (Apache only merges objects
    // of the slot it created) and stay alive for the configuration's lifetime.
    let (Some(base), Some(add)) = (unsafe { base.cast::<T>().as_ref() }, unsafe {
        add.cast::<T>().as_ref()
    }) else {
        return add;
    };
    let merged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| T::merge(base, add)));
    // SAFETY: the configuration pool is live.
    match (merged, unsafe { Pool::from_raw(p) }) {
        (Ok(merged), Some(pool)) => pool.adopt(merged).cast(),
        _ => (add as *const T).cast_mut().cast(),
    }
}
