process HYENADNA_INFO {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(model)    // model directory or .safetensors file

    output:
    tuple val(meta), path("*.info.tsv"), emit: info
    path "versions.yml"                , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''           // e.g. '--tensors'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    hyenadna info \\
        --model ${model} \\
        ${args} \\
        > ${prefix}.info.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.info.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
