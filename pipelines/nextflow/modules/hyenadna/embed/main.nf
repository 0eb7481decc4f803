process HYENADNA_EMBED {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(seq), path(regions), val(shard)   // regions: BED or [] ; shard: "I/N" or ''
    path model                                               // model directory or .safetensors file

    output:
    tuple val(meta), path("*.{tsv,tsv.gz,bed,bed.gz,safetensors}"), emit: embeddings
    path "versions.yml"                                      , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def suffix  = task.ext.suffix ?: 'tsv.gz'
    def reg     = regions ? "--regions-file ${regions}" : ''
    def sh      = shard ? "--shard ${shard}" : ''
    def device  = task.accelerator ? '--device cuda' : ''
    """
    hyenadna embed \\
        --model ${model} \\
        --threads ${task.cpus} \\
        ${device} \\
        ${reg} \\
        ${sh} \\
        ${args} \\
        --output ${prefix}.${suffix} \\
        ${seq}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def suffix  = task.ext.suffix ?: 'tsv.gz'
    """
    touch ${prefix}.${suffix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
