# Coding (the bitstreams): for every coded model (PLAN.training.coded_models), real .c2f files of
# the evaluation split (val + test by default), a sizes table (bytes and actual bpp per image and
# level, likelihood estimate beside them), and a round-trip check that decodes every file at
# every level in a fresh process.


rule encode_bitstreams:
    conda:
        CONDA_ENV
    input:
        model=paths.checkpoint(),
        manifest=MANIFEST,
    output:
        sizes=paths.sizes(),
        streams=directory(paths.streams()),
    params:
        settings=lambda w: as_json(config.get("bitstreams", {}) | {"view": config["view"]}),
    benchmark:
        paths.benchmark("bitstreams", "{model}/encode")
    log:
        paths.log("bitstreams", "{model}/encode"),
    wildcard_constraints:
        model=CODED_MODELS,
    # One thread: a second one shortens this job little (the entropy coding is serial) while it
    # keeps a core from a check or an evaluation that could run beside it.
    threads: 1
    resources:
        **PLAN.resources("coding"),
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
        model=paths.checkpoint(),
        sizes=paths.sizes(),
        streams=paths.streams(),
    output:
        report=paths.roundtrip(),
        decoded=directory(paths.decoded()),
    benchmark:
        paths.benchmark("bitstreams", "{model}/check")
    log:
        paths.log("bitstreams", "{model}/check"),
    wildcard_constraints:
        model=CODED_MODELS,
    threads: 1
    resources:
        **PLAN.resources("coding"),
    priority: PRIORITY["training_chain"]
    shell:
        "python -m coarse2fine.coding check-split --model {input.model} --streams {input.streams}"
        " --sizes {input.sizes} --report {output.report} --decoded {output.decoded}"
        " --threads {threads} > {log} 2>&1"
