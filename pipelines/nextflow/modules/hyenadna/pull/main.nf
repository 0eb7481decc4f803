process HYENADNA_PULL {
    tag "$repo"
    label 'process_single'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), val(repo)      // OWNER/REPO[@REVISION] on the Hugging Face Hub

    output:
    tuple val(meta), path("hf_hub"), emit: cache     // a huggingface_hub cache holding the model: run later
                                                     // steps with HF_HUB_CACHE=<cache> and --model hf:<repo>
    path "versions.yml"            , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''           // e.g. '--include README.md'
    """
    export HF_HUB_CACHE=\$PWD/hf_hub
    hyenadna pull \\
        --verbosity 3 \\
        ${args} \\
        ${repo}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p hf_hub/${prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
