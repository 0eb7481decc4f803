process HYENADNA_PLOT {
    tag "$meta.id"
    label 'process_single'

    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(tracks), val(region)  // an SNV table (.tsv/.tsv.gz, its .tbi beside it) or bigWig files; region "CHR:BEG-END"
    tuple val(meta2), path(fasta), path(fai)    // reference FASTA and its .fai, or [] (optional)

    output:
    tuple val(meta), path("*.{svg,png}"), emit: plot
    path "versions.yml"                 , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args    = task.ext.args ?: ''           // e.g. '--strip 100 --vmax 3'
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def suffix  = task.ext.suffix ?: 'svg'      // 'png' renders through rsvg-convert
    def files   = (tracks instanceof List ? tracks : [tracks]).collect { it.name }
    def bigwigs = files.findAll { it ==~ /(?i).*\.(bw|bigwig)$/ }
    def input   = bigwigs ? "--bigwig ${bigwigs.join(',')}" : "--snv ${files.find { !(it ==~ /.*\.(tbi|csi)$/) }}"
    def ref     = fasta ? "--fasta-ref ${fasta}" : ''
    """
    hyenadna plot \\
        ${input} \\
        --region ${region} \\
        ${ref} \\
        ${args} \\
        --output ${prefix}.${suffix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """

    stub:
    def prefix  = task.ext.prefix ?: "${meta.id}"
    def suffix  = task.ext.suffix ?: 'svg'
    """
    touch ${prefix}.${suffix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        hyenadna: \$(hyenadna --version | sed '1!d; s/^.*hyenadna //')
    END_VERSIONS
    """
}
