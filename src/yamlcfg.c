/* yamlcfg.c -- YAML configs as JSON values (see yamlcfg.h), on libyaml's event parser. */
#include "yamlcfg.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_BYTES ((size_t)16 << 20)   /* configs are a few kB */

int hd_is_yaml_name(const char *path)
{
    size_t n = strlen(path);
    return (n >= 4 && !strcmp(path + n - 4, ".yml")) || (n >= 5 && !strcmp(path + n - 5, ".yaml"));
}

static int word_in(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i])) return 1;
    return 0;
}

/* A plain scalar resolved to null, bool, int, float or string (YAML 1.1 core types, as PyYAML). */
static json_t *resolve_plain(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL};
    if (word_in(s, nulls)) return json_null();
    if (word_in(s, trues)) return json_true();
    if (word_in(s, falses)) return json_false();
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (*p >= '0' && *p <= '9') {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 16 : 10);
        if (!*end && !errno) return json_integer((json_int_t)v);
    }
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF"))
        return json_real(*s == '-' ? -INFINITY : INFINITY);   /* jansson refuses non-finite reals: NULL */
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) return NULL;
    if ((*p >= '0' && *p <= '9') || *p == '.') {
        char *end;
        double d = strtod(s, &end);
        if (!*end && end != s && isfinite(d)) return json_real(d);
    }
    return json_string(s);
}

typedef struct {
    yaml_parser_t parser;
    const char *name;
    int failed;
} ystate;

static void set_parse_error(ystate *y)
{
    yaml_parser_t *p = &y->parser;
    hd_set_error(HD_EMODEL, "%s: invalid YAML at line %zu: %s", y->name, p->problem_mark.line + 1,
                 p->problem ? p->problem : "parse error");
    y->failed = 1;
}

static json_t *parse_node(ystate *y, yaml_event_t *ev, int depth);

static int next_event(ystate *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev)) { set_parse_error(y); return -1; }
    return 0;
}

static json_t *node_error(ystate *y, const yaml_event_t *ev, const char *what)
{
    hd_set_error(HD_EMODEL, "%s: line %zu: %s", y->name, ev->start_mark.line + 1, what);
    y->failed = 1;
    return NULL;
}

/* the JSON type of a YAML core tag (!!int, !!float, !!bool: JSON_TRUE, !!null), -1 for any other */
static int tag_type(const char *tag)
{
    static const struct { const char *tag; int type; } core[] = {
        {"tag:yaml.org,2002:int", JSON_INTEGER}, {"tag:yaml.org,2002:float", JSON_REAL},
        {"tag:yaml.org,2002:bool", JSON_TRUE}, {"tag:yaml.org,2002:null", JSON_NULL},
    };
    for (size_t i = 0; i < sizeof core / sizeof *core; i++)
        if (!strcmp(tag, core[i].tag)) return core[i].type;
    return -1;
}

static json_t *tag_error(ystate *y, const yaml_event_t *ev, const char *tag)
{
    hd_set_error(HD_EMODEL, "%s: line %zu: the YAML tag '%s' is not supported in a model config", y->name,
                 ev->start_mark.line + 1, tag);
    y->failed = 1;
    return NULL;
}

static json_t *parse_node(ystate *y, yaml_event_t *ev, int depth)
{
    if (depth > YAML_MAX_DEPTH) return node_error(y, ev, "nesting too deep");
    switch (ev->type) {
    case YAML_ALIAS_EVENT: return node_error(y, ev, "YAML aliases are not supported in a model config");
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev->data.scalar.value, *tag = (const char *)ev->data.scalar.tag;
        if (strlen(v) != ev->data.scalar.length) return node_error(y, ev, "a scalar holds a NUL byte");
        json_t *j;
        if (tag && !strcmp(tag, "tag:yaml.org,2002:str")) j = json_string(v);   /* !!str 32 is the text "32" */
        else if (tag && tag_type(tag) >= 0) {   /* !!int "32", !!float, !!bool, !!null: resolved, of that type */
            j = resolve_plain(v);
            int tt = tag_type(tag);
            if (j && !(tt == JSON_INTEGER ? json_is_integer(j) : tt == JSON_REAL ? json_is_number(j) :
                       tt == JSON_TRUE ? json_is_boolean(j) : json_is_null(j))) {
                json_decref(j);
                return node_error(y, ev, "a value that is not of the type its tag names");
            }
            if (j && tt == JSON_REAL && json_is_integer(j)) {
                json_t *r = json_real((double)json_integer_value(j));
                json_decref(j);
                j = r;
            }
        } else if (tag) return tag_error(y, ev, tag);
        else j = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? resolve_plain(v) : json_string(v);
        if (!j) return node_error(y, ev, "a value that is not a finite number or valid UTF-8 text");
        return j;
    }
    case YAML_SEQUENCE_START_EVENT: {
        const char *tag = (const char *)ev->data.sequence_start.tag;
        if (tag && strcmp(tag, "tag:yaml.org,2002:seq")) return tag_error(y, ev, tag);
        json_t *a = json_array();
        for (;;) {
            yaml_event_t e;
            if (next_event(y, &e)) { json_decref(a); return NULL; }
            if (e.type == YAML_SEQUENCE_END_EVENT) { yaml_event_delete(&e); return a; }
            json_t *v = parse_node(y, &e, depth + 1);
            yaml_event_delete(&e);
            if (!v) { json_decref(a); return NULL; }
            json_array_append_new(a, v);
        }
    }
    case YAML_MAPPING_START_EVENT: {
        const char *tag = (const char *)ev->data.mapping_start.tag;
        if (tag && strcmp(tag, "tag:yaml.org,2002:map")) return tag_error(y, ev, tag);
        json_t *o = json_object();
        for (;;) {
            yaml_event_t k;
            if (next_event(y, &k)) { json_decref(o); return NULL; }
            if (k.type == YAML_MAPPING_END_EVENT) { yaml_event_delete(&k); return o; }
            if (k.type != YAML_SCALAR_EVENT) {
                node_error(y, &k, "a mapping key that is not a plain value");
                yaml_event_delete(&k);
                json_decref(o);
                return NULL;
            }
            if (k.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp((const char *)k.data.scalar.value, "<<")) {
                /* PyYAML merges the mapping given (keys not set otherwise): not done here, so refused */
                node_error(y, &k, "YAML merge keys (<<) are not supported in a model config");
                yaml_event_delete(&k);
                json_decref(o);
                return NULL;
            }
            char *key = strdup((const char *)k.data.scalar.value);
            size_t line = k.start_mark.line + 1;
            yaml_event_delete(&k);
            yaml_event_t e;
            if (!key || next_event(y, &e)) { free(key); json_decref(o); return NULL; }
            json_t *v = parse_node(y, &e, depth + 1);
            yaml_event_delete(&e);
            if (!v) { free(key); json_decref(o); return NULL; }
            if (json_object_get(o, key)) {
                hd_set_error(HD_EMODEL, "%s: line %zu: key '%s' is given twice", y->name, line, key);
                y->failed = 1;
                free(key);
                json_decref(v);
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, v);
            free(key);
        }
    }
    default: return node_error(y, ev, "unexpected YAML event");
    }
}

json_t *hd_yaml_load_buffer(const char *buf, size_t n, const char *name)
{
    ystate y = {.name = name};
    if (!yaml_parser_initialize(&y.parser)) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)buf, n);
    json_t *root = NULL;
    yaml_event_t ev;
    /* stream start, document start, the root node */
    for (;;) {
        if (next_event(&y, &ev)) goto done;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) { yaml_event_delete(&ev); continue; }
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            hd_set_error(HD_EMODEL, "%s: the YAML file is empty", name);
            goto done;
        }
        root = parse_node(&y, &ev, 0);
        yaml_event_delete(&ev);
        break;
    }
    /* then the end of the document and of the stream: a second document is refused, as PyYAML's single-document
     * load does ('expected a single document in the stream'), not passed over */
    while (root) {
        if (next_event(&y, &ev)) { json_decref(root); root = NULL; break; }
        yaml_event_type_t t = ev.type;
        if (t == YAML_DOCUMENT_START_EVENT) {
            hd_set_error(HD_EMODEL, "%s: line %zu: a second YAML document (a model config is one)", name,
                         ev.start_mark.line + 1);
            json_decref(root);
            root = NULL;
        }
        yaml_event_delete(&ev);
        if (t != YAML_DOCUMENT_END_EVENT) break;
    }
    if (root && !json_is_object(root)) {
        hd_set_error(HD_EMODEL, "%s: the config is not a YAML mapping of keys to values", name);
        json_decref(root);
        root = NULL;
    }
done:
    yaml_parser_delete(&y.parser);
    return root;
}

json_t *hd_yaml_load_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) { hd_set_error(HD_EMODEL, "cannot open '%s': %s", path, strerror(errno)); return NULL; }
    char *buf = malloc(YAML_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, YAML_MAX_BYTES + 1, fp) : 0;
    int err = ferror(fp);
    fclose(fp);
    if (!buf) { hd_set_error(HD_EMODEL, "out of memory"); return NULL; }
    if (err) { free(buf); hd_set_error(HD_EMODEL, "cannot read '%s'", path); return NULL; }
    if (n > YAML_MAX_BYTES) {
        free(buf);
        hd_set_error(HD_EMODEL, "%s: larger than %zu MB: not a model config", path, YAML_MAX_BYTES >> 20);
        return NULL;
    }
    json_t *j = hd_yaml_load_buffer(buf, n, path);
    free(buf);
    return j;
}
