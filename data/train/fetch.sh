#!/bin/sh
# Fetch the raw real-DNA files of the training corpus and the evaluation genomes
# from Debian bookworm packages with `apt-get download` (nothing is installed).
# Usage: data/train/fetch.sh RAWDIR
set -eu
RAW=${1:-data/train/work/raw}
mkdir -p "$RAW"
RAW=$(cd "$RAW" && pwd)
DEBS="$RAW/debs"
mkdir -p "$DEBS"
# get PKG PATH-IN-PKG : extract one file from PKG's .deb (downloaded once, cached in $DEBS)
get() {
    out="$RAW/$(basename "$2")"
    [ -s "$out" ] && return 0
    if ! ls "$DEBS/$1"_*.deb >/dev/null 2>&1; then
        (cd "$DEBS" && apt-get download -q "$1" >/dev/null 2>&1) || {
            echo "fetch.sh: apt-get download $1 failed (run 'apt-get update' once?)" >&2; exit 1; }
    fi
    dpkg-deb --fsys-tarfile "$DEBS/$1"_*.deb | tar -xO ".$2" > "$out.tmp" && mv "$out.tmp" "$out"
}
# training corpus (DATA.md section 6(a))
get smalt-examples     /usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz
get smalt-examples     /usr/share/doc/smalt/test/data/genome_1.fa.gz
get r-bioc-bsgenome    /usr/lib/R/site-library/BSgenome/extdata/ce2chrX.fa.gz
get gbrowse-data       /var/lib/gbrowse/databases/yeast_scaffolds/chr1.fa
get gbrowse-data       /var/lib/gbrowse/databases/yeast_scaffolds/chr2.fa
get ragout-examples    /usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz
get ragout-examples    /usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz
get ragout-examples    /usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz
get ragout-examples    /usr/share/doc/ragout/examples/V.Cholerae/references/O395.fasta.gz
get kleborate-examples /usr/share/doc/kleborate/examples/data/MGH78578.fna.xz
if [ ! -s "$RAW/GCF_000195955.2_ASM19595v2_genomic.fna" ] || [ ! -s "$RAW/GCF_000195855.1_ASM19585v1_genomic.fna" ]; then
    get kmer-examples  /usr/share/doc/kmer-examples/test_data.tar.gz
    (cd "$RAW" && tar xzf test_data.tar.gz GCF_000195955.2_ASM19595v2_genomic.fna GCF_000195855.1_ASM19585v1_genomic.fna &&
        rm -f test_data.tar.gz)
fi
get bowtie2-examples   /usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz
get minimap2           /usr/share/doc/minimap2/test/MT-human.fa.gz
# evaluation genomes NOT in the corpus: human chr20 (GRCh37), E. coli 536, K. pneumoniae HS11286
get vt-examples        /usr/share/doc/vt/examples/ref/20.fa.gz
get bowtie-examples    /usr/share/doc/bowtie/examples/genomes/NC_008253.fna.gz
get kleborate-examples /usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz
get r-cran-seqinr      /usr/lib/R/site-library/seqinr/sequences/ct.fasta.gz
# (M. leprae TN, GCF_000195855.1, comes out of the kmer-examples tarball above)
# example data (data/): chr22 window, its VCF, annotated E. coli GenBank
get hisat2             /usr/share/doc/hisat2/examples/reference/22_20-21M.fa
get drop-seq-testdata  /usr/share/doc/drop-seq/examples/org/broadinstitute/dropseq/censusseq/10_donors_chr22.selected_sites.vcf.gz
get cct-examples       /usr/share/doc/cct/examples/sample_projects/sample_project_3/comparison_genomes/NC_000913.gbk.gz
echo "fetch.sh: raw files in $RAW"
