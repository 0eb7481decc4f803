#!/bin/sh
# cuda-archs.sh NVCCFLAGS -- the GPU code nvcc will build for these flags, as configure passes it to the
# code (HD_CUDA_ARCHS): "sm_XY" for each binary, "compute_XY" for each PTX, space-separated, in order,
# without repeats; nothing when the flags do not say (nvcc's own default, -arch=native or all).
#   -gencode arch=compute_80,code=sm_80        → sm_80
#   -gencode=arch=compute_90,code=[sm_90,compute_90] → sm_90 compute_90
#   -arch=sm_86                                → sm_86 compute_86 (nvcc's shorthand)
echo " $1 " | tr -d '[]' |
  sed 's/--generate-code/-gencode/g; s/--gpu-architecture/-arch/g; s/-gencode=/-gencode /g; s/-arch=/-arch /g' |
  awk '
    function add(a) { if (a ~ /^(sm|compute)_[0-9]+[a-z]?$/ && !(a in seen)) { seen[a] = 1; out = out (out == "" ? "" : " ") a } }
    {
      for (i = 1; i <= NF; i++) {
        if ($i == "-gencode" && i < NF) {
          v = $(++i)
          p = index(v, "code=")
          if (!p) continue
          n = split(substr(v, p + 5), c, ",")
          for (j = 1; j <= n; j++) add(c[j])
        } else if ($i == "-arch" && i < NF) {
          v = $(++i)
          if (v ~ /^sm_/) { add(v); add("compute_" substr(v, 4)) }
          else add(v)
        }
      }
      print out
    }'
