process HYENADNA_MODELS {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"

    input:
    val(meta)

    output:
    tuple val(meta), path("*.models.tsv"), emit: models
    path "versions.yml"                  , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''           // e.g. '--json'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    hyenadna models \\
        --output ${prefix}.models.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.models.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
