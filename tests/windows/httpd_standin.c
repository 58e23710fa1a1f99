/* Test-only stand-in for httpd.exe (Apache for Windows is no package in any registry
   reachable here), run under wine. It loads mod_rwsgi.dll the way Apache does -- LoadFile's
   LoadLibrary of python3XX.dll, then LoadLibrary of the module and GetProcAddress of
   "wsgi_module" -- next to the real python311.dll (python.org's embeddable build), the real
   APR and APR-util built for Windows, and the stand-in libhttpd.dll. Then it drives the
   module through Apache's module interface: its record, hook registration, configuration
   creation, its command table, and child_init, which starts Python.

     httpd.exe -f CONF -t            a configuration test of the WSGI directives of CONF
                                     (what rwsgi-express runs); other directives are read
                                     as Apache would skip unknown ones: not at all
     httpd.exe --load-test PYHOME DIR   the load test; prints TAP-like lines and a
                                        "N passed, N failed" summary
     httpd.exe -f CONF -DONE_PROCESS    what start-server runs: serving is out of its
                                        reach, so it says it was asked and exits 3 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "httpd.h"
#include "http_config.h"
#include "ap_mmn.h"
#include "apr_general.h"
#include "apr_strings.h"

typedef void *(*standin_hook_fn)(const char *);
typedef int (*standin_count_fn)(void);

static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
    if (ok) {
        passed++;
        printf("ok - %s\n", what);
    }
    else {
        failed++;
        printf("not ok - %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    }
    fflush(stdout);
}

/* What Apache keeps for one loaded module: enough to run its directives and hooks. */
struct loaded {
    module *m;
    server_rec *s;
    void *dconf;
    apr_pool_t *pconf;
    apr_pool_t *ptemp;
};

static const command_rec *find_command(const module *m, const char *name)
{
    const command_rec *c;
    for (c = m->cmds; c && c->name; c++) {
        if (strcasecmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

/* Runs one directive through the module's command table, as Apache's config reader
   does for RAW_ARGS commands. NULL means accepted. */
static const char *directive(struct loaded *l, const char *name, const char *args)
{
    const command_rec *c = find_command(l->m, name);
    cmd_parms parms;
    if (!c) {
        return "no such directive in the module's command table";
    }
    memset(&parms, 0, sizeof parms);
    parms.info = c->cmd_data;
    parms.cmd = c;
    parms.pool = l->pconf;
    parms.temp_pool = l->ptemp;
    parms.server = l->s;
    parms.override = c->req_override;
    return c->AP_RAW_ARGS(&parms, l->dconf, args);
}

/* LoadModule: the module record, its hooks registered, its configuration created. */
static int load_module(struct loaded *l, const char *path)
{
    HMODULE h = LoadLibraryA(path);
    process_rec *process;
    if (!h) {
        printf("LoadLibrary(%s) failed: error %lu\n", path, GetLastError());
        return 0;
    }
    l->m = (module *)GetProcAddress(h, "wsgi_module");
    if (!l->m) {
        printf("%s exports no wsgi_module\n", path);
        return 0;
    }
    apr_pool_create(&l->pconf, NULL);
    apr_pool_create(&l->ptemp, l->pconf);
    process = apr_pcalloc(l->pconf, sizeof *process);
    process->pool = l->pconf;
    process->pconf = l->pconf;
    process->short_name = "httpd";
    l->s = apr_pcalloc(l->pconf, sizeof *l->s);
    l->s->process = process;
    l->s->server_hostname = "localhost";
    l->s->port = 80;
    l->s->defn_name = "stand-in";
    l->s->module_config = apr_pcalloc(l->pconf, sizeof(void *) * 4);
    l->s->lookup_defaults = apr_pcalloc(l->pconf, sizeof(void *) * 4);
    l->m->module_index = 0;
    l->m->register_hooks(l->pconf);
    ((void **)l->s->module_config)[0] = l->m->create_server_config(l->pconf, l->s);
    l->dconf = l->m->create_dir_config(l->pconf, NULL);
    ((void **)l->s->lookup_defaults)[0] = l->dconf;
    *(server_rec **)GetProcAddress(GetModuleHandleA("libhttpd.dll"), "ap_server_conf") = l->s;
    return 1;
}

static char *unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = 0;
        return s + 1;
    }
    return s;
}

/* httpd -t: every LoadFile loads, every LoadModule file exists (wsgi_module is loaded),
   every WSGI directive is accepted by the module; Include files are read in turn. */
static int read_config(struct loaded *l, const char *conf)
{
    FILE *f = fopen(conf, "rb");
    char line[16384], logical[65536];
    int lineno = 0, start = 0;
    if (!f) {
        printf("httpd: could not open configuration file %s\n", conf);
        return 1;
    }
    logical[0] = 0;
    while (fgets(line, sizeof line, f)) {
        char *p, *name, *args, *end;
        size_t n;
        lineno++;
        n = strcspn(line, "\r\n");
        line[n] = 0;
        if (logical[0] == 0) {
            start = lineno;
        }
        if (n > 0 && line[n - 1] == '\\') {
            line[n - 1] = 0;
            strcat(logical, line);
            continue;
        }
        strcat(logical, line);
        p = logical + strspn(logical, " \t");
        if (*p == 0 || *p == '#' || *p == '<') {
            logical[0] = 0;
            continue;
        }
        name = p;
        end = name + strcspn(name, " \t");
        args = *end ? end + 1 : end;
        *end = 0;
        args += strspn(args, " \t");
        if (strcasecmp(name, "LoadFile") == 0) {
            if (!LoadLibraryA(unquote(args))) {
                printf("AH00526: Syntax error on line %d of %s:\nCannot load %s: error %lu\n",
                       start, conf, args, GetLastError());
                return 1;
            }
        }
        else if (strcasecmp(name, "LoadModule") == 0) {
            char *mod = args, *path = args + strcspn(args, " \t");
            *path++ = 0;
            path = unquote(path + strspn(path, " \t"));
            if (strcmp(mod, "wsgi_module") == 0) {
                if (!load_module(l, path)) {
                    printf("AH00526: Syntax error on line %d of %s:\nCannot load %s into server\n",
                           start, conf, path);
                    return 1;
                }
            }
            else if (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES) {
                printf("AH00526: Syntax error on line %d of %s:\nCannot load %s into server\n",
                       start, conf, path);
                return 1;
            }
        }
        else if (strcasecmp(name, "Include") == 0) {
            if (read_config(l, unquote(args)) != 0) {
                return 1;
            }
        }
        else if (strncasecmp(name, "WSGI", 4) == 0) {
            const char *err;
            if (!l->m) {
                printf("AH00526: Syntax error on line %d of %s:\nInvalid command '%s'\n",
                       start, conf, name);
                return 1;
            }
            err = directive(l, name, args);
            if (err) {
                printf("AH00526: Syntax error on line %d of %s:\n%s\n", start, conf, err);
                return 1;
            }
        }
        logical[0] = 0;
    }
    fclose(f);
    return 0;
}

static int config_test(const char *conf)
{
    struct loaded l;
    memset(&l, 0, sizeof l);
    if (read_config(&l, conf) != 0) {
        return 1;
    }
    printf("Syntax OK\n");
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    static char buf[65536];
    size_t n;
    if (!f) {
        return NULL;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int contains(const char *haystack, const char *needle)
{
    return haystack && needle && strstr(haystack, needle) != NULL;
}

static int load_test(const char *pyhome, const char *dir)
{
    char path[MAX_PATH], script[MAX_PATH], out[MAX_PATH], libdir1[MAX_PATH], libdir2[MAX_PATH];
    char args[4 * MAX_PATH];
    HMODULE python;
    struct loaded l;
    const command_rec *c;
    const char *err;
    int commands = 0;
    int (*is_initialized)(void);
    void (*child_init)(apr_pool_t *, server_rec *);
    apr_pool_t *pchild;
    standin_hook_fn hook;
    standin_count_fn hook_count;
    HMODULE standin;
    char *text;
    FILE *f;

    memset(&l, 0, sizeof l);
    snprintf(path, sizeof path, "%s\\python311.dll", pyhome);
    python = LoadLibraryA(path);
    check(python != NULL, "LoadFile python311.dll (python.org's embeddable build)", path);
    if (!python) {
        return 1;
    }
    is_initialized = (int (*)(void))GetProcAddress(python, "Py_IsInitialized");
    check(load_module(&l, "mod_rwsgi.dll"),
          "LoadModule: mod_rwsgi.dll loads (libhttpd, APR, APR-util, python311) and exports wsgi_module",
          NULL);
    if (!l.m) {
        return 1;
    }
    check(l.m->magic == MODULE_MAGIC_COOKIE, "module record: magic cookie is AP24", NULL);
    check(l.m->version == MODULE_MAGIC_NUMBER_MAJOR, "module record: MMN major 20120211", NULL);
    snprintf(args, sizeof args, "%d (headers: %d)", l.m->minor_version, MODULE_MAGIC_NUMBER_MINOR);
    check(l.m->minor_version == MODULE_MAGIC_NUMBER_MINOR, "module record: MMN minor", args);
    check(l.m->name && strcmp(l.m->name, "mod_wsgi.c") == 0, "module record: name mod_wsgi.c",
          l.m->name);
    for (c = l.m->cmds; c && c->name; c++) {
        commands++;
    }
    snprintf(args, sizeof args, "%d directives", commands);
    check(commands >= 40 && find_command(l.m, "WSGIScriptAlias") &&
              find_command(l.m, "WSGIDaemonProcess"),
          "command table: every directive, WSGIScriptAlias and WSGIDaemonProcess included", args);
    standin = GetModuleHandleA("libhttpd.dll");
    hook = (standin_hook_fn)GetProcAddress(standin, "standin_hook");
    hook_count = (standin_count_fn)GetProcAddress(standin, "standin_hook_count");
    snprintf(args, sizeof args, "%d hooks", hook_count());
    check(hook_count() == 9 && hook("child_init") && hook("handler") &&
              hook("translate_name") && hook("post_config") && hook("check_config") &&
              hook("pre_mpm") && hook("check_access") && hook("authn") && hook("authz"),
          "register_hooks: check_config, post_config, pre_mpm, child_init, translate_name, "
          "handler, check_access, and the authn and authz providers",
          args);

    err = directive(&l, "WSGIDaemonProcess", "site processes=2 threads=4");
    check(contains(err, "daemon mode is not available on Windows"),
          "WSGIDaemonProcess fails the configuration test saying why", err);
    err = directive(&l, "WSGIProcessGroup", "site");
    check(contains(err, "not available on Windows"), "WSGIProcessGroup NAME is refused", err);
    err = directive(&l, "WSGIProcessGroup", "%{GLOBAL}");
    check(err == NULL, "WSGIProcessGroup %{GLOBAL} is accepted", err);
    err = directive(&l, "WSGISocketPrefix", "logs/wsgi");
    check(contains(err, "not available on Windows"), "WSGISocketPrefix is refused", err);
    err = directive(&l, "WSGIRestrictEmbedded", "On");
    check(contains(err, "not available on Windows"), "WSGIRestrictEmbedded On is refused", err);
    err = directive(&l, "WSGIRestrictEmbedded", "Off");
    check(err == NULL, "WSGIRestrictEmbedded Off is accepted", err);

    snprintf(libdir1, sizeof libdir1, "%s\\lib one", dir);
    snprintf(libdir2, sizeof libdir2, "%s\\lib2", dir);
    CreateDirectoryA(libdir1, NULL);
    CreateDirectoryA(libdir2, NULL);
    snprintf(script, sizeof script, "%s\\probe.py", dir);
    snprintf(out, sizeof out, "%s\\probe.out", dir);
    f = fopen(script, "wb");
    fprintf(f,
            "import sys, mod_wsgi, apache\n"
            "with open(r'%s', 'w') as f:\n"
            "    f.write('version=%%s\\n' %% sys.version.split()[0])\n"
            "    f.write('mod_wsgi.version=%%r\\n' %% (mod_wsgi.version,))\n"
            "    f.write('process_group=%%r\\n' %% (mod_wsgi.process_group,))\n"
            "    f.write('threads_per_process=%%r\\n' %% (mod_wsgi.threads_per_process,))\n"
            "    f.write('apache.description=%%s\\n' %% (apache.description,))\n"
            "    f.write('path=%%r\\n' %% (sys.path,))\n",
            out);
    fclose(f);
    DeleteFileA(out);
    snprintf(args, sizeof args, "\"%s\"", pyhome);
    err = directive(&l, "WSGIPythonHome", args);
    check(err == NULL, "WSGIPythonHome (the embeddable Python)", err);
    snprintf(args, sizeof args, "\"%s;%s\"", libdir1, libdir2);
    err = directive(&l, "WSGIPythonPath", args);
    check(err == NULL, "WSGIPythonPath with ';' between directories", err);
    snprintf(args, sizeof args, "\"%s\" process-group=%%{GLOBAL} application-group=%%{GLOBAL}",
             script);
    err = directive(&l, "WSGIImportScript", args);
    check(err == NULL, "WSGIImportScript", err);

    check(!is_initialized(), "Python is not running before child_init", NULL);
    child_init = (void (*)(apr_pool_t *, server_rec *))hook("child_init");
    apr_pool_create(&pchild, l.pconf);
    child_init(pchild, l.s);
    check(is_initialized(), "child_init started Python in-process (Py_IsInitialized)", NULL);
    text = slurp(out);
    check(text != NULL, "the WSGIImportScript script ran in it", out);
    check(contains(text, "version=3.11."), "sys.version round trip: 3.11", text);
    check(contains(text, "mod_wsgi.version=(6, 1, 1)"), "the mod_wsgi module is installed", text);
    check(contains(text, "process_group=''"), "embedded: process group ''", text);
    check(contains(text, "threads_per_process=64"),
          "mod_wsgi.threads_per_process from ap_mpm_query", text);
    check(contains(text, "apache.description=Apache/2.4.68 (Win64)"),
          "apache.description from ap_get_server_banner", text);
    check(contains(text, "lib one'") && contains(text, "lib2'"),
          "both WSGIPythonPath directories are on sys.path", text);
    apr_pool_destroy(pchild);
    check(!is_initialized(), "the child pool's cleanup finalises Python", NULL);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int test = 0, serve = 0, i;
    apr_initialize();
    if (argc == 4 && strcmp(argv[1], "--load-test") == 0) {
        return load_test(argv[2], argv[3]);
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            conf = argv[++i];
        }
        else if (strcmp(argv[i], "-t") == 0) {
            test = 1;
        }
        else if (strcmp(argv[i], "-DONE_PROCESS") == 0) {
            serve = 1;
        }
    }
    if (test && conf) {
        return config_test(conf);
    }
    if (serve && conf) {
        /* What rwsgi-express start-server runs: say so, so the test sees it arrived. */
        printf("stand-in httpd.exe: asked to serve %s in one process; it cannot serve\n", conf);
        return 3;
    }
    fprintf(stderr, "stand-in httpd.exe: only -f CONF -t and --load-test; it cannot serve\n");
    return 1;
}
