process HYENADNA_TRACK {
    tag "$meta.id"
    label 'process_high'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), val(regions), val(shard)   // regions: "CHR[:BEG-END][,...]" or '' (every contig); shard: "I/N" or ''
    tuple val(meta2), path(fasta), path(fai)    // reference FASTA and its .fai
    path model                                  // model directory or .safetensors file

    output:
    tuple val(meta), path("*.bw")                , emit: bigwig, optional: true
    tuple val(meta), path("*.bedgraph.gz")       , emit: bedgraph, optional: true
    tuple val(meta), path("*.snv.tsv.gz")        , emit: snv, optional: true
    tuple val(meta), path("*.tbi")               , emit: tbi, optional: true
    path "versions.yml"                          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''              // e.g. '--what all --rc', '--output-type bedgraph'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def reg     = regions ? "--region ${regions}" : ''
    def sh      = shard ? "--shard ${shard}" : ''
    def device  = task.accelerator ? '--device cuda' : ''
    """
    hyenadna track \\
        --model ${model} \\
        --fasta-ref ${fasta} \\
        --threads ${task.cpus} \\
        ${device} \\
        ${reg} \\
        ${sh} \\
        ${args} \\
        --output ${prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.logp.bw ${prefix}.entropy.bw

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
