process HYENADNA_CONVERT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(checkpoint)   // PyTorch checkpoint: Lightning .ckpt, HF pytorch_model.bin, .pt
    path config                         // model config JSON to use instead of the checkpoint's, or []

    output:
    tuple val(meta), path("${task.ext.prefix ?: meta.id}"), emit: model    // model directory
    tuple val(meta), path("*.convert.txt")                , emit: report
    path "versions.yml"                                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def cfg     = config ? "--config ${config}" : ''
    """
    hyenadna convert \\
        ${cfg} \\
        ${args} \\
        --output ${prefix} \\
        ${checkpoint} \\
        > ${prefix}.convert.txt

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    mkdir ${prefix}
    touch ${prefix}/config.json ${prefix}/model.safetensors ${prefix}.convert.txt

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
