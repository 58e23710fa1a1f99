/* Test-only stand-in for libhttpd.dll, the one part of Apache for Windows no package
   registry has (Apache Lounge and ASF builds are downloads, not packages). It exports what
   mod_rwsgi.dll imports from libhttpd.dll, compiled against Apache 2.4's own headers, so a
   mismatch of name or signature fails to build. What the wine tests exercise is
   implemented: hook registration (recorded for the harness), logging, the MPM and state
   queries, the configuration helpers. The rest is never called by them and aborts loudly
   if it ever is. APR and APR-util are the real ones, built for Windows. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "ap_regex.h"
#include "scoreboard.h"
#include "util_filter.h"
#include "mod_auth.h"
#include "http_ssl.h"
#include "apr_strings.h"

AP_DECLARE_DATA server_rec *ap_server_conf;
AP_DECLARE_DATA module *ap_top_module;

/* Hooks, by name, for the harness (standin_hook). */
static struct {
    const char *name;
    void *fn;
} hooks[16];
static int nhooks;

static void record(const char *name, void *fn)
{
    if (nhooks < 16) {
        hooks[nhooks].name = name;
        hooks[nhooks].fn = fn;
        nhooks++;
    }
}

__declspec(dllexport) void *standin_hook(const char *name)
{
    int i;
    for (i = 0; i < nhooks; i++) {
        if (strcmp(hooks[i].name, name) == 0) {
            return hooks[i].fn;
        }
    }
    return NULL;
}

__declspec(dllexport) int standin_hook_count(void)
{
    return nhooks;
}

#define HOOK(name)                                                                   \
    AP_DECLARE(void) ap_hook_##name(ap_HOOK_##name##_t *pf, const char *const *pre,  \
                                    const char *const *succ, int order)              \
    {                                                                                \
        (void)pre; (void)succ; (void)order;                                          \
        record(#name, (void *)pf);                                                   \
    }
HOOK(check_config)
HOOK(post_config)
HOOK(pre_mpm)
HOOK(child_init)
HOOK(translate_name)
HOOK(handler)

AP_DECLARE(void) ap_hook_check_access(ap_HOOK_access_checker_t *pf, const char *const *pre,
                                      const char *const *succ, int order, int type)
{
    (void)pre; (void)succ; (void)order; (void)type;
    record("check_access", (void *)pf);
}

/* The auth providers register by group and name; the harness finds them as hooks. */
AP_DECLARE(apr_status_t) ap_register_auth_provider(apr_pool_t *pool, const char *provider_group,
                                                   const char *provider_name,
                                                   const char *provider_version,
                                                   const void *provider, int type)
{
    (void)pool; (void)provider_name; (void)provider_version; (void)type;
    record(provider_group, (void *)provider);
    return APR_SUCCESS;
}

/* No mod_ssl in the stand-in. */
AP_DECLARE(module *) ap_find_linked_module(const char *name)
{
    (void)name;
    return NULL;
}

static void vlog(int level, const char *fmt, va_list ap)
{
    printf("[stand-in log level %d] ", level & APLOG_LEVELMASK);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

AP_DECLARE(void) ap_log_error_(const char *file, int line, int module_index, int level,
                               apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    va_list ap;
    (void)file; (void)line; (void)module_index; (void)status; (void)s;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

AP_DECLARE(void) ap_log_rerror_(const char *file, int line, int module_index, int level,
                                apr_status_t status, const request_rec *r, const char *fmt, ...)
{
    va_list ap;
    (void)file; (void)line; (void)module_index; (void)status; (void)r;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

/* mpm_winnt's answers: one child process, threaded. */
AP_DECLARE(apr_status_t) ap_mpm_query(int query_code, int *result)
{
    switch (query_code) {
    case AP_MPMQ_IS_THREADED: *result = AP_MPMQ_STATIC; return APR_SUCCESS;
    case AP_MPMQ_IS_FORKED: *result = AP_MPMQ_NOT_SUPPORTED; return APR_SUCCESS;
    case AP_MPMQ_MAX_THREADS: *result = 64; return APR_SUCCESS;
    case AP_MPMQ_MAX_DAEMONS: *result = 1; return APR_SUCCESS;
    default: *result = 0; return APR_ENOTIMPL;
    }
}

AP_DECLARE(int) ap_state_query(int query_code)
{
    return query_code == AP_SQ_MAIN_STATE ? AP_SQ_MS_RUN_MPM : AP_SQ_RM_UNKNOWN;
}

AP_DECLARE(const char *) ap_check_cmd_context(cmd_parms *cmd, unsigned forbidden)
{
    (void)cmd; (void)forbidden;
    return NULL;
}

AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    if (fname[0] == '/' || fname[0] == '\\' || (fname[0] && fname[1] == ':')) {
        return apr_pstrdup(p, fname);
    }
    return apr_pstrcat(p, "C:/ServerRoot/", fname, NULL);
}

AP_DECLARE(const char *) ap_get_server_banner(void)
{
    return "Apache/2.4.68 (Win64) stand-in";
}

AP_DECLARE(void) ap_add_version_component(apr_pool_t *pconf, const char *component)
{
    (void)pconf; (void)component;
}

/* Never called by the wine tests: a call means the test reached further than its
   stand-in goes, which must not pass silently. */
static void not_here(const char *name)
{
    fprintf(stderr, "stand-in libhttpd.dll: %s is not implemented\n", name);
    fflush(stderr);
    abort();
}

AP_DECLARE(int) ap_allow_options(request_rec *r) { (void)r; not_here("ap_allow_options"); return 0; }
AP_DECLARE(apr_bucket *) ap_bucket_error_create(int error, const char *buf, apr_pool_t *p,
                                                apr_bucket_alloc_t *list)
{ (void)error; (void)buf; (void)p; (void)list; not_here("ap_bucket_error_create"); return NULL; }
AP_DECLARE(const char *) ap_context_document_root(request_rec *r)
{ (void)r; not_here("ap_context_document_root"); return NULL; }
AP_DECLARE(const char *) ap_context_prefix(request_rec *r)
{ (void)r; not_here("ap_context_prefix"); return NULL; }
AP_DECLARE(void) ap_copy_scoreboard_worker(worker_score *dest, int child_num, int thread_num)
{ (void)dest; (void)child_num; (void)thread_num; not_here("ap_copy_scoreboard_worker"); }
AP_DECLARE(const char *) ap_document_root(request_rec *r)
{ (void)r; not_here("ap_document_root"); return NULL; }
AP_DECLARE(int) ap_exists_scoreboard_image(void) { return 0; }
AP_DECLARE(const char *) ap_get_useragent_host(request_rec *req, int type, int *str_is_ip)
{ (void)req; (void)type; (void)str_is_ip; not_here("ap_get_useragent_host"); return NULL; }
AP_DECLARE(int) ap_ssl_conn_is_ssl(conn_rec *c) { (void)c; not_here("ap_ssl_conn_is_ssl"); return 0; }
AP_DECLARE(const char *) ap_ssl_var_lookup(apr_pool_t *p, server_rec *s, conn_rec *c,
                                           request_rec *r, const char *name)
{ (void)p; (void)s; (void)c; (void)r; (void)name; not_here("ap_ssl_var_lookup"); return NULL; }
AP_DECLARE(apr_status_t) ap_get_brigade(ap_filter_t *f, apr_bucket_brigade *bb,
                                        ap_input_mode_t mode, apr_read_type_e block,
                                        apr_off_t readbytes)
{ (void)f; (void)bb; (void)mode; (void)block; (void)readbytes; not_here("ap_get_brigade"); return 0; }
AP_DECLARE(global_score *) ap_get_scoreboard_global(void)
{ not_here("ap_get_scoreboard_global"); return NULL; }
AP_DECLARE(process_score *) ap_get_scoreboard_process(int x)
{ (void)x; not_here("ap_get_scoreboard_process"); return NULL; }
AP_DECLARE(apr_socket_t *) ap_get_conn_socket(conn_rec *c)
{ (void)c; not_here("ap_get_conn_socket"); return NULL; }
AP_DECLARE(const char *) ap_get_server_name(request_rec *r)
{ (void)r; not_here("ap_get_server_name"); return NULL; }
AP_DECLARE(apr_port_t) ap_get_server_port(const request_rec *r)
{ (void)r; not_here("ap_get_server_port"); return 0; }
AP_DECLARE(int) ap_map_http_request_error(apr_status_t rv, int status)
{ (void)rv; (void)status; not_here("ap_map_http_request_error"); return 0; }
AP_DECLARE(apr_status_t) ap_pass_brigade(ap_filter_t *filter, apr_bucket_brigade *bucket)
{ (void)filter; (void)bucket; not_here("ap_pass_brigade"); return 0; }
AP_DECLARE(ap_regex_t *) ap_pregcomp(apr_pool_t *p, const char *pattern, int cflags)
{ (void)p; (void)pattern; (void)cflags; not_here("ap_pregcomp"); return NULL; }
AP_DECLARE(char *) ap_pregsub(apr_pool_t *p, const char *input, const char *source,
                              apr_size_t nmatch, ap_regmatch_t pmatch[])
{ (void)p; (void)input; (void)source; (void)nmatch; (void)pmatch; not_here("ap_pregsub"); return NULL; }
AP_DECLARE(int) ap_regexec(const ap_regex_t *preg, const char *string, apr_size_t nmatch,
                           ap_regmatch_t *pmatch, int eflags)
{ (void)preg; (void)string; (void)nmatch; (void)pmatch; (void)eflags; not_here("ap_regexec"); return 0; }
AP_DECLARE(int) ap_run_generate_log_id(const conn_rec *c, const request_rec *r, const char **id)
{ (void)c; (void)r; (void)id; not_here("ap_run_generate_log_id"); return 0; }
AP_DECLARE(const char *) ap_run_http_scheme(const request_rec *r)
{ (void)r; not_here("ap_run_http_scheme"); return NULL; }
AP_DECLARE(void) ap_set_content_length(request_rec *r, apr_off_t length)
{ (void)r; (void)length; not_here("ap_set_content_length"); }
AP_DECLARE(void) ap_set_content_type(request_rec *r, const char *ct)
{ (void)r; (void)ct; not_here("ap_set_content_type"); }
AP_DECLARE(int) ap_setup_client_block(request_rec *r, int read_policy)
{ (void)r; (void)read_policy; not_here("ap_setup_client_block"); return 0; }
