process HYENADNA_SCOREVARIANTS {
    tag "$meta.id"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(vcf), val(shard)      // VCF, bgzipped VCF or BCF; shard: "I/N" or ''
    tuple val(meta2), path(fasta), path(fai)    // reference FASTA and its .fai
    path model                                  // model directory or .safetensors file

    output:
    tuple val(meta), path("*.{vcf,vcf.gz,bcf,tsv,tsv.gz}"), emit: vcf
    tuple val(meta), path("*.tbi")                        , emit: tbi, optional: true
    tuple val(meta), path("*.csi")                        , emit: csi, optional: true
    path "versions.yml"                                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def suffix  = task.ext.suffix ?: 'vcf.gz'          // the output type follows the suffix
    def index   = suffix in ['vcf.gz', 'bcf'] ? '--write-index' : ''
    def sh      = shard ? "--shard ${shard}" : ''
    def device  = task.accelerator ? '--device cuda' : ''
    """
    hyenadna score-variants \\
        --model ${model} \\
        --fasta-ref ${fasta} \\
        --threads ${task.cpus} \\
        ${device} \\
        ${sh} \\
        ${index} \\
        ${args} \\
        --output ${prefix}.${suffix} \\
        ${vcf}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def suffix  = task.ext.suffix ?: 'vcf.gz'
    def index   = suffix == 'vcf.gz' ? "touch ${prefix}.${suffix}.tbi" : suffix == 'bcf' ? "touch ${prefix}.${suffix}.csi" : ''
    """
    echo "" | gzip > ${prefix}.${suffix}
    ${index}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
