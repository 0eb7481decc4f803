/* hub.h -- models from the Hugging Face Hub: huggingface_hub's cache, name checks, resolution from the
 * cache, and downloads over HTTPS (libcurl).
 *
 * The cache is huggingface_hub's own, so a model fetched by either tool is found by the other:
 *   root   $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
 *   models--OWNER--REPO/blobs/<etag>               file contents, named by their ETag (the sha256 of LFS files)
 *   models--OWNER--REPO/snapshots/<commit>/<file>  relative symbolic links to the blobs
 *   models--OWNER--REPO/refs/<revision>            the commit that a branch or tag named when it was fetched
 *
 * Resolving "OWNER/REPO[@REVISION]" reads the cache only; hd_hub_pull is the one function that uses the
 * network.  Nothing here prints: progress goes through callbacks.  Names from the command line and from the
 * server are checked before they reach the file system (no "..", absolute paths, NUL or stray separators). */
#ifndef HD_HUB_H
#define HD_HUB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *owner, *name;   /* OWNER/REPO */
    char *revision;       /* a branch, tag or commit; "main" when not given */
} hd_hub_ref;

/* "OWNER/REPO[@REVISION]" → r (checked); -1 with an HD_EINPUT error naming the fault. */
int hd_hub_parse(const char *spec, hd_hub_ref *r);
void hd_hub_ref_free(hd_hub_ref *r);

/* Name checks (0 valid, -1 with an HD_EINPUT error; `what` names the thing in the message):
 * an owner or repository name: 1-96 of [A-Za-z0-9._-], no "--" or "..", not starting or ending with '-' or '.';
 * a revision: 1-255 of [A-Za-z0-9._/-] in non-empty '/'-separated parts none of which is "." or "..";
 * a file name in a repository: '/'-separated parts, none empty, "." or "..", no backslash or control byte. */
int hd_hub_check_part(const char *what, const char *s);
int hd_hub_check_revision(const char *s);
int hd_hub_check_filename(const char *s);
int hd_hub_is_commit(const char *s);   /* 40 lower-case hex digits */

/* The cache root and a repository's folder in it (malloc'd; NULL + error when $HOME is unknown too). */
char *hd_hub_cache_dir(void);
char *hd_hub_repo_dir(const hd_hub_ref *r);

/* The cached snapshot folder of r (its revision through refs/, or a commit): malloc'd, or NULL with an
 * HD_EMODEL error that names the `hyenadna pull` command to run.  Never uses the network. */
char *hd_hub_snapshot(const hd_hub_ref *r);

/* What hd_model_open should open for a snapshot: the folder itself when it holds model.safetensors, else its
 * one weights file (a single .safetensors, else pytorch_model.bin, else a single .ckpt/.pt/.pth/.bin).
 * malloc'd, or NULL with an HD_EMODEL error -- also when a config or weights file of the snapshot is a link to a
 * blob that is gone (the message names it), rather than opening the model without it. */
char *hd_hub_snapshot_model(const char *snapshot, const hd_hub_ref *r);

/* "OWNER/REPO[@REVISION]" → the location to open, from the cache only (hd_hub_snapshot + hd_hub_snapshot_model). */
char *hd_hub_resolve(const char *spec);

/* Is this file one that `pull` fetches by default? config: config.json, model_config.json, tokenizer.json and
 * top-level YAML files; weights: *.safetensors (with its .index.json), or, in a repository without safetensors,
 * its PyTorch checkpoints (*.bin, *.ckpt, *.pt, *.pth; not optimizer or training state). */
int hd_hub_is_config_file(const char *name);
int hd_hub_is_checkpoint_file(const char *name);

typedef struct {
    const char *const *include;   /* extra glob patterns (fnmatch), n_include of them */
    int n_include;
    int force;                    /* download again even when the blob is cached */
    int retries;                  /* tries again after HTTP 429/500/502/503/504 or a cut or stalled transfer
                                   * (resumed where it stopped), after 1, 2, 4, 8, 8... s or the Retry-After asked */
    /* progress of the file being transferred: bytes present so far (a resumed file starts at its old size) and
     * the announced size */
    void (*progress)(void *ud, const char *file, uint64_t done, uint64_t total);
    /* a file is in the cache: cached = 1 when it was there already, 2 when it resumed an interrupted download */
    void (*file_done)(void *ud, const char *file, uint64_t size, int cached);
    void *ud;
} hd_hub_pull_opts;

/* Download the model files of r into the cache (see hd_hub_is_*_file, plus o->include):
 * list the repository at the revision (GET {endpoint}/api/models/OWNER/REPO/revision/REV), then per file
 * HEAD {endpoint}/OWNER/REPO/resolve/COMMIT/FILE for its ETag, size and, for LFS files, the storage URL;
 * GET into blobs/<etag>.incomplete, resuming with Range; the sha256 of LFS files checked against the ETag;
 * renamed into blobs/; only when every file is complete the snapshot links and refs/<revision> are written.
 * $HF_ENDPOINT (default https://huggingface.co) and the token ($HF_TOKEN, else the file $HF_TOKEN_PATH or
 * $HF_HOME/token), sent only to the endpoint's own scheme, host and port.  TLS certificates are verified.
 * A transfer that brings no data for $HF_HUB_DOWNLOAD_TIMEOUT seconds (default 60) fails (see o->retries).
 * Offline (hd_hub_offline), or when the listing cannot be had because the Hub is out of reach or answers 429/5xx
 * (a warning then), the revision's snapshot already in the cache is returned, as huggingface_hub does; o->force
 * rules that out.  Its files are reported through o->file_done as cached.
 * Returns the snapshot folder (malloc'd) and fills commit; NULL with an HD_EMODEL error (network, HTTP,
 * checksum, file system, not cached while offline) or HD_EINPUT (a bad name, from the user or the server;
 * o->force while offline). */
char *hd_hub_pull(const hd_hub_ref *r, const hd_hub_pull_opts *o, char commit[41]);

/* Is the network off limits ($HF_HUB_OFFLINE, else $TRANSFORMERS_OFFLINE: 1, true, yes or on)?  *var (may be NULL)
 * names the variable read.  hd_hub_pull then returns the cached snapshot instead of asking the Hub. */
int hd_hub_offline(const char **var);

/* The endpoint pull would use (for messages): $HF_ENDPOINT without trailing '/', or the public Hub. */
const char *hd_hub_endpoint(void);

#endif
