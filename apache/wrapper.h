/* Headers bindgen reads to generate src/apache/sys.rs (see build.rs for the allowlist). */
#ifdef RWSGI_MSVC_PID_T
/* Apache for Windows is built with MSVC, whose pid_t (apr.hw) is an int; keep mingw's
   64-bit one out. */
#define _PID_T_
typedef int pid_t;
#endif
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_mpm.h>
#include <scoreboard.h>
#include <ap_listen.h>
#include <ap_regex.h>
#include <ap_release.h>
#include <ap_mmn.h>
#include <util_filter.h>
#include <util_script.h>
#include <mod_auth.h>
#include <http_ssl.h>
#ifndef _WIN32
#include <mod_unixd.h>
#include <unixd.h>
#endif
#include <apr_buckets.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_file_io.h>
#include <apr_portable.h>
