#!/bin/bash
# bioconda build script: the CPU build of hyenadna (no CUDA), against conda's htslib, FFTW, OpenBLAS,
# jansson, libBigWig and zlib.
set -euxo pipefail

export CPPFLAGS="${CPPFLAGS:-} -I${PREFIX}/include"
export LDFLAGS="${LDFLAGS:-} -L${PREFIX}/lib -Wl,-rpath,${PREFIX}/lib"
export PKG_CONFIG_PATH="${PREFIX}/lib/pkgconfig:${PKG_CONFIG_PATH:-}"

# a release tarball ships configure; a git checkout needs autoreconf
[ -x configure ] || autoreconf -fi
./configure --prefix="${PREFIX}" --without-cuda
make -j"${CPU_COUNT:-2}"
make install
