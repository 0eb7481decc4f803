#!/usr/bin/env nextflow
/*
 * Example pipeline: score the variants of a VCF with hyenadna score-variants in params.shards parallel
 * tasks (--shard I/N, contiguous blocks of records) and gather them exactly with bcftools concat -n;
 * embed the regions of a BED file in shards likewise and gather the TSV parts.
 *
 *   nextflow run pipelines/nextflow --vcf calls.vcf.gz --fasta ref.fa --bed regions.bed \
 *       --model hyenadna-small-32k-seqlen-hf --shards 16 -profile conda[,gpu]
 */
nextflow.enable.dsl = 2

include { HYENADNA_SCOREVARIANTS } from './modules/hyenadna/scorevariants/main'
include { HYENADNA_EMBED         } from './modules/hyenadna/embed/main'

// Gather the VCF shards in shard order: contiguous blocks, so the result is the single run's records.
process GATHER_VCF {
    tag "$meta.id"
    label 'process_single'
    publishDir params.outdir, mode: 'copy'

    input:
    tuple val(meta), path(parts)      // in shard order

    output:
    tuple val(meta), path("${meta.id}.scored.vcf.gz"), path("${meta.id}.scored.vcf.gz.tbi"), emit: vcf

    script:
    """
    bcftools concat -n -o ${meta.id}.scored.vcf.gz ${parts.join(' ')}
    bcftools index -t ${meta.id}.scored.vcf.gz
    """
}

// Gather TSV shards: the first whole, then the others without their header line.
process GATHER_TSV {
    tag "$meta.id"
    label 'process_single'
    publishDir params.outdir, mode: 'copy'

    input:
    tuple val(meta), path(parts)      // in shard order

    output:
    tuple val(meta), path("${meta.id}.embeddings.tsv"), emit: tsv

    script:
    """
    ( head -n 1 ${parts[0]}; for f in ${parts.join(' ')}; do tail -n +2 \$f; done ) > ${meta.id}.embeddings.tsv
    """
}

workflow {
    if (!params.vcf || !params.fasta || !params.model) error "give --vcf, --fasta and --model"
    def n     = params.shards as int
    def model = file(params.model, checkIfExists: true)
    def fasta = file(params.fasta, checkIfExists: true)
    def fai   = file("${params.fasta}.fai")
    def vcf   = file(params.vcf, checkIfExists: true)
    def id    = vcf.simpleName

    // scatter: one task per shard, the shard number in meta (ext.prefix names the part after it)
    shards = Channel.of(1..n).map { i -> tuple([id: id, shard: i, shards: n], vcf, "${i}/${n}") }
    HYENADNA_SCOREVARIANTS(shards, [[id: fasta.simpleName], fasta, fai.exists() ? fai : []], model)

    // gather in shard order
    HYENADNA_SCOREVARIANTS.out.vcf
        .toSortedList { a, b -> a[0].shard <=> b[0].shard }
        .map { parts -> tuple([id: id], parts.collect { it[1] }) }
        | GATHER_VCF

    if (params.bed) {
        def bed = file(params.bed, checkIfExists: true)
        eshards = Channel.of(1..n).map { i -> tuple([id: bed.simpleName, shard: i, shards: n], fasta, bed, "${i}/${n}") }
        HYENADNA_EMBED(eshards, model)
        HYENADNA_EMBED.out.embeddings
            .toSortedList { a, b -> a[0].shard <=> b[0].shard }
            .map { parts -> tuple([id: bed.simpleName], parts.collect { it[1] }) }
            | GATHER_TSV
    }
}
