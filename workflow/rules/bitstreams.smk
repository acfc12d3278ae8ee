# Bitstreams: for every trained model, real .c2f files of the evaluation split (val + test by
# default), a sizes table (bytes and actual bpp per image and level, likelihood estimate beside
# them), and a round-trip check that decodes every file at every level in a fresh process.
import re

BITSTREAMS = config.get("bitstreams", {})
_CHECKPOINT_PATTERN = re.compile(r"results/checkpoints/(?P<codec>[^/]+)/(?P<hierarchy>[^/]+)/rp(?P<rp>\d+)/model\.pt$")


def bitstream_models():
    """(codec, hierarchy, rp) of every trained model: from the training stage's trained_models(),
    else read off its train_targets(), else none (the training stage is not included)."""
    if "trained_models" in globals():
        return [{"codec": m["codec"], "hierarchy": m["hierarchy"], "rp": int(m["rp"])} for m in trained_models()]
    if "train_targets" in globals():
        found = (_CHECKPOINT_PATTERN.search(str(path)) for path in train_targets())
        return [{**m.groupdict(), "rp": int(m["rp"])} for m in found if m]
    return []


def bitstream_dir(m):
    return f"results/bitstreams/{m['codec']}/{m['hierarchy']}/rp{m['rp']}"


rule encode_bitstreams:
    input:
        model="results/checkpoints/{codec}/{hierarchy}/rp{rp}/model.pt",
        manifest=MANIFEST,
    output:
        sizes="results/bitstreams/{codec}/{hierarchy}/rp{rp}/sizes.csv",
        streams=directory("results/bitstreams/{codec}/{hierarchy}/rp{rp}/streams"),
    params:
        settings=lambda w: as_json(BITSTREAMS),
    log:
        "results/logs/bitstreams/{codec}_{hierarchy}_rp{rp}_encode.log",
    wildcard_constraints:
        rp=r"\d+",
    threads: 1
    resources:
        mem_mb=4000,
    # The training chain is the critical path: start it before anything that can wait.
    priority: 10
    shell:
        "{PY} -m coarse2fine.coding encode-split --model {input.model} --manifest {input.manifest}"
        " --streams {output.streams} --sizes {output.sizes} --settings {params.settings:q}"
        " --threads {threads} > {log} 2>&1"


# Decodes with a different thread count than the encoder on purpose: the result must not change.
rule check_bitstreams:
    input:
        model="results/checkpoints/{codec}/{hierarchy}/rp{rp}/model.pt",
        sizes="results/bitstreams/{codec}/{hierarchy}/rp{rp}/sizes.csv",
        streams="results/bitstreams/{codec}/{hierarchy}/rp{rp}/streams",
    output:
        report="results/bitstreams/{codec}/{hierarchy}/rp{rp}/roundtrip.json",
        decoded=directory("results/bitstreams/{codec}/{hierarchy}/rp{rp}/decoded"),
    log:
        "results/logs/bitstreams/{codec}_{hierarchy}_rp{rp}_check.log",
    wildcard_constraints:
        rp=r"\d+",
    threads: 2
    resources:
        mem_mb=4000,
    # The training chain is the critical path: start it before anything that can wait.
    priority: 10
    shell:
        "{PY} -m coarse2fine.coding check-split --model {input.model} --streams {input.streams}"
        " --sizes {input.sizes} --report {output.report} --decoded {output.decoded}"
        " --threads {threads} > {log} 2>&1"


def bitstreams_targets():
    return [f"{bitstream_dir(m)}/{name}" for m in bitstream_models() for name in ("sizes.csv", "roundtrip.json")]
