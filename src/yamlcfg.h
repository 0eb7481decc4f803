/* yamlcfg.h -- YAML model configs (vortex's flat YAML for Evo 2, docs/models.md §6.1) read into the JSON
 * values the rest of the library queries (hd_cfg_* in model.h).
 *
 * Parsed with libyaml.  Plain scalars are resolved as PyYAML's safe loader does for the values these files
 * use: null (~, null), booleans (true/True/TRUE/false/..., yes/no, on/off), integers (decimal, 0x hex),
 * floats (anything else strtod reads whole, .inf, .nan); quoted scalars stay strings.  Mappings become
 * objects (a repeated key is an error), sequences arrays.  Anchors, aliases and tags are refused. */
#ifndef HD_YAMLCFG_H
#define HD_YAMLCFG_H

#include <stddef.h>

struct json_t;

/* The first document of a YAML file as a JSON value: NULL with hd_error (HD_EMODEL) naming the file and
 * line on failure.  The document must be a mapping. */
struct json_t *hd_yaml_load_file(const char *path);
/* The same from a buffer; `name` is used in messages. */
struct json_t *hd_yaml_load_buffer(const char *buf, size_t n, const char *name);

/* Does the file name end in .yml or .yaml? */
int hd_is_yaml_name(const char *path);

#endif
