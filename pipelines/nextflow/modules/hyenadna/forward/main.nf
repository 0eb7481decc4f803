process HYENADNA_FORWARD {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(fasta)    // FASTA records (plain, gzip or bgzip)
    path model                      // model directory or .safetensors file

    output:
    tuple val(meta), path("*.safetensors"), emit: safetensors
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''                  // e.g. '--logits', '--residuals', '--layer 3'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def device  = task.accelerator ? '--device cuda' : ''
    """
    hyenadna forward \\
        --model ${model} \\
        --threads ${task.cpus} \\
        ${device} \\
        ${args} \\
        --output ${prefix}.safetensors \\
        ${fasta}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.safetensors

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
