/* fuzz_yaml.c -- libFuzzer target: the YAML config reader (src/yamlcfg.c, vortex configs for Evo 2). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "yamlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = hd_yaml_load_buffer((const char *)data, size, "fuzz.yml");
    if (j) {
        char *s = json_dumps(j, JSON_COMPACT);
        free(s);
        json_decref(j);
    }
    return 0;
}
