process HYENADNA_BENCH {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(model)    // model directory or .safetensors file
    val lengths                     // e.g. '1k,32k' (man hyenadna-bench)

    output:
    tuple val(meta), path("*.bench.json"), emit: json
    path "versions.yml"                  , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''           // e.g. '-r 5' or '--device cuda'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    hyenadna bench \\
        --model ${model} \\
        --lengths ${lengths} \\
        --threads ${task.cpus} \\
        --json \\
        ${args} \\
        --output ${prefix}.bench.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.bench.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
