process HYENADNA_GENERATE {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(fasta)    // prompts: FASTA records (plain, gzip or bgzip)
    path model                      // a causal model: directory or .safetensors file

    output:
    tuple val(meta), path("*.fa.gz"), emit: fasta
    path "versions.yml"             , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''                  // e.g. '--num-bases 1000 --seed 42 --top-p 0.9'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    hyenadna generate \\
        --model ${model} \\
        --threads ${task.cpus} \\
        ${args} \\
        --output ${prefix}.fa.gz \\
        ${fasta}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    echo -n | gzip > ${prefix}.fa.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
