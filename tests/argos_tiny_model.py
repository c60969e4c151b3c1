"""Builds a tiny but real argostranslate package (.argosmodel) offline, for the tests.

Real language models are hundreds of megabytes and come from the internet; this one is built in
about a second from the project's own text: a SentencePiece model trained on a few hundred lines
of nlu_data/, a one-layer CTranslate2 Transformer with random weights (saved through
`ctranslate2.specs`, no torch needed) and a MiniSBD sentence splitter written as ONNX. The
translations are gibberish, but every step of argostranslate's own pipeline runs on them:
package discovery, sentence splitting, tokenising, beam search, detokenising.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NLU_DATA = Path(__file__).resolve().parent.parent / "nlu_data"
CORPUS_LANGUAGES = ("en", "de", "fa")
LINES_PER_LANGUAGE = 150
D_MODEL, FFN, HEADS = 16, 32, 2
SENTENCE_END = ".!?؟"


@dataclass(frozen=True)
class TinyModelParts:
    """The language-independent parts, built once and zipped into as many pairs as needed."""

    sentencepiece: Path
    model_dir: Path
    sbd_model: Path


def corpus_lines() -> list[str]:
    """A few hundred example messages in Latin and Arabic script, from the NLU training data."""
    lines: list[str] = []
    for language in CORPUS_LANGUAGES:
        taken = 0
        for path in sorted((NLU_DATA / language).glob("*.yml")):
            for raw in path.read_text(encoding="utf-8").splitlines():
                text = raw.strip()
                if text.startswith("- ") and not text.startswith("- intent:"):
                    lines.append(text[2:])
                    taken += 1
                if taken >= LINES_PER_LANGUAGE:
                    break
            if taken >= LINES_PER_LANGUAGE:
                break
    return lines


def build_parts(directory: Path, seed: int = 7) -> TinyModelParts:
    directory.mkdir(parents=True, exist_ok=True)
    lines = corpus_lines()
    sentencepiece = _train_sentencepiece(lines, directory)
    pieces = _pieces(sentencepiece)
    model_dir = directory / "model"
    _save_transformer(pieces, model_dir, seed)
    sbd_model = directory / "sbd.onnx"
    _save_sentence_splitter(lines, sbd_model)
    return TinyModelParts(sentencepiece, model_dir, sbd_model)


def write_package(
    parts: TinyModelParts,
    out_dir: Path,
    from_code: str,
    to_code: str,
    *,
    version: str = "0.1",
    sentence_splitter: bool = True,
    stanza_dir: bool = False,
) -> Path:
    """Zips the parts as `translate-<from>_<to>-<version>.argosmodel`, laid out like argospm's.

    `sentence_splitter=False, stanza_dir=True` gives a package like those of the public index:
    a stanza/ folder and no MiniSBD model, the kind that would make argostranslate go online.
    """
    name = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    root = out_dir / "build" / name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    metadata = {
        "type": "translate",
        "package_version": version,
        "argos_version": "1.11",
        "from_code": from_code,
        "from_name": from_code,
        "to_code": to_code,
        "to_name": to_code,
    }
    (root / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    shutil.copy(parts.sentencepiece, root / "sentencepiece.model")
    shutil.copytree(parts.model_dir, root / "model")
    if sentence_splitter:
        (root / "minisbd").mkdir()
        shutil.copy(parts.sbd_model, root / "minisbd" / f"{from_code}.onnx")
    if stanza_dir:
        (root / "stanza" / from_code).mkdir(parents=True)
        (root / "stanza" / "resources.json").write_text("{}", encoding="utf-8")
    archive = out_dir / f"{name}.argosmodel"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(root.rglob("*")):
            zipped.write(path, path.relative_to(root.parent).as_posix())
    return archive


def _train_sentencepiece(lines: list[str], directory: Path) -> Path:
    import sentencepiece

    prefix = directory / "sentencepiece"
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=str(prefix),
        vocab_size=400,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    return prefix.with_suffix(".model")


def _pieces(model: Path) -> list[str]:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(model))
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _save_transformer(pieces: list[str], model_dir: Path, seed: int) -> None:
    """A one-layer Transformer with random weights: CTranslate2 only checks shapes."""
    from ctranslate2.specs import TransformerSpec
    from ctranslate2.specs.model_spec import visit_spec

    rng = np.random.default_rng(seed)
    vocab = len(pieces)
    spec = TransformerSpec.from_config(1, HEADS)
    # Shapes by the variable's place in the spec; "attention" is the decoder's cross-attention,
    # whose first projection is the query alone and second the fused key/value.
    shapes = {
        "embeddings": (vocab, D_MODEL),
        "projection": (vocab, D_MODEL),
        "self_attention/linear_0": (3 * D_MODEL, D_MODEL),
        "self_attention/linear_1": (D_MODEL, D_MODEL),
        "/attention/linear_0": (D_MODEL, D_MODEL),
        "/attention/linear_1": (2 * D_MODEL, D_MODEL),
        "/attention/linear_2": (D_MODEL, D_MODEL),
        "ffn/linear_0": (FFN, D_MODEL),
        "ffn/linear_1": (D_MODEL, FFN),
    }

    def fill(layer: object, name: str, value: object) -> None:
        if value is not None:
            return
        attribute = name.rsplit("/", 1)[-1]
        if attribute == "gamma":
            setattr(layer, attribute, np.ones(D_MODEL, dtype=np.float32))
        elif attribute == "beta":
            setattr(layer, attribute, np.zeros(D_MODEL, dtype=np.float32))
        else:
            shape = next(shape for key, shape in shapes.items() if key in name)
            setattr(layer, attribute, rng.normal(0, 1.0, shape).astype(np.float32))

    visit_spec(spec, fill)
    # Never start with the end of the sentence, so every translation has some words in it.
    bias = np.zeros(vocab, dtype=np.float32)
    bias[pieces.index("</s>")] = -4.0
    spec.decoder.projection.bias = bias
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    spec.validate()
    model_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(model_dir))


def _save_sentence_splitter(lines: list[str], path: Path) -> None:
    """A MiniSBD model: per character, the logits of MiniSBD's five classes (0 inside a token,
    1 end of token, 2 end of sentence, 3/4 multi-word tokens), here a lookup table that ends a
    sentence after . ! ? and the Arabic question mark and a token after every other character."""
    import onnx
    from onnx import TensorProto, helper

    characters = sorted({c for line in lines for c in line} | set(SENTENCE_END))
    units = ["<PAD>", "<UNK>", *characters]
    table = np.zeros((len(units), 5), dtype=np.float32)
    table[:, 1] = 1.0
    for unit in SENTENCE_END:
        table[units.index(unit)] = [0, 0, 1, 0, 0]
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "units"], ["logits"], axis=0)],
        "minisbd_tiny",
        inputs=[
            helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info(
                "features", TensorProto.FLOAT, ["batch", "length", "features"]
            ),
        ],
        outputs=[
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "length", 5])
        ],
        initializer=[helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.ravel())],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    vocab = {
        "lang": "",
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_unit2id": {unit: i for i, unit in enumerate(units)},
        "_id2unit": units,
    }
    config = {"feat_funcs": ["space_before"], "max_seqlen": 300, "batch_size": 8}
    helper.set_model_props(
        model,
        {"lang_code": "xx", "config": json.dumps(config), "vocab": json.dumps(vocab)},
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
