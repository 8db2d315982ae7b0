"""The NLI judge, on tiny BERT NLI models built and saved inside the test (no downloads).

Most tests use a *rigged* model whose weights make its output depend only on two trigger words:
every word embedding is zero except ``cat`` and ``dog``, attention is uniform, and the classifier
reads one hidden unit per trigger. A pair whose text contains ``cat`` then gives output index
``CAT_INDEX`` probability ~0.9 and ``dog`` does the same for ``DOG_INDEX``; any other pair gives
1/3 to every index. So which premise "wins", and which output index it fires, are known exactly,
while the label *names* of those indices come only from ``config.id2label``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

from persona_gym.judges.base import LABELS, TextJudge, Verdict
from persona_gym.judges.nli import NLIJudge, label_mapping

CORPUS = [
    "I am a nurse.", "I have a cat.", "I have a dog.", "I live in Denver.", "What do you do?",
    "I am a chef.", "I love hiking in the mountains.", "My favorite color is blue.",
    "I work at a hospital.", "Do you have any pets?", "I never eat meat.",
]
MNLI = {0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}
CAT_INDEX, DOG_INDEX = 2, 0  # output indices the trigger words fire


def build_model(
    path: Path, id2label: dict[int, str], rigged: bool = True, seed: int = 0
) -> Path:
    """Save a tiny BERT NLI model and its WordPiece tokenizer to ``path``."""
    # The vocabulary is the corpus's words, sorted: WordPieceTrainer orders tied tokens
    # differently from run to run, which would make the random models' outputs vary.
    words = sorted({w for s in CORPUS for w in re.findall(r"\w+|[^\w\s]", s.lower())})
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]")
    config = BertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=37, max_position_embeddings=64,
        num_labels=3, id2label=dict(id2label), label2id={v: k for k, v in id2label.items()},
        initializer_range=0.02 if rigged else 0.5,  # wide: random outputs vary with the input
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    if rigged:
        rig(model, tok.token_to_id("cat"), tok.token_to_id("dog"))
    fast.save_pretrained(path)
    model.save_pretrained(path)
    return path


@torch.no_grad()
def rig(model: BertForSequenceClassification, cat: int, dog: int) -> None:
    """Make the logits depend only on whether the pair contains ``cat`` / ``dog``."""
    bert, h = model.bert, model.config.hidden_size
    eye = torch.eye(h)
    emb = bert.embeddings
    emb.word_embeddings.weight.zero_()
    emb.word_embeddings.weight[cat, 0] = 10.0  # after LayerNorm: unit 0 ~ +5.6
    emb.word_embeddings.weight[dog, 1] = 10.0  # unit 1 ~ +5.6
    emb.position_embeddings.weight.zero_()
    emb.token_type_embeddings.weight.zero_()
    layer = bert.encoder.layer[0]
    att = layer.attention.self
    for lin in (att.query, att.key):  # zero scores: uniform attention over real tokens
        lin.weight.zero_()
        lin.bias.zero_()
    for lin in (att.value, layer.attention.output.dense, bert.pooler.dense):
        lin.weight.copy_(eye)
        lin.bias.zero_()
    layer.output.dense.weight.zero_()  # no feed-forward contribution
    layer.output.dense.bias.zero_()
    model.classifier.weight.zero_()
    model.classifier.bias.zero_()
    model.classifier.weight[CAT_INDEX, 0] = 3.0
    model.classifier.weight[DOG_INDEX, 1] = 3.0


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nli")


@pytest.fixture(scope="module")
def mnli_path(models_dir: Path) -> Path:
    """The rigged model with MNLI's label order."""
    return build_model(models_dir / "mnli", MNLI)


@pytest.fixture(scope="module")
def mnli(mnli_path: Path) -> NLIJudge:
    return NLIJudge(mnli_path, device="cpu")


PERSONA = ["I am a nurse.", "I live in Denver.", "I have a cat."]
HISTORY = ["I love hiking in the mountains.", "I have a dog.", "I work at a hospital."]


def test_is_a_text_judge(mnli: NLIJudge) -> None:
    assert isinstance(mnli, TextJudge)
    assert mnli.name == "nli"
    assert mnli.label_index == {"entailment": 0, "neutral": 1, "contradiction": 2}


def test_rigged_model_behaves_as_designed(mnli: NLIJudge) -> None:
    """Guard for the other tests: the trigger words, and only they, move the probabilities."""
    p = mnli.pair_probabilities([("I am a nurse.", "I am a chef."), ("I have a cat.", "Hi."),
                                 ("I have a dog.", "Hi.")])
    assert p[0] == pytest.approx({label: 1 / 3 for label in LABELS}, abs=1e-4)
    assert p[1]["contradiction"] > 0.85  # index 2 is CONTRADICTION in MNLI
    assert p[2]["entailment"] > 0.85  # index 0 is ENTAILMENT


def test_contradiction_points_at_the_winning_persona_sentence(mnli: NLIJudge) -> None:
    v = mnli.judge(PERSONA, ["I love hiking in the mountains."], "I am a chef.")
    assert v == Verdict("contradiction", "persona", "I have a cat.", v.scores)
    assert v.scores["contradiction"] > 0.85
    assert v.scores["neutral"] == pytest.approx(1 / 3, abs=1e-4)  # max over pairs, per label
    assert set(v.scores) == set(LABELS)


def test_entailment_points_at_the_winning_history_line(mnli: NLIJudge) -> None:
    v = mnli.judge(PERSONA[:2], HISTORY, "I am a chef.")
    assert (v.label, v.against, v.evidence) == ("entailment", "history", "I have a dog.")


def test_contradiction_takes_precedence_over_entailment(mnli: NLIJudge) -> None:
    v = mnli.judge(PERSONA, HISTORY, "I am a chef.")
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", "I have a cat.")
    assert v.scores["entailment"] > 0.85


def test_neutral_and_threshold(mnli_path: Path, mnli: NLIJudge) -> None:
    v = mnli.judge(PERSONA[:2], HISTORY[:1], "I am a chef.")
    assert v == Verdict("neutral", None, None, v.scores)
    assert v.scores == pytest.approx({label: 1 / 3 for label in LABELS}, abs=1e-4)
    strict = NLIJudge(mnli_path, threshold=0.99, device="cpu")
    assert strict.judge(PERSONA, HISTORY, "I am a chef.").label == "neutral"
    loose = NLIJudge(mnli_path, threshold=0.3, device="cpu")
    v = loose.judge(PERSONA[:2], [], "I am a chef.")  # every label at 1/3: contradiction first
    assert (v.label, v.against, v.evidence) == ("contradiction", "persona", "I am a nurse.")


def test_blank_line_is_neutral_without_evidence(mnli: NLIJudge) -> None:
    assert mnli.judge(PERSONA, HISTORY, "   ").label == "neutral"
    # Blank history lines are not premises (a "cat" line still wins when present).
    v = mnli.judge(["I am a nurse."], ["", "I have a cat."], "Hi.")
    assert (v.against, v.evidence) == ("history", "I have a cat.")


@pytest.mark.parametrize(
    "id2label, cat_label",
    [
        ({0: "entailment", 1: "neutral", 2: "contradiction"}, "contradiction"),
        ({0: "Contradiction", 1: "Neutral", 2: "Entailment"}, "entailment"),
        ({0: "neutral", 1: "contradiction", 2: "entailment"}, "entailment"),
        ({0: "contradiction", 1: "entailment", 2: "neutral"}, "neutral"),
    ],
    ids=["mnli-lower", "reversed", "rotated", "cat-is-neutral"],
)
def test_label_order_comes_from_config(
    models_dir: Path, id2label: dict[int, str], cat_label: str
) -> None:
    """Same weights, permuted id2label: the verdict follows the config's names."""
    path = build_model(models_dir / f"perm-{'-'.join(id2label.values())}", id2label)
    judge = NLIJudge(path, device="cpu")
    v = judge.judge(PERSONA, [], "I am a chef.")  # "cat" fires output index CAT_INDEX
    assert v.label == cat_label
    assert v.scores[cat_label] > 0.85
    if cat_label != "neutral":
        assert (v.against, v.evidence) == ("persona", "I have a cat.")
    else:
        assert v.evidence is None


def test_batching_across_items_matches_one_pair_at_a_time(
    models_dir: Path, mnli_path: Path
) -> None:
    items = [
        (PERSONA, HISTORY, "I am a chef."),
        (PERSONA[:2], HISTORY, "I am a chef."),
        (PERSONA[:2], HISTORY[:1], "Do you have any pets?"),
        (["I have a dog."], [], "I never eat meat."),
        (["I am a nurse."], ["What do you do? " * 30, "I have a cat."], "Hi."),  # truncated
        (PERSONA, [], ""),
    ]
    rigged = NLIJudge(mnli_path, batch_size=32, device="cpu")
    one = NLIJudge(mnli_path, batch_size=1, device="cpu")
    many = rigged.judge_many(items)
    assert [v.label for v in many] == [
        "contradiction", "entailment", "neutral", "entailment", "contradiction", "neutral"]
    assert [v.evidence for v in many] == [
        "I have a cat.", "I have a dog.", None, "I have a dog.", "I have a cat.", None]
    assert_same(many, one.judge_many(items))
    assert_same(many, [rigged.judge(*item) for item in items])
    # A random (unrigged) model gives item-specific probabilities: batching must keep them apart.
    path = build_model(models_dir / "random", MNLI, rigged=False, seed=7)
    got = NLIJudge(path, batch_size=32, device="cpu").judge_many(items)
    assert {v.label for v in got} == set(LABELS)  # the seed is one with varied verdicts
    assert len({round(v.scores["contradiction"], 3) for v in got}) >= 4
    assert_same(got, NLIJudge(path, batch_size=1, device="cpu").judge_many(items))
    assert_same(got, NLIJudge(path, batch_size=3, device="cpu").judge_many(items))


def test_scores_are_the_max_softmax_over_pairs(models_dir: Path) -> None:
    """Checked against the model run directly, one pair at a time, outside the judge."""
    path = build_model(models_dir / "random3", MNLI, rigged=False, seed=3)
    judge = NLIJudge(path, device="cpu")
    persona, history, line = PERSONA, HISTORY, "I am a chef."
    premises = [*persona, *history]
    with torch.no_grad():
        probs = [
            torch.softmax(judge.model(**judge.tokenizer(p, line, return_tensors="pt")).logits[0],
                          -1)
            for p in premises
        ]
    table = torch.stack(probs)  # pairs x model indices (MNLI: 0 entailment, 2 contradiction)
    v = judge.judge(persona, history, line)
    for label, idx in judge.label_index.items():
        assert v.scores[label] == pytest.approx(float(table[:, idx].max()), abs=1e-5)
    best = int(table[:, 2].argmax()) if float(table[:, 2].max()) >= 0.5 else int(
        table[:, 0].argmax())
    top2 = table[:, 2 if v.label == "contradiction" else 0].topk(2).values
    assert float(top2[0] - top2[1]) > 1e-3  # a clear winner (guards this check)
    assert v.label == ("contradiction" if float(table[:, 2].max()) >= 0.5 else "entailment")
    assert v.evidence == premises[best]
    assert v.against == ("persona" if best < len(persona) else "history")


def assert_same(a: list[Verdict], b: list[Verdict]) -> None:
    assert [(v.label, v.against, v.evidence) for v in a] == [
        (v.label, v.against, v.evidence) for v in b]
    for x, y in zip(a, b, strict=True):
        assert x.scores == pytest.approx(y.scores, abs=1e-5)


def test_unmappable_labels_are_rejected(models_dir: Path) -> None:
    path = build_model(models_dir / "generic", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ValueError, match=r"LABEL_0.*'contra'.*'entail'.*'neutral'"):
        NLIJudge(path, device="cpu")
    with pytest.raises(ValueError, match="not_entailment"):
        label_mapping({0: "entailment", 1: "not_entailment"})
    with pytest.raises(ValueError, match="cannot map"):
        label_mapping({0: "contradiction", 1: "contradiction", 2: "entailment", 3: "neutral"})
    assert label_mapping({"0": "CONTRADICTION", "1": "NEUTRAL", "2": "ENTAILMENT"}) == {
        "contradiction": 0, "neutral": 1, "entailment": 2}


def test_missing_or_empty_model_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match=r"no-such-model.*never downloads"):
        NLIJudge(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty.*never downloaded"):
        NLIJudge(empty)


def test_bad_input_and_arguments(mnli_path: Path, mnli: NLIJudge) -> None:
    with pytest.raises(TypeError, match="persona must be a list"):
        mnli.judge("I am a nurse.", [], "Hi.")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one non-empty"):
        mnli.judge_many([(PERSONA, [], "Hi."), ([], [], "Hi.")])
    with pytest.raises(TypeError, match="tuple"):
        mnli.judge_many([(PERSONA, "Hi.")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="threshold"):
        NLIJudge(mnli_path, threshold=0)
    with pytest.raises(ValueError, match="batch_size"):
        NLIJudge(mnli_path, batch_size=0)
    assert mnli.judge_many([]) == []
