"""A tiny ONNX sentence model the tests make themselves (no weights can be downloaded here):
each word of its vocabulary is one row of an embedding table, the model's output is the rows
of the text's words (masked), and fastembed's mean pooling turns them into a text vector. So a
test knows every similarity in advance: words given the same row are synonyms to this model,
in any language."""

from __future__ import annotations

import json
from pathlib import Path


def make_word_model(folder: Path, topics: dict[str, list[str]], dim: int = 8) -> Path:
    """A model folder (`model.onnx`, `tokenizer.json`, `tokenizer_config.json`, `config.json`)
    where the words of each topic share one basis vector; other words, the e5 prefixes and
    unknown words are zero vectors (they do not move the mean's direction)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    assert len(topics) <= dim
    vocab = {"[PAD]": 0, "[UNK]": 1, "query": 2, ":": 3, "passage": 4}
    table = [np.zeros(dim, dtype=np.float32) for _ in vocab]
    for t, words in enumerate(topics.values()):
        for w in words:
            vocab[w.lower()] = len(vocab)
            row = np.zeros(dim, dtype=np.float32)
            row[t] = 1.0
            table.append(row)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"pad_token": "[PAD]", "unk_token": "[UNK]", "model_max_length": 512}), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"hidden_size": dim, "pad_token_id": 0}), encoding="utf-8")

    # last_hidden_state = table[input_ids] * attention_mask[..., None]
    emb = numpy_helper.from_array(np.stack(table), name="table")
    axis = numpy_helper.from_array(np.array([-1], dtype=np.int64), name="axis")
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["rows"], axis=0),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis"], ["mask3"]),
        helper.make_node("Mul", ["rows", "mask3"], ["last_hidden_state"]),
    ]
    graph = helper.make_graph(
        nodes, "kb-word-model",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", dim])],
        initializer=[emb, axis])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    return folder
