process HYENADNA_CLASSIFY {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(query)        // FASTA records, or BED intervals (with fasta)
    tuple val(meta2), path(train)       // labelled examples: FASTA (label=NAME), TSV or BED
    tuple val(meta3), path(fasta)       // reference FASTA of BED inputs, or []
    path model                          // model directory or .safetensors file

    output:
    tuple val(meta), path("*.classify.{tsv,bed}"), emit: predictions
    tuple val(meta), path("*.metrics.json")      , emit: metrics, optional: true
    tuple val(meta), path("*.head.safetensors")  , emit: head, optional: true
    path "versions.yml"                          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    // e.g. ext.args = '--method logistic --shots 16' ; '--metrics' is added when meta.labelled is true
    def args    = task.ext.args ?: ''
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def bed     = query.name.endsWith('.bed') || query.name.endsWith('.bed.gz')
    def suffix  = bed ? 'bed' : 'tsv'
    def ref     = fasta ? "--fasta-ref ${fasta}" : ''
    def metrics = meta.labelled ? "--metrics ${prefix}.metrics.json" : ''
    def device  = task.accelerator ? '--device cuda' : ''
    """
    hyenadna classify \\
        --model ${model} \\
        --threads ${task.cpus} \\
        ${device} \\
        --train ${train} \\
        ${ref} \\
        ${metrics} \\
        ${args} \\
        --output ${prefix}.classify.${suffix} \\
        ${query}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def bed     = query.name.endsWith('.bed') || query.name.endsWith('.bed.gz')
    """
    touch ${prefix}.classify.${bed ? 'bed' : 'tsv'}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
