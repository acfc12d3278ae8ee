# Coding (the bitstreams): for every coded model (PLAN.training.coded_models), real .c2f files of
# the evaluation split (val + test by default), a sizes table (bytes and actual bpp per image and
# level, likelihood estimate beside them), and a round-trip check that decodes every file at
# every level in a fresh process.


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
        settings=lambda w: as_json(config.get("bitstreams", {}) | {"view": config["view"]}),
    benchmark:
        "results/benchmarks/bitstreams/{model}/encode.tsv"
    log:
        "results/logs/bitstreams/{model}/encode.log",
    wildcard_constraints:
        model=CODED_MODELS,
    # One thread: a second one shortens this job little (the entropy coding is serial) while it
    # keeps a core from a check or an evaluation that could run beside it.
    threads: 1
    resources:
        mem_mb=MEM_MB["coding"],
    priority: PRIORITY["training_chain"]
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
        model=CODED_MODELS,
    threads: 1
    resources:
        mem_mb=MEM_MB["coding"],
    priority: PRIORITY["training_chain"]
    shell:
        "python -m coarse2fine.coding check-split --model {input.model} --streams {input.streams}"
        " --sizes {input.sizes} --report {output.report} --decoded {output.decoded}"
        " --threads {threads} > {log} 2>&1"
