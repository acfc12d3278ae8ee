# Bitstreams: for every trained model, real .c2f files of the evaluation split (val + test by
# default), a sizes table (bytes and actual bpp per image and level, likelihood estimate beside
# them), and a round-trip check that decodes every file at every level in a fresh process.
# (bitstream_models, model_id_pattern and bitstream_dir are in common.smk: evaluate.smk uses them too)
BITSTREAMS = config.get("bitstreams", {})


rule encode_bitstreams:
    conda:
        CONDA_ENV
    input:
        model="results/checkpoints/{model}/model.pt",
        manifest=MANIFEST,
    output:
        sizes="results/bitstreams/{model}/sizes.csv",
        streams=directory("results/bitstreams/{model}/streams"),
    params:
        settings=lambda w: as_json(BITSTREAMS | {"view": VIEW}),
    benchmark:
        "results/benchmarks/bitstreams/{model}/encode.tsv"
    log:
        "results/logs/bitstreams/{model}/encode.log",
    wildcard_constraints:
        model=model_id_pattern(),
    # One thread: a second one saves 15 % of this job's time (38 vs 45 s) while it keeps a core
    # from a check or an evaluation that could run beside it.
    threads: 1
    resources:
        mem_mb=4000,
    # The training chain is the critical path: start it before anything that can wait.
    priority: 10
    shell:
        "python -m coarse2fine.coding encode-split --model {input.model} --manifest {input.manifest}"
        " --streams {output.streams} --sizes {output.sizes} --settings {params.settings:q}"
        " --threads {threads} > {log} 2>&1"


# Decodes in a process of its own, from the files alone. One thread is all the decoder's
# synthesis uses (models/codec.py, single_threaded); that a decode on other thread counts gives
# the same latents and pixels is tested (tests/test_coding_codec.py, tests/test_deephq.py).
rule check_bitstreams:
    conda:
        CONDA_ENV
    input:
        model="results/checkpoints/{model}/model.pt",
        sizes="results/bitstreams/{model}/sizes.csv",
        streams="results/bitstreams/{model}/streams",
    output:
        report="results/bitstreams/{model}/roundtrip.json",
        decoded=directory("results/bitstreams/{model}/decoded"),
    benchmark:
        "results/benchmarks/bitstreams/{model}/check.tsv"
    log:
        "results/logs/bitstreams/{model}/check.log",
    wildcard_constraints:
        model=model_id_pattern(),
    threads: 1
    resources:
        mem_mb=4000,
    # The training chain is the critical path: start it before anything that can wait.
    priority: 10
    shell:
        "python -m coarse2fine.coding check-split --model {input.model} --streams {input.streams}"
        " --sizes {input.sizes} --report {output.report} --decoded {output.decoded}"
        " --threads {threads} > {log} 2>&1"


def bitstreams_targets():
    return [f"{bitstream_dir(m)}/{name}" for m in bitstream_models() for name in ("sizes.csv", "roundtrip.json")]
