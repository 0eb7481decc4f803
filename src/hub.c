/* hub.c -- huggingface_hub's cache layout, name checks, resolution from the cache and downloads (see hub.h).
 *
 * The protocol is the one huggingface_hub speaks (file_download.py, hf_api.py):
 *   GET  {endpoint}/api/models/OWNER/REPO/revision/REV       → {"sha": commit, "siblings": [{"rfilename"}]}
 *   HEAD {endpoint}/OWNER/REPO/resolve/COMMIT/FILE            → X-Repo-Commit, ETag, Content-Length; an LFS file
 *        answers with a redirect to its storage URL and carries X-Linked-Etag (its sha256) and X-Linked-Size;
 *        relative redirects (renamed repositories, the resolve cache) are followed, absolute ones are not.
 *   GET  the resolve URL or the storage URL into blobs/<etag>.incomplete, with Range when resuming.
 * Every redirect is followed by hand so that the token goes to the endpoint's own origin only. */
#define _GNU_SOURCE
#include "hub.h"
#include "catalog.h"
#include "model.h"
#include "output.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define HUB_MAX_HEADERS (64u << 10)     /* a response header block larger than this aborts the transfer */
#define HUB_MAX_LISTING (32u << 20)     /* the repository listing (JSON) */
#define HUB_MAX_DISCARD (1u << 20)      /* body of a redirect or error response */
#define HUB_MAX_REDIRECTS 10

/* ================================================================ names */

static int bad(const char *what, const char *s, const char *why)
{
    char shown[128];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k < sizeof shown - 5; p++)
        k += (size_t)(isprint(*p) ? snprintf(shown + k, sizeof shown - k, "%c", *p)
                                  : snprintf(shown + k, sizeof shown - k, "\\x%02x", *p));
    shown[k] = 0;
    hd_set_error(HD_EINPUT, "%s '%s' %s", what, shown, why);
    return -1;
}

int hd_hub_check_part(const char *what, const char *s)
{
    size_t n = strlen(s);
    if (!n) return bad(what, s, "is empty");
    if (n > 96) return bad(what, s, "is longer than 96 characters");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return bad(what, s, s[i] == '/' || s[i] == '\\' ? "has a path separator" : "has a character other than letters, digits, '.', '_' and '-'");
    if (strstr(s, "..")) return bad(what, s, "has '..'");
    if (strstr(s, "--")) return bad(what, s, "has '--'");
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
        return bad(what, s, "starts or ends with '-' or '.'");
    return 0;
}

/* '/'-separated parts, none empty, "." or ".." */
static const char *path_fault(const char *s)
{
    if (!*s) return "is empty";
    if (*s == '/') return "is an absolute path";
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!n) return "has an empty path part";
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return "has a '.' or '..' path part";
        if (!e) break;
        p = e + 1;
        if (!*p) return "ends with '/'";
    }
    return NULL;
}

int hd_hub_check_revision(const char *s)
{
    size_t n = strlen(s);
    if (n > 255) return bad("revision", s, "is longer than 255 characters");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._/-", s[i]))
            return bad("revision", s, "has a character other than letters, digits, '.', '_', '-' and '/'");
    const char *why = path_fault(s);
    return why ? bad("revision", s, why) : 0;
}

int hd_hub_check_filename(const char *s)
{
    if (strlen(s) > 1024) return bad("file name", s, "is longer than 1024 characters");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\') return bad("file name", s, "has a backslash");
        if (*p < 0x20 || *p == 0x7f) return bad("file name", s, "has a control character");
    }
    const char *why = path_fault(s);
    return why ? bad("file name", s, why) : 0;
}

int hd_hub_is_commit(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) return 0;
    return i == 40;
}

int hd_hub_parse(const char *spec, hd_hub_ref *r)
{
    memset(r, 0, sizeof *r);
    if (strlen(spec) != strcspn(spec, "\n")) return bad("model name", spec, "has a line break");
    const char *at = strchr(spec, '@'), *slash = strchr(spec, '/');
    size_t n = at ? (size_t)(at - spec) : strlen(spec);
    if (!slash || slash > spec + n) {
        /* a release name as `hyenadna models` lists it: say where it is */
        const hd_catalog_entry *e = hd_catalog_find(spec, n);
        if (e && e->repo)
            hd_set_error(HD_EINPUT, "'%s' is not OWNER/REPO[@REVISION]: hyenadna models lists %s as %s on the Hub",
                         spec, e->name, e->repo);
        else if (e)
            hd_set_error(HD_EINPUT, "'%s' is not OWNER/REPO[@REVISION]: hyenadna models lists %s as not on the Hub, "
                         "its weights at %s", spec, e->name, e->source);
        else hd_set_error(HD_EINPUT, "'%s' is not OWNER/REPO[@REVISION]", spec);
        return -1;
    }
    r->owner = strndup(spec, (size_t)(slash - spec));
    r->name = strndup(slash + 1, n - (size_t)(slash - spec) - 1);
    r->revision = strdup(at ? at + 1 : "main");
    if (!r->owner || !r->name || !r->revision) {
        hd_hub_ref_free(r);
        hd_set_error(HD_EINPUT, "out of memory");
        return -1;
    }
    if (hd_hub_check_part("owner", r->owner) || hd_hub_check_part("repository name", r->name) ||
        (at && !at[1] && bad("revision", "", "is empty")) || hd_hub_check_revision(r->revision)) {
        hd_hub_ref_free(r);
        return -1;
    }
    return 0;
}

void hd_hub_ref_free(hd_hub_ref *r)
{
    free(r->owner);
    free(r->name);
    free(r->revision);
    memset(r, 0, sizeof *r);
}

/* ================================================================ paths */

static char *home_path(const char *rest)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home) {
        hd_set_error(HD_EMODEL, "cannot tell where the Hugging Face cache is: $HOME is not set (set HF_HUB_CACHE)");
        return NULL;
    }
    return hd_sprintf("%s/%s", home, rest);
}

/* a value from the environment with a leading "~/" expanded (as Python's os.path.expanduser) */
static char *env_path(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) return NULL;
    if (v[0] == '~' && (v[1] == '/' || !v[1])) return home_path(v[1] ? v + 2 : "");
    return strdup(v);
}

static char *hf_home(void)
{
    char *p = env_path("HF_HOME");
    if (p) return p;
    char *x = env_path("XDG_CACHE_HOME");
    if (x) {
        p = hd_sprintf("%s/huggingface", x);
        free(x);
        return p;
    }
    return home_path(".cache/huggingface");
}

char *hd_hub_cache_dir(void)
{
    char *p = env_path("HF_HUB_CACHE");
    if (!p) p = env_path("HUGGINGFACE_HUB_CACHE");   /* the older name, still read by huggingface_hub */
    if (p) return p;
    char *h = hf_home();
    if (!h) return NULL;
    p = hd_sprintf("%s/hub", h);
    free(h);
    return p;
}

char *hd_hub_repo_dir(const hd_hub_ref *r)
{
    char *c = hd_hub_cache_dir();
    if (!c) return NULL;
    char *p = hd_sprintf("%s/models--%s--%s", c, r->owner, r->name);
    free(c);
    return p;
}

/* the pull command for messages: OWNER/REPO, with @REVISION unless it is main */
static const char *pull_cmd(const hd_hub_ref *r, char *buf, size_t n)
{
    snprintf(buf, n, "hyenadna pull %s/%s%s%s", r->owner, r->name, strcmp(r->revision, "main") ? "@" : "",
             strcmp(r->revision, "main") ? r->revision : "");
    return buf;
}

/* The whole of a small file (at most max bytes), or NULL when it cannot be read. */
static char *read_small(const char *path, size_t max)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, fp) : 0;
    fclose(fp);
    if (buf) buf[n] = 0;
    return buf;
}

/* the first line of a small file, trailing white space removed; NULL when absent or unreadable */
static char *read_line(const char *path, size_t max)
{
    char *buf = read_small(path, max);
    if (!buf) return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    for (size_t k = strlen(buf); k && isspace((unsigned char)buf[k - 1]);) buf[--k] = 0;
    return buf;
}

/* the snapshot folder of r in the cache; `todo` ends the messages (what the user should do) */
static char *find_snapshot(const hd_hub_ref *r, const char *todo)
{
    char *repo = hd_hub_repo_dir(r), *snap = NULL;
    if (!repo) return NULL;
    if (!hd_is_dir(repo)) {
        hd_set_error(HD_EMODEL, "hf:%s/%s@%s is not in the local cache (no %s): %s", r->owner, r->name, r->revision, repo, todo);
        free(repo);
        return NULL;
    }
    if (hd_hub_is_commit(r->revision)) {
        snap = hd_sprintf("%s/snapshots/%s", repo, r->revision);
        if (snap && hd_is_dir(snap)) { free(repo); return snap; }
        free(snap);
        snap = NULL;
    }
    char *ref = hd_sprintf("%s/refs/%s", repo, r->revision);
    char *commit = ref ? read_line(ref, 64) : NULL;
    if (commit && !hd_hub_is_commit(commit)) {
        hd_set_error(HD_EMODEL, "%s does not hold a commit hash (40 hexadecimal digits)", ref);
    } else if (commit) {
        snap = hd_sprintf("%s/snapshots/%s", repo, commit);
        if (snap && !hd_is_dir(snap)) {
            hd_set_error(HD_EMODEL, "hf:%s/%s@%s: the cache names commit %s but has no %s: %s", r->owner, r->name,
                         r->revision, commit, snap, todo);
            free(snap);
            snap = NULL;
        }
    } else {
        hd_set_error(HD_EMODEL, "hf:%s/%s: revision '%s' is not in the local cache (%s): %s", r->owner, r->name,
                     r->revision, repo, todo);
    }
    free(commit);
    free(ref);
    free(repo);
    return snap;
}

char *hd_hub_snapshot(const hd_hub_ref *r)
{
    char cmd[512], todo[600];
    snprintf(todo, sizeof todo, "run '%s' first", pull_cmd(r, cmd, sizeof cmd));
    return find_snapshot(r, todo);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

int hd_hub_is_config_file(const char *name)
{
    if (strchr(name, '/')) return 0;
    return !strcmp(name, "config.json") || !strcmp(name, "model_config.json") || !strcmp(name, "tokenizer.json") ||
           has_suffix(name, ".yaml") || has_suffix(name, ".yml");
}

int hd_hub_is_checkpoint_file(const char *name)
{
    if (strchr(name, '/')) return 0;
    if (!has_suffix(name, ".bin") && !has_suffix(name, ".ckpt") && !has_suffix(name, ".pt") && !has_suffix(name, ".pth"))
        return 0;
    /* training state that sits beside the weights of some repositories */
    static const char *skip[] = {"training_args", "optimizer", "scheduler", "rng_state", "trainer_state", NULL};
    for (int i = 0; skip[i]; i++)
        if (!strncmp(name, skip[i], strlen(skip[i]))) return 0;
    return 1;
}

static int is_safetensors_file(const char *name) { return !strchr(name, '/') && has_suffix(name, ".safetensors"); }

/* A file of a snapshot is a link to its blob; a link whose blob is gone (removed by hand, a cache copied without
 * blobs/) leaves the snapshot incomplete.  Such a config or weights file is an error naming it: passing over it
 * would open the model without it (another config, another checkpoint) or say only that there is none. */
static int snapshot_missing_blob(const char *snap, const hd_hub_ref *r, const char *name)
{
    char cmd[512], target[PATH_MAX];
    char *p = hd_sprintf("%s/%s", snap, name);
    if (!p) return -1;
    struct stat sb;
    int missing = lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode) && stat(p, &sb) < 0;
    ssize_t n = missing ? readlink(p, target, sizeof target - 1) : -1;
    target[n > 0 ? n : 0] = 0;
    if (missing)
        hd_set_error(HD_EMODEL, "the cached snapshot %s of %s/%s is incomplete: '%s' links to %s, which is missing: run "
                     "'%s' again", snap, r->owner, r->name, name, n > 0 ? target : "nothing", pull_cmd(r, cmd, sizeof cmd));
    free(p);
    return missing ? -1 : 0;
}

static int is_model_file(const char *name)
{
    return hd_hub_is_config_file(name) || is_safetensors_file(name) || hd_hub_is_checkpoint_file(name) ||
           !strcmp(name, "model.safetensors.index.json");
}

char *hd_hub_snapshot_model(const char *snap, const hd_hub_ref *r)
{
    char cmd[512];
    int n;
    DIR *d = opendir(snap);
    if (d) {
        struct dirent *e;
        int bad = 0;
        while (!bad && (e = readdir(d)))
            bad = e->d_name[0] != '.' && is_model_file(e->d_name) && snapshot_missing_blob(snap, r, e->d_name);
        closedir(d);
        if (bad) return NULL;
    }
    char *one = NULL, *w = hd_dir_weights(snap, 1, &n, &one);
    if (w) {   /* model.safetensors: the directory itself (its config is found there) */
        size_t ls = strlen(snap);
        if (!strncmp(w, snap, ls) && !strcmp(w + ls, "/model.safetensors")) { free(w); return strdup(snap); }
        return w;
    }
    if (n > 1)
        hd_set_error(HD_EMODEL, "the cached snapshot of %s/%s holds %d weight files (%s, ...): give one of them "
                     "to -m as a path", r->owner, r->name, n, one ? strrchr(one, '/') + 1 : "?");
    else if (!hd_is_dir(snap))
        hd_set_error(HD_EMODEL, "cannot open the cached snapshot %s: %s", snap, strerror(ENOENT));
    else
        hd_set_error(HD_EMODEL, "the cached snapshot %s of %s/%s has no weights (model.safetensors or a PyTorch "
                     "checkpoint): run '%s' again", snap, r->owner, r->name, pull_cmd(r, cmd, sizeof cmd));
    free(one);
    return NULL;
}

char *hd_hub_resolve(const char *spec)
{
    hd_hub_ref r;
    if (hd_hub_parse(spec, &r)) return NULL;
    char *snap = hd_hub_snapshot(&r), *loc = snap ? hd_hub_snapshot_model(snap, &r) : NULL;
    free(snap);
    hd_hub_ref_free(&r);
    return loc;
}

/* ================================================================ HTTP */

/* $HF_ENDPOINT without trailing '/', as given (user:password@ included) */
static const char *endpoint_raw(void)
{
    static char buf[2048];
    const char *e = getenv("HF_ENDPOINT");
    if (!e || !*e) return HUB_DEFAULT_ENDPOINT;
    snprintf(buf, sizeof buf, "%s", e);
    for (size_t n = strlen(buf); n && buf[n - 1] == '/';) buf[--n] = 0;
    return buf;
}

/* a URL for messages: without the user:password@ it may carry (a credential is never printed) */
static void without_userinfo(const char *url, char *buf, size_t n)
{
    CURLU *u = curl_url();
    char *user = NULL, *out = NULL;
    if (u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_USER, &user, 0) &&
        !curl_url_set(u, CURLUPART_USER, NULL, 0) && !curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) &&
        !curl_url_set(u, CURLUPART_OPTIONS, NULL, 0))
        curl_url_get(u, CURLUPART_URL, &out, 0);
    if (!user) snprintf(buf, n, "%s", url);   /* none: as it is */
    else if (out) snprintf(buf, n, "%s", out);
    else snprintf(buf, n, "(a URL with a password)");
    curl_free(user), curl_free(out);
    curl_url_cleanup(u);
}

const char *hd_hub_endpoint(void)
{
    static char buf[2048];
    without_userinfo(endpoint_raw(), buf, sizeof buf);
    for (size_t n = strlen(buf); n && buf[n - 1] == '/';) buf[--n] = 0;
    return buf;
}

typedef struct {
    char *scheme, *host;
    long port;
} origin;

static void origin_free(origin *o)
{
    curl_free(o->scheme);
    curl_free(o->host);
    memset(o, 0, sizeof *o);
}

/* scheme, host and port of an absolute URL (default ports filled in); -1 when it is not one */
static int origin_of(const char *url, origin *o)
{
    memset(o, 0, sizeof *o);
    CURLU *u = curl_url();
    char *port = NULL;
    int ok = u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_SCHEME, &o->scheme, 0) &&
             !curl_url_get(u, CURLUPART_HOST, &o->host, 0) && !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (ok) o->port = strtol(port, NULL, 10);
    curl_free(port);
    curl_url_cleanup(u);
    if (!ok) origin_free(o);
    return ok ? 0 : -1;
}

static int same_origin(const origin *a, const origin *b)
{
    return a->scheme && b->scheme && !strcasecmp(a->scheme, b->scheme) && !strcasecmp(a->host, b->host) && a->port == b->port;
}

/* Location resolved against the URL it came from (malloc'd, curl_free); NULL when malformed */
static char *resolve_url(const char *base, const char *loc)
{
    CURLU *u = curl_url();
    char *out = NULL;
    if (u && !curl_url_set(u, CURLUPART_URL, base, 0) && !curl_url_set(u, CURLUPART_URL, loc, 0))
        curl_url_get(u, CURLUPART_URL, &out, 0);
    curl_url_cleanup(u);
    return out;
}

/* a Location without scheme or host: huggingface_hub follows only these when resolving a file */
static int is_relative(const char *loc) { return strncmp(loc, "//", 2) && !strstr(loc, "://"); }

typedef struct {
    long status;
    char *location, *etag, *linked_etag, *repo_commit, *err_code, *err_msg, *content_range, *retry_after;
    int64_t content_length, linked_size;
    size_t header_bytes;
    int header_overflow;
} http_resp;

static void resp_clear(http_resp *rs)
{
    free(rs->location), free(rs->etag), free(rs->linked_etag), free(rs->repo_commit);
    free(rs->err_code), free(rs->err_msg), free(rs->content_range), free(rs->retry_after);
    size_t hb = rs->header_bytes;
    int ov = rs->header_overflow;
    memset(rs, 0, sizeof *rs);
    rs->content_length = rs->linked_size = -1;
    rs->header_bytes = hb, rs->header_overflow = ov;
}

/* what to do with the body of a response; -1 aborts the transfer (reason in hd_error) */
typedef int (*body_fn)(void *ud, const http_resp *rs, const char *data, size_t n);

typedef struct {
    CURL *c;
    char *base;               /* the endpoint, no trailing '/' */
    origin ep;
    char *token;              /* NULL: none */
    const char *protocols;    /* "https", or "http,https" for an explicit http:// endpoint */
    char errbuf[CURL_ERROR_SIZE];
    /* per request */
    http_resp rs;
    body_fn body;
    void *body_ud;
    size_t discarded;
    int aborted;              /* a callback stopped the transfer; the reason is in hd_error */
    int transient;            /* the request failed in a way another try may mend (a cut or stalled transfer) */
    long timeout;             /* seconds without data before a transfer is abandoned */
    CURLcode res;             /* how the last request ended */
    /* progress */
    const hd_hub_pull_opts *o;
    const char *file;
    uint64_t prog_base, prog_total;
} hub_conn;

static char *header_value(const char *b, size_t n)
{
    while (n && (b[n - 1] == '\r' || b[n - 1] == '\n' || b[n - 1] == ' ' || b[n - 1] == '\t')) n--;
    while (n && (*b == ' ' || *b == '\t')) b++, n--;
    return strndup(b, n);
}

static size_t on_header(char *b, size_t sz, size_t nitems, void *ud)
{
    hub_conn *hc = ud;
    http_resp *rs = &hc->rs;
    size_t n = sz * nitems;
    rs->header_bytes += n;
    if (rs->header_bytes > HUB_MAX_HEADERS) {
        rs->header_overflow = 1;
        return 0;
    }
    if (n > 5 && !strncmp(b, "HTTP/", 5)) {   /* a new response (an interim 1xx is followed by another) */
        resp_clear(rs);
        const char *sp = memchr(b, ' ', n);
        rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    const char *colon = memchr(b, ':', n);
    if (!colon) return n;
    size_t kn = (size_t)(colon - b);
    const char *v = colon + 1;
    size_t vn = n - kn - 1;
    char **dst = NULL;
    int64_t *num = NULL;
#define IS(name) (kn == strlen(name) && !strncasecmp(b, name, kn))
    if (IS("location")) dst = &rs->location;
    else if (IS("etag")) dst = &rs->etag;
    else if (IS("x-linked-etag")) dst = &rs->linked_etag;
    else if (IS("x-repo-commit")) dst = &rs->repo_commit;
    else if (IS("x-error-code")) dst = &rs->err_code;
    else if (IS("x-error-message")) dst = &rs->err_msg;
    else if (IS("content-range")) dst = &rs->content_range;
    else if (IS("retry-after")) dst = &rs->retry_after;
    else if (IS("content-length")) num = &rs->content_length;
    else if (IS("x-linked-size")) num = &rs->linked_size;
#undef IS
    if (dst) {
        free(*dst);
        *dst = header_value(v, vn);
    } else if (num) {
        char *s = header_value(v, vn), *end;
        errno = 0;
        long long x = s ? strtoll(s, &end, 10) : -1;
        *num = (s && *s && !*end && !errno && x >= 0) ? x : -2;   /* -2: present but not a size */
        free(s);
    }
    return n;
}

static size_t on_body(char *b, size_t sz, size_t nitems, void *ud)
{
    hub_conn *hc = ud;
    size_t n = sz * nitems;
    if (hc->rs.status >= 300 || !hc->body) {   /* a redirect or error page: read and drop, within reason */
        hc->discarded += n;
        if (hc->discarded > HUB_MAX_DISCARD) {
            hd_set_error(HD_EMODEL, "a response body of more than 1 MiB where none was expected: aborted");
            hc->aborted = 1;
            return 0;
        }
        return n;
    }
    if (hc->body(hc->body_ud, &hc->rs, b, n) < 0) {
        hc->aborted = 1;
        return 0;
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    hub_conn *hc = ud;
    (void)dltotal, (void)ultotal, (void)ulnow;
    if (hc->o && hc->o->progress && hc->file && hc->rs.status < 300)
        hc->o->progress(hc->o->ud, hc->file, hc->prog_base + (uint64_t)dlnow, hc->prog_total);
    return 0;
}

/* a URL for messages: the endpoint's URLs as they are (they carry no secret), another host by name only
 * (a storage URL's query string is a signed credential) */
static void shown_url(hub_conn *hc, const char *url, char *buf, size_t n)
{
    origin o;
    if (!origin_of(url, &o)) {
        if (same_origin(&o, &hc->ep)) {
            without_userinfo(url, buf, n);
            buf[strcspn(buf, "?")] = 0;
        } else {
            snprintf(buf, n, "%s://%s", o.scheme, o.host);
        }
        origin_free(&o);
    } else {
        snprintf(buf, n, "(a malformed URL)");
    }
}

/* One request, redirects not followed.  0 when a response arrived (any status), -1 with an error otherwise. */
static int request(hub_conn *hc, const char *url, int head, int64_t range_from)
{
    char shown[512];
    origin o;
    if (origin_of(url, &o)) {
        hd_set_error(HD_EMODEL, "the server sent a malformed URL");
        return -1;
    }
    int https = !strcasecmp(o.scheme, "https"), token = hc->token && same_origin(&o, &hc->ep);
    int scheme_ok = https || (!strcasecmp(o.scheme, "http") && strcmp(hc->protocols, "https"));
    origin_free(&o);
    shown_url(hc, url, shown, sizeof shown);
    if (!scheme_ok) {
        hd_set_error(HD_EMODEL, "refusing %s: only https is used with an https endpoint", shown);
        return -1;
    }
    CURL *c = hc->c;
    curl_easy_reset(c);
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept-Encoding: identity");
    char *auth = token ? hd_sprintf("Authorization: Bearer %s", hc->token) : NULL;
    struct curl_slist *h2 = auth ? curl_slist_append(hdr, auth) : hdr;
    if (auth) { explicit_bzero(auth, strlen(auth)); free(auth); }
    if (!h2) {
        curl_slist_free_all(hdr);
        hd_set_error(HD_EMODEL, "out of memory");
        return -1;
    }
    hdr = h2;
    char range[48];
    resp_clear(&hc->rs);
    hc->rs.header_bytes = 0, hc->rs.header_overflow = 0;
    hc->discarded = 0, hc->aborted = 0, hc->transient = 0, hc->errbuf[0] = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, hc->protocols);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = getenv("CURL_CA_BUNDLE");   /* another set of trusted authorities, still verified */
    if (ca && *ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hyenadna (libcurl)");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);      /* no data for hc->timeout seconds: a network error */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, hc->timeout);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, hc->errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hc);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, hc);
    curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
    if (range_from > 0) {
        snprintf(range, sizeof range, "%lld-", (long long)range_from);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    if (!head && hc->o && hc->o->progress) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, hc);
    }
    CURLcode res = hc->res = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    for (struct curl_slist *l = hdr; l; l = l->next) explicit_bzero(l->data, strlen(l->data));   /* the token's copy */
    curl_slist_free_all(hdr);
    if (res == CURLE_OK) return 0;
    /* worth another try: a transfer cut or stalled once under way; not a host that cannot be reached at all */
    hc->transient = !hc->aborted && !hc->rs.header_overflow &&
                    (res == CURLE_PARTIAL_FILE || res == CURLE_RECV_ERROR || res == CURLE_SEND_ERROR || res == CURLE_GOT_NOTHING ||
                     res == CURLE_OPERATION_TIMEDOUT || res == CURLE_HTTP2 || res == CURLE_HTTP2_STREAM);
    if (hc->aborted) {   /* the reason is set; add the host */
        char why[768];
        snprintf(why, sizeof why, "%s", hd_error());
        hd_set_error(HD_EMODEL, "%s: %s", shown, why);
    } else if (hc->rs.header_overflow) {
        hd_set_error(HD_EMODEL, "%s: a response header block of more than %u KiB: aborted", shown, HUB_MAX_HEADERS >> 10);
    } else {
        if (res == CURLE_OPERATION_TIMEDOUT && hc->errbuf[0] && strstr(hc->errbuf, "too slow"))
            hd_set_error(HD_EMODEL, "network error on %s: no data for %ld seconds (HF_HUB_DOWNLOAD_TIMEOUT)", shown, hc->timeout);
        else
            hd_set_error(HD_EMODEL, "network error on %s: %s", shown, hc->errbuf[0] ? hc->errbuf : curl_easy_strerror(res));
    }
    return -1;
}

/* Follow redirects by hand: all of them (follow = 2), only relative ones (1: stop at an absolute one, whose
 * response is returned), none (0).  *final (malloc'd) is the URL that gave the response. */
static int fetch(hub_conn *hc, const char *url0, int head, int follow, int64_t range_from, char **final)
{
    char *url = strdup(url0);
    for (int hop = 0; url; hop++) {
        if (request(hc, url, head, range_from) < 0) break;
        long st = hc->rs.status;
        if (st < 300 || st >= 400 || st == 304 || !follow) { *final = url; return 0; }
        if (!hc->rs.location || !*hc->rs.location) { *final = url; return 0; }   /* a 3xx without a target */
        if (follow == 1 && !is_relative(hc->rs.location)) { *final = url; return 0; }
        if (hop >= HUB_MAX_REDIRECTS) {
            hd_set_error(HD_EMODEL, "more than %d redirects", HUB_MAX_REDIRECTS);
            break;
        }
        char *next = resolve_url(url, hc->rs.location);
        if (!next) {
            hd_set_error(HD_EMODEL, "the server redirected to a malformed URL");
            break;
        }
        free(url);
        url = strdup(next);
        curl_free(next);
    }
    if (!url) hd_set_error(HD_EMODEL, "out of memory");
    free(url);
    return -1;
}

#define HUB_MAX_BACKOFF 8        /* seconds between two tries at most (1, 2, 4, 8, 8...) */
#define HUB_MAX_RETRY_AFTER 60   /* a longer Retry-After is not waited for */

/* After a failed request (rc < 0) or an answer: should it be tried again?  Yes for a transient network error
 * (hc->transient) and for HTTP 429, 500, 502, 503 and 504, o->retries times at most (*tries counts them), after
 * 1, 2, 4, 8, 8... seconds or the Retry-After the server asks for (up to a minute).  Sleeps, then returns 1. */
static int retry(hub_conn *hc, int rc, int *tries, const char *what)
{
    int max = hc->o ? hc->o->retries : 0;
    long st = hc->rs.status, wait = 1L << (*tries < 3 ? *tries : 3);
    if (*tries >= max) return 0;
    if (rc < 0) {
        if (!hc->transient) return 0;
    } else {
        if (st != 429 && st != 500 && st != 502 && st != 503 && st != 504) return 0;
        if (hc->rs.retry_after) {   /* delay-seconds; an HTTP date is not read, the backoff is used */
            char *end;
            long ra = strtol(hc->rs.retry_after, &end, 10);
            if (end != hc->rs.retry_after && !*end && ra >= 0) {
                if (ra > HUB_MAX_RETRY_AFTER) return 0;
                wait = ra;
            }
        }
    }
    ++*tries;
    if (rc < 0) hd_log(HD_LOG_WARN, "%s: %s; trying again in %ld s (%d of %d)", what, hd_error(), wait, *tries, max);
    else hd_log(HD_LOG_WARN, "%s: HTTP %ld; trying again in %ld s (%d of %d)", what, st, wait, *tries, max);
    if (wait > 0) sleep((unsigned)wait);
    return 1;
}

/* After the listing failed (rc < 0, or an HTTP error once the tries are spent): is the Hub out of reach (the name
 * does not resolve, no connection, a transfer cut or stalled) or down (HTTP 429, 500, 502, 503, 504)?  Not a TLS
 * failure, and not an answer such as 401, 403 or 404, which the cache must not hide. */
static int unreachable(const hub_conn *hc, int rc)
{
    if (rc >= 0) {
        long st = hc->rs.status;
        return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
    }
    return !hc->aborted && (hc->transient || hc->res == CURLE_COULDNT_RESOLVE_HOST || hc->res == CURLE_COULDNT_RESOLVE_PROXY ||
                            hc->res == CURLE_COULDNT_CONNECT || hc->res == CURLE_OPERATION_TIMEDOUT);
}

/* an HTTP error status as a sentence for the user */
static int http_error(hub_conn *hc, const hd_hub_ref *r, const char *file, const char *url)
{
    const http_resp *rs = &hc->rs;
    const char *code = rs->err_code ? rs->err_code : "";
    char what[1200], shown[512], msg[256] = "";
    if (file) snprintf(what, sizeof what, "file '%s' of %s/%s", file, r->owner, r->name);
    else snprintf(what, sizeof what, "%s/%s at revision '%s'", r->owner, r->name, r->revision);
    if (rs->err_msg) {   /* the server's own words, printable characters only */
        size_t k = 0;
        for (const char *p = rs->err_msg; *p && k < 200; p++) msg[k++] = isprint((unsigned char)*p) ? *p : '?';
        msg[k] = 0;
    }
    shown_url(hc, url, shown, sizeof shown);
    const char *hint = hc->token ? "the token sent has no access to it" :
                                   "no token was sent: set HF_TOKEN, or write the token to $HF_HOME/token";
    if (!strcmp(code, "RepositoryNotFound"))
        /* the Hub answers 401 for a repository that does not exist, or is private or gated, when no token is sent
         * (404 with one): the name is the likelier fault, but either may be (huggingface_hub says the same) */
        hd_set_error(HD_EMODEL, "repository %s/%s not found on %s (HTTP %ld): check the name; a private or gated "
                     "repository answers so too, and %s", r->owner, r->name, hd_hub_endpoint(), rs->status,
                     hc->token ? "the token sent has no access to it" : "no token was sent (set HF_TOKEN, or write the token to $HF_HOME/token)");
    else if (!strcmp(code, "GatedRepo") || (rs->status == 403 && !hc->token))
        hd_set_error(HD_EMODEL, "%s: the repository is gated (HTTP %ld) and %s: accept its conditions at %s/%s/%s %s", what,
                     rs->status, hc->token ? "the token sent has no access to it" : "no token was sent", hd_hub_endpoint(), r->owner,
                     r->name, hc->token ? "with the account of that token" : "and set HF_TOKEN (or write the token to $HF_HOME/token)");
    else if (rs->status == 401 || rs->status == 403)
        hd_set_error(HD_EMODEL, "%s: access refused (HTTP %ld%s%s): the repository may be private or gated (%s)", what,
                     rs->status, *msg ? ": " : "", msg, hint);
    else if (!strcmp(code, "RevisionNotFound"))
        hd_set_error(HD_EMODEL, "%s/%s has no revision '%s' (HTTP %ld)", r->owner, r->name, r->revision, rs->status);
    else if (rs->status == 404)
        hd_set_error(HD_EMODEL, "%s: not found (HTTP 404 from %s)", what, shown);
    else
        hd_set_error(HD_EMODEL, "%s: HTTP %ld from %s%s%s", what, rs->status, shown, *msg ? ": " : "", msg);
    return -1;
}

/* ================================================================ downloads */

typedef struct {
    char *data;
    size_t n, cap;
} membuf;

static int to_membuf(void *ud, const http_resp *rs, const char *d, size_t n)
{
    membuf *m = ud;
    (void)rs;
    if (m->n + n > HUB_MAX_LISTING) {
        hd_set_error(HD_EMODEL, "a repository listing of more than %u MiB: aborted", HUB_MAX_LISTING >> 20);
        return -1;
    }
    if (m->n + n + 1 > m->cap) {
        size_t cap = (m->n + n + 1) * 2;
        char *p = realloc(m->data, cap);
        if (!p) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        m->data = p, m->cap = cap;
    }
    memcpy(m->data + m->n, d, n);
    m->n += n;
    m->data[m->n] = 0;
    return 0;
}

/* The longest ETag kept as a blob name: within NAME_MAX (255) with ".incomplete" and ".lock" appended. */
#define HUB_MAX_ETAG 200

typedef struct {
    char *name;           /* file name in the repository */
    char etag[HUB_MAX_ETAG + 1];
    uint64_t size;
    int sha256;           /* the ETag is the sha256 of the content (LFS) */
    char *url;            /* where to GET it */
    int cached;
} item;

typedef struct {
    int fd;
    uint64_t have;        /* bytes in the file */
    uint64_t expect;
    int64_t from;         /* the Range start asked for (0: none) */
    int started;
    int spoilt;           /* the server sent more than it announced: the partial file is not kept */
    int write_errno;      /* writing the file failed (a full disk): not the server's fault */
} blob_sink;

static int to_blob(void *ud, const http_resp *rs, const char *d, size_t n)
{
    blob_sink *s = ud;
    if (!s->started) {
        s->started = 1;
        if (s->from > 0 && rs->status == 206) {
            long long a = -1;
            if (!rs->content_range || sscanf(rs->content_range, "bytes %lld-", &a) != 1 || a != s->from) {
                hd_set_error(HD_EMODEL, "a partial response that does not start at byte %lld", (long long)s->from);
                return -1;
            }
        } else if (rs->status == 200) {   /* the whole file: start again */
            if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0) {
                hd_set_error(HD_EMODEL, "cannot truncate the partial download: %s", strerror(errno));
                return -1;
            }
            s->have = 0;
        } else {
            hd_set_error(HD_EMODEL, "unexpected HTTP %ld with a body", rs->status);
            return -1;
        }
    }
    if (n > s->expect - s->have) {
        s->spoilt = 1;
        hd_set_error(HD_EMODEL, "the body is longer than the announced %llu bytes: aborted", (unsigned long long)s->expect);
        return -1;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(s->fd, d + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            s->write_errno = errno;
            hd_set_error(HD_EMODEL, "cannot write the download: %s", strerror(errno));
            return -1;
        }
        off += (size_t)w;
        s->have += (uint64_t)w;   /* what the file holds, also when a later write fails (the count reported) */
    }
    return 0;
}

static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                hd_set_error(HD_EMODEL, "cannot create %s: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            if (!c) break;
            *s = c;
        }
    }
    free(p);
    if (!hd_is_dir(path)) {
        hd_set_error(HD_EMODEL, "%s is not a directory", path);
        return -1;
    }
    return 0;
}

static int sha256_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { hd_set_error(HD_EMODEL, "cannot read %s: %s", path, strerror(errno)); return -1; }
    gnutls_hash_hd_t h;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
        close(fd);
        hd_set_error(HD_EMODEL, "sha256 is not available from GnuTLS");
        return -1;
    }
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        gnutls_hash_deinit(h, NULL);
        close(fd);
        hd_set_error(HD_EMODEL, "out of memory");
        return -1;
    }
    ssize_t n;
    while ((n = read(fd, buf, cap)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            hd_set_error(HD_EMODEL, "cannot read %s: %s", path, strerror(errno));
            gnutls_hash_deinit(h, NULL);
            free(buf);
            close(fd);
            return -1;
        }
        gnutls_hash(h, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    unsigned char dig[32];
    gnutls_hash_deinit(h, dig);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return 0;
}

/* The ETag as the blob's file name, made as huggingface_hub makes it, so that the two share a cache's blobs:
 * the W and / characters it starts with (a weak ETag's W/) and the quotes at both ends stripped, the rest
 * kept as it is (the Hub's are a git blob id or a sha256; a mirror behind HF_ENDPOINT may send others).
 * NULL with the name in out, else why it cannot be a file name in blobs/: empty, "." or "..", holding a '/'
 * or a control character, or longer than HUB_MAX_ETAG bytes. */
static const char *norm_etag(const char *raw, char out[HUB_MAX_ETAG + 1])
{
    const char *s = raw;
    while (*s == 'W' || *s == '/') s++;
    size_t n = strlen(s);
    while (n && *s == '"') s++, n--;
    while (n && s[n - 1] == '"') n--;
    if (!n) return "it is empty";
    if (n > HUB_MAX_ETAG) return "it is longer than 200 bytes";   /* HUB_MAX_ETAG */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return "it is '.' or '..'";
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '/') return "it holds a '/'";
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return "it holds a control character";
    }
    memcpy(out, s, n);
    out[n] = 0;
    return NULL;
}

/* Is the blob name a sha256 (64 hex digits, either case), the checksum of an LFS file's content? */
static int is_sha256(const char *e)
{
    size_t n = 0;
    while (isxdigit((unsigned char)e[n])) n++;
    return n == 64 && !e[n];
}

/* HEAD of one file at the commit: ETag, size and where to GET it */
static int resolve_item(hub_conn *hc, const hd_hub_ref *r, const char *commit, item *it)
{
    /* the file name, escaped part by part */
    size_t cap = strlen(it->name) * 3 + 1;
    char *path = malloc(cap), *p = path;
    if (!path) { hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    for (const char *s = it->name; *s;) {
        size_t n = strcspn(s, "/");
        char *e = curl_easy_escape(hc->c, s, (int)n);
        if (!e) { free(path); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
        p += sprintf(p, "%s%s", e, s[n] ? "/" : "");
        curl_free(e);
        s += n + (s[n] ? 1 : 0);
    }
    char *url = hd_sprintf("%s/%s/%s/resolve/%s/%s", hc->base, r->owner, r->name, commit, path), *final = NULL;
    free(path);
    if (!url) return -1;
    int ret = -1, rc, tries = 0;
    char what[1200];
    snprintf(what, sizeof what, "file '%s' of %s/%s", it->name, r->owner, r->name);
    do {
        free(final), final = NULL;
        rc = fetch(hc, url, 1, 1, 0, &final);
    } while ((rc < 0 || hc->rs.status >= 400) && retry(hc, rc, &tries, what));
    if (rc < 0) goto done;
    const http_resp *rs = &hc->rs;
    if (rs->status >= 400 || rs->status < 200 || (rs->status >= 300 && !rs->location)) {
        http_error(hc, r, it->name, final);
        goto done;
    }
    if (!rs->repo_commit || strcmp(rs->repo_commit, commit)) {
        hd_set_error(HD_EMODEL, "file '%s' of %s/%s: the server %s (X-Repo-Commit)", it->name, r->owner, r->name,
                     rs->repo_commit ? "names another commit than the one listed" : "does not say which commit it serves");
        goto done;
    }
    const char *et = rs->linked_etag && *rs->linked_etag ? rs->linked_etag : rs->etag, *bad = NULL;
    if (!et || !*et || (bad = norm_etag(et, it->etag))) {
        if (bad)
            hd_set_error(HD_EMODEL, "file '%s' of %s/%s: the %s from the server cannot name its blob in the cache: %s",
                         it->name, r->owner, r->name, et == rs->etag ? "ETag" : "X-Linked-Etag", bad);
        else
            hd_set_error(HD_EMODEL, "file '%s' of %s/%s: no ETag from the server", it->name, r->owner, r->name);
        goto done;
    }
    int64_t size = rs->linked_etag ? rs->linked_size : rs->content_length;
    if (rs->linked_etag && size == -1) size = rs->content_length;
    if (size < 0) {
        hd_set_error(HD_EMODEL, "file '%s' of %s/%s: the server announces no size", it->name, r->owner, r->name);
        goto done;
    }
    it->size = (uint64_t)size;
    it->sha256 = is_sha256(it->etag);
    if (rs->status >= 300) {
        char *next = resolve_url(final, rs->location);
        it->url = next ? strdup(next) : NULL;
        curl_free(next);
        if (!it->url) { hd_set_error(HD_EMODEL, "file '%s': a malformed redirect", it->name); goto done; }
    } else {
        it->url = final;
        final = NULL;
    }
    ret = 0;
done:
    free(url);
    free(final);
    return ret;
}

static int enough_space(const char *dir, uint64_t need, const char *file)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) == 0) {
        uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
        if (avail < need) {
            char a[32], b[32];
            hd_set_error(HD_EMODEL, "not enough free space in %s for '%s': %s needed, %s available", dir, file,
                         hd_fmt_bytes((double)need, a, sizeof a), hd_fmt_bytes((double)avail, b, sizeof b));
            return -1;
        }
    }
    return 0;
}

/* blobs/<etag>, downloaded (or resumed) and verified; the lock file keeps two pulls from writing it at once */
static int fetch_blob(hub_conn *hc, const hd_hub_ref *r, const char *repo, const char *lockdir, item *it, int force)
{
    char *blob = hd_sprintf("%s/blobs/%s", repo, it->etag), *part = hd_sprintf("%s/blobs/%s.incomplete", repo, it->etag);
    char *lockp = hd_sprintf("%s/%s.lock", lockdir, it->etag), *final = NULL;
    int ret = -1, lfd = -1, fd = -1;
    if (!blob || !part || !lockp) goto done;
    if ((lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock(lfd, LOCK_EX) < 0) {
        hd_set_error(HD_EMODEL, "cannot lock %s: %s", lockp, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (!force && stat(blob, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == it->size) {
        it->cached = 1;
        ret = 0;
        goto done;
    }
    if ((fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : 0), 0644)) < 0 || fstat(fd, &sb) < 0) {
        hd_set_error(HD_EMODEL, "cannot write %s: %s", part, strerror(errno));
        goto done;
    }
    blob_sink s = {.fd = fd, .have = (uint64_t)sb.st_size, .expect = it->size};
    if (s.have > it->size) {
        if (ftruncate(fd, 0) < 0) { hd_set_error(HD_EMODEL, "cannot truncate %s: %s", part, strerror(errno)); goto done; }
        s.have = 0;
    }
    if (lseek(fd, (off_t)s.have, SEEK_SET) < 0) { hd_set_error(HD_EMODEL, "cannot seek in %s: %s", part, strerror(errno)); goto done; }
    if (s.have) it->cached = 2;
    if (enough_space(repo, it->size - s.have, it->name)) goto done;
    int tries = 0;
    char what[1200];
    snprintf(what, sizeof what, "downloading '%s' of %s/%s", it->name, r->owner, r->name);
    for (int attempt = 0; s.have < it->size; attempt++) {
        s.from = (int64_t)s.have, s.started = 0;
        hc->body = to_blob, hc->body_ud = &s;
        hc->file = it->name, hc->prog_base = s.have, hc->prog_total = it->size;
        free(final);
        final = NULL;
        int rc = fetch(hc, it->url, 0, 2, s.from, &final);
        hc->body = NULL, hc->file = NULL;
        if (rc < 0 && s.spoilt) {
            char why[900];
            snprintf(why, sizeof why, "%s", hd_error());
            unlink(part);
            hd_set_error(HD_EMODEL, "downloading '%s' of %s/%s: %s (the download was removed)", it->name, r->owner, r->name, why);
            goto done;
        }
        if (rc < 0 && s.write_errno) {
            hd_set_error(HD_EMODEL, "downloading '%s' of %s/%s: cannot write %s: %s (%llu of %llu bytes kept; run the "
                         "command again to resume)", it->name, r->owner, r->name, part, strerror(s.write_errno),
                         (unsigned long long)s.have, (unsigned long long)it->size);
            goto done;
        }
        if (rc < 0 && retry(hc, rc, &tries, what)) continue;   /* resumed from s.have */
        if (rc < 0) {
            char why[900];
            snprintf(why, sizeof why, "%s", hd_error());
            hd_set_error(HD_EMODEL, "downloading '%s' of %s/%s: %s (%llu of %llu bytes kept in %s; run the command again to resume)",
                         it->name, r->owner, r->name, why, (unsigned long long)s.have, (unsigned long long)it->size, part);
            goto done;
        }
        if (hc->rs.status == 416 && s.from > 0 && attempt == 0) {   /* the server will not resume: start over */
            if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) { hd_set_error(HD_EMODEL, "cannot truncate %s", part); goto done; }
            s.have = 0;
            continue;
        }
        if (hc->rs.status != 200 && hc->rs.status != 206) {
            if (retry(hc, rc, &tries, what)) continue;
            http_error(hc, r, it->name, final);
            goto done;
        }
        if (s.have < it->size) {
            hc->transient = 1;   /* a body shorter than announced: resumed like a cut transfer */
            hd_set_error(HD_EMODEL, "the body ended after %llu of %llu bytes", (unsigned long long)s.have,
                         (unsigned long long)it->size);
            if (retry(hc, -1, &tries, what)) continue;
            hd_set_error(HD_EMODEL, "downloading '%s' of %s/%s: the body ended after %llu of %llu bytes (kept in %s; run "
                         "the command again to resume)", it->name, r->owner, r->name, (unsigned long long)s.have,
                         (unsigned long long)it->size, part);
            goto done;
        }
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        hd_set_error(HD_EMODEL, "cannot write %s: %s", part, strerror(errno));
        goto done;
    }
    fd = -1;
    if (it->sha256) {
        char hex[65];
        if (sha256_file(part, hex)) goto done;
        if (strcasecmp(hex, it->etag)) {
            unlink(part);   /* a retry must not resume a corrupt file */
            hd_set_error(HD_EMODEL, "checksum mismatch for '%s' of %s/%s: sha256 %s, the server announced %s (the download "
                         "was removed)", it->name, r->owner, r->name, hex, it->etag);
            goto done;
        }
    }
    if (rename(part, blob) < 0) {
        hd_set_error(HD_EMODEL, "cannot rename %s to %s: %s", part, blob, strerror(errno));
        goto done;
    }
    ret = 0;
done:
    if (fd >= 0) close(fd);
    if (lfd >= 0) close(lfd);   /* releases the lock */
    free(final);
    free(blob);
    free(part);
    free(lockp);
    return ret;
}

/* snapshots/<commit>/<name> → ../../blobs/<etag> (one more ../ per folder of the name), replaced atomically */
static int link_snapshot(const char *repo, const char *commit, const item *it)
{
    char *path = hd_sprintf("%s/snapshots/%s/%s", repo, commit, it->name);
    if (!path) return -1;
    size_t depth = 2;
    for (const char *s = it->name; *s; s++) depth += *s == '/';
    char *target = malloc(depth * 3 + strlen(it->etag) + 8);
    if (!target) { free(path); hd_set_error(HD_EMODEL, "out of memory"); return -1; }
    target[0] = 0;
    for (size_t i = 0; i < depth; i++) strcat(target, "../");
    strcat(target, "blobs/");
    strcat(target, it->etag);
    int ret = -1;
    char *dir = strdup(path), *tmp = hd_sprintf("%s.tmp%ld", path, (long)getpid());
    if (!dir || !tmp) goto done;
    *strrchr(dir, '/') = 0;
    if (mkdir_p(dir)) goto done;
    char cur[PATH_MAX];
    ssize_t n = readlink(path, cur, sizeof cur - 1);
    if (n >= 0 && (cur[n] = 0, !strcmp(cur, target))) { ret = 0; goto done; }
    unlink(tmp);
    if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
        hd_set_error(HD_EMODEL, "cannot link %s: %s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    ret = 0;
done:
    free(path), free(target), free(dir), free(tmp);
    return ret;
}

static int write_ref(const char *repo, const char *revision, const char *commit)
{
    char *path = hd_sprintf("%s/refs/%s", repo, revision), *dir = path ? strdup(path) : NULL, *tmp = NULL;
    int ret = -1;
    if (!path || !dir) goto done;
    *strrchr(dir, '/') = 0;
    if (mkdir_p(dir) || !(tmp = hd_out_tmpname(path))) goto done;
    FILE *fp = fopen(tmp, "w");
    int bad = !fp || fputs(commit, fp) < 0;
    if ((fp && fclose(fp) != 0) || bad) {
        hd_set_error(HD_EMODEL, "cannot write %s: %s", path, strerror(errno));
        goto done;
    }
    ret = hd_out_commit(tmp, path);
    tmp = NULL;
done:
    hd_out_discard(tmp);
    free(path), free(dir);
    return ret;
}

/* A token cleaned as huggingface_hub cleans one: every CR and LF removed, then the blanks at both ends; NULL
 * (t freed) when nothing is left. */
static char *clean_token(char *t)
{
    if (!t) return NULL;
    size_t n = 0;
    for (char *c = t; *c; c++)
        if (*c != '\r' && *c != '\n') t[n++] = *c;
    t[n] = 0;
    char *s = t;
    while (isspace((unsigned char)*s)) s++;
    n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    memmove(t, s, n);
    t[n] = 0;
    if (!n) {
        free(t);
        return NULL;
    }
    return t;
}

/* The token, as huggingface_hub finds it: $HF_TOKEN, or when that is unset or empty the older
 * $HUGGING_FACE_HUB_TOKEN, cleaned (clean_token); when that leaves nothing (unset, or only blanks and
 * line breaks), the file huggingface_hub writes ($HF_TOKEN_PATH, else $HF_HOME/token), cleaned alike. */
static int read_token(char **out)
{
    *out = NULL;
    const char *env = getenv("HF_TOKEN");
    if (!env || !*env) env = getenv("HUGGING_FACE_HUB_TOKEN");
    char *t = clean_token(env && *env ? strdup(env) : NULL);
    if (!t) {
        char *path = env_path("HF_TOKEN_PATH");
        if (!path) {
            char *h = hf_home();
            path = h ? hd_sprintf("%s/token", h) : NULL;
            free(h);
        }
        if (path) t = clean_token(read_small(path, 4096));
        free(path);
    }
    if (!t) return 0;
    size_t n = strlen(t);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e) {
            explicit_bzero(t, n);
            free(t);
            hd_set_error(HD_EINPUT, "the Hugging Face token (HF_TOKEN or the token file) has a character a token cannot have");
            return -1;
        }
    *out = t;
    return 0;
}

/* Does the --include pattern match the file name?  fnmatch(3) without flags ('*' matches '/' too), a pattern
 * ending with '/' standing for everything under that folder, as huggingface_hub's allow_patterns do. */
static int include_match(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (!n || pat[n - 1] != '/') return !fnmatch(pat, name, 0);
    char *dir = hd_sprintf("%s*", pat);
    int m = dir && !fnmatch(dir, name, 0);
    free(dir);
    return m;
}

static int wanted(const char *name, int has_st, const hd_hub_pull_opts *o)
{
    if (hd_hub_is_config_file(name)) return 1;
    if (has_st ? (is_safetensors_file(name) || !strcmp(name, "model.safetensors.index.json")) : hd_hub_is_checkpoint_file(name))
        return 1;
    for (int i = 0; o && i < o->n_include; i++)
        if (include_match(o->include[i], name)) return 1;
    return 0;
}

int hd_hub_offline(const char **var)
{
    const char *n = "HF_HUB_OFFLINE", *v = getenv(n);
    if (!v || !*v) n = "TRANSFORMERS_OFFLINE", v = getenv(n);   /* read when the first is unset, as huggingface_hub does */
    if (var) *var = n;
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

typedef struct {
    const hd_hub_ref *r;
    const char *snap;
    const hd_hub_pull_opts *o;
    int *matched;         /* per --include pattern: files of the snapshot it matches */
} walk_ctx;

/* every file of the snapshot, reported as found in the cache; a link whose blob is gone is an error */
static int walk_snapshot(walk_ctx *w, const char *rel, int depth)
{
    char *dir = *rel ? hd_sprintf("%s/%s", w->snap, rel) : strdup(w->snap);
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        if (dir) hd_set_error(HD_EMODEL, "cannot read %s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    int ret = 0;
    struct dirent *e;
    while (!ret && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *name = *rel ? hd_sprintf("%s/%s", rel, e->d_name) : strdup(e->d_name), *path = name ? hd_sprintf("%s/%s", w->snap, name) : NULL;
        struct stat sb;
        if (!path) ret = -1;
        else if (snapshot_missing_blob(w->snap, w->r, name)) ret = -1;
        else if (stat(path, &sb) < 0) ret = (hd_set_error(HD_EMODEL, "cannot read %s: %s", path, strerror(errno)), -1);
        else if (S_ISDIR(sb.st_mode)) ret = depth < 32 ? walk_snapshot(w, name, depth + 1) : 0;
        else if (S_ISREG(sb.st_mode)) {
            for (int i = 0; w->o && i < w->o->n_include; i++) w->matched[i] += include_match(w->o->include[i], name);
            if (w->o && w->o->file_done) w->o->file_done(w->o->ud, name, (uint64_t)sb.st_size, 1);
        }
        free(name);
        free(path);
    }
    closedir(d);
    free(dir);
    return ret;
}

/* The snapshot of r as the cache holds it, without the network (HF_HUB_OFFLINE, or a Hub that cannot be
 * reached): it must open as a model (hd_hub_snapshot_model) and every link in it must reach its blob.  `todo` ends
 * the message when it is not there.  Which files the revision has cannot be known offline: the folder is taken as
 * it is, and an --include pattern that matches none of its files is a warning. */
static char *pull_from_cache(const hd_hub_ref *r, const hd_hub_pull_opts *o, char commit[41], const char *todo)
{
    char *snap = find_snapshot(r, todo), *loc = snap ? hd_hub_snapshot_model(snap, r) : NULL;
    int *matched = o && o->n_include ? calloc((size_t)o->n_include, sizeof *matched) : NULL;
    walk_ctx w = {r, snap, o, matched};
    if (!loc || (o && o->n_include && !matched) || walk_snapshot(&w, "", 0)) {
        if (loc && o && o->n_include && !matched) hd_set_error(HD_EMODEL, "out of memory");
        free(snap), free(loc), free(matched);
        return NULL;
    }
    for (int i = 0; o && i < o->n_include; i++)
        if (!matched[i])
            hd_log(HD_LOG_WARN, "no file of the cached snapshot %s matches --include '%s' (not downloaded: the Hub is not used)",
                   snap, o->include[i]);
    snprintf(commit, 41, "%s", strrchr(snap, '/') + 1);
    free(loc), free(matched);
    return snap;
}

char *hd_hub_pull(const hd_hub_ref *r, const hd_hub_pull_opts *o, char commit[41])
{
    hub_conn hc = {0};
    char *repo = NULL, *lockdir = NULL, *listurl = NULL, *final = NULL, *snap = NULL, *esc = NULL;
    membuf list = {0};
    json_t *root = NULL;
    item *items = NULL;
    size_t n_items = 0;
    const char *ep = endpoint_raw();

    const char *offvar;
    if (hd_hub_offline(&offvar)) {   /* the cached snapshot, as huggingface_hub gives it offline */
        if (o && o->force) {
            hd_set_error(HD_EINPUT, "--force downloads again, but %s is set: the network is not used", offvar);
            return NULL;
        }
        char todo[200];
        snprintf(todo, sizeof todo, "%s is set, so it cannot be downloaded (unset it to download)", offvar);
        return pull_from_cache(r, o, commit, todo);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) { hd_set_error(HD_EMODEL, "libcurl cannot start"); return NULL; }
    hc.o = o;
    if (!(hc.base = strdup(ep)) || origin_of(hc.base, &hc.ep) ||
        (strcasecmp(hc.ep.scheme, "https") && strcasecmp(hc.ep.scheme, "http"))) {
        hd_set_error(HD_EINPUT, "HF_ENDPOINT '%s' is not an http:// or https:// URL", hd_hub_endpoint());
        goto fail;
    }
    hc.protocols = strcasecmp(hc.ep.scheme, "https") ? "http,https" : "https";   /* http only when named explicitly */
    hc.timeout = 60;
    const char *to = getenv("HF_HUB_DOWNLOAD_TIMEOUT");   /* huggingface_hub's name; seconds without data */
    if (to && *to) {
        char *end;
        double v = strtod(to, &end);
        if (end == to || *end || !(v > 0) || v > 86400) {
            hd_set_error(HD_EINPUT, "HF_HUB_DOWNLOAD_TIMEOUT '%s' is not a number of seconds (1 to 86400)", to);
            goto fail;
        }
        hc.timeout = v < 1 ? 1 : (long)(v + 0.5);
    }
    if (read_token(&hc.token) < 0) goto fail;
    if (!(hc.c = curl_easy_init())) { hd_set_error(HD_EMODEL, "libcurl cannot start"); goto fail; }
    if (!(repo = hd_hub_repo_dir(r))) goto fail;
    char *cache = hd_hub_cache_dir();
    lockdir = cache ? hd_sprintf("%s/.locks/models--%s--%s", cache, r->owner, r->name) : NULL;
    free(cache);
    if (!lockdir) goto fail;

    /* 1. the files of the repository at the revision, and its commit */
    esc = curl_easy_escape(hc.c, r->revision, 0);
    if (!esc || !(listurl = hd_sprintf("%s/api/models/%s/%s/revision/%s", hc.base, r->owner, r->name, esc))) goto fail;
    int rc, tries = 0;
    char what[300];
    snprintf(what, sizeof what, "%s/%s at revision '%s'", r->owner, r->name, r->revision);
    do {
        free(final), final = NULL;
        list.n = 0;
        hc.body = to_membuf, hc.body_ud = &list;
        rc = fetch(&hc, listurl, 0, 2, 0, &final);
        hc.body = NULL;
    } while ((rc < 0 || hc.rs.status != 200) && retry(&hc, rc, &tries, what));
    if (rc >= 0 && hc.rs.status != 200) http_error(&hc, r, NULL, final);
    if ((rc < 0 || hc.rs.status != 200) && unreachable(&hc, rc) && !(o && o->force)) {
        /* the Hub cannot be reached or is down: the cached snapshot of the revision, as huggingface_hub gives */
        char why[1024];
        snprintf(why, sizeof why, "%s", hd_error());
        if ((snap = pull_from_cache(r, o, commit, ""))) {
            hd_log(HD_LOG_WARN, "%s: %s; using the cached snapshot %s (commit %s), which may not be the revision's latest",
                   what, why, snap, commit);
            goto fail;
        }
        hd_set_error(HD_EMODEL, "%s", why);
    }
    if (rc < 0 || hc.rs.status != 200) goto fail;
    json_error_t je;
    root = list.data ? json_loadb(list.data, list.n, JSON_REJECT_DUPLICATES, &je) : NULL;
    const char *sha = json_string_value(json_object_get(root, "sha"));
    json_t *sib = json_object_get(root, "siblings");
    if (!root || !sha || !json_is_array(sib)) {
        hd_set_error(HD_EMODEL, "%s/%s: the repository listing from %s is not what the Hub sends (%s)", r->owner, r->name,
                     hd_hub_endpoint(), !root ? "not JSON" : !sha ? "no commit 'sha'" : "no 'siblings' list");
        goto fail;
    }
    if (!hd_hub_is_commit(sha)) {
        hd_set_error(HD_EMODEL, "%s/%s: the server names commit '%.60s', not 40 hexadecimal digits", r->owner, r->name, sha);
        goto fail;
    }
    memcpy(commit, sha, 41);

    /* 2. what to fetch */
    size_t ns = json_array_size(sib);
    int has_st = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *f = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
        if (f && is_safetensors_file(f)) has_st = 1;
    }
    if (!(items = calloc(ns ? ns : 1, sizeof *items))) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
    int has_weights = 0, n_extra = 0;   /* weights -m hf: opens; files only an --include pattern asked for */
    char listed[400] = "";               /* the first names, for the message when there are no weights */
    for (size_t i = 0; i < ns; i++) {   /* every name is checked: a listing with a crafted one is refused whole */
        json_t *f = json_object_get(json_array_get(sib, i), "rfilename");
        const char *name = json_string_value(f);
        if (!name || strlen(name) != json_string_length(f) || hd_hub_check_filename(name)) {
            char why[600];
            snprintf(why, sizeof why, "%s", name ? hd_error() : "an entry without a file name");
            hd_set_error(HD_EMODEL, "%s/%s: the server lists a file that cannot be written safely: %s", r->owner, r->name, why);
            goto fail;
        }
        int w = has_st ? is_safetensors_file(name) || !strcmp(name, "model.safetensors.index.json") : hd_hub_is_checkpoint_file(name);
        has_weights |= w;
        size_t k = strlen(listed);
        if (i <= 12) snprintf(listed + k, sizeof listed - k, "%s%s", k ? ", " : "", i < 12 ? name : "...");
        if (!wanted(name, has_st, o)) continue;
        n_extra += !w && !hd_hub_is_config_file(name);
        if (!(items[n_items].name = strdup(name))) { hd_set_error(HD_EMODEL, "out of memory"); goto fail; }
        n_items++;
    }
    if (!has_weights && !n_extra) {
        /* nothing -m hf: could open (a tokenizer-only or TensorFlow/Flax/GGUF repository, weights in a folder):
         * refused before anything is downloaded, rather than a snapshot that -m hf: then calls incomplete */
        hd_set_error(HD_EMODEL, "%s/%s has no weights hyenadna reads at revision '%s' (top-level *.safetensors, or a "
                     "PyTorch checkpoint *.bin, *.pt, *.pth, *.ckpt); it lists: %s; --include GLOB fetches files anyway",
                     r->owner, r->name, r->revision, *listed ? listed : "no files");
        goto fail;
    }
    if (!has_weights)
        hd_log(HD_LOG_WARN, "%s/%s has no weights hyenadna reads at revision '%s' (top-level *.safetensors, or a PyTorch "
               "checkpoint): the files --include asked for are fetched, but -m hf:%s/%s will not open the snapshot "
               "(give a file of it with -m PATH)", r->owner, r->name, r->revision, r->owner, r->name);

    /* 3. where each file is, 4. the blobs; nothing in snapshots/ until every file is complete */
    for (size_t i = 0; i < n_items; i++)
        if (resolve_item(&hc, r, commit, &items[i])) goto fail;
    char *blobs = hd_sprintf("%s/blobs", repo);
    rc = blobs ? mkdir_p(blobs) : -1;
    free(blobs);
    if (rc || mkdir_p(lockdir)) goto fail;
    for (size_t i = 0; i < n_items; i++) {
        if (fetch_blob(&hc, r, repo, lockdir, &items[i], o && o->force)) goto fail;
        if (o && o->file_done) o->file_done(o->ud, items[i].name, items[i].size, items[i].cached);
    }

    /* 5. the snapshot links, then the ref */
    for (size_t i = 0; i < n_items; i++)
        if (link_snapshot(repo, commit, &items[i])) goto fail;
    if (strcmp(r->revision, commit) && write_ref(repo, r->revision, commit)) goto fail;
    snap = hd_sprintf("%s/snapshots/%s", repo, commit);
fail:
    for (size_t i = 0; i < n_items; i++) free(items[i].name), free(items[i].url);
    free(items);
    json_decref(root);
    free(list.data);
    free(final);
    free(listurl);
    curl_free(esc);
    free(lockdir);
    free(repo);
    resp_clear(&hc.rs);
    if (hc.c) curl_easy_cleanup(hc.c);
    if (hc.token) { explicit_bzero(hc.token, strlen(hc.token)); free(hc.token); }
    origin_free(&hc.ep);
    free(hc.base);
    return snap;
}
