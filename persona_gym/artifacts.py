"""Policy artifacts: the one format in which a trained policy is exchanged, checked and run.

A policy file from someone else is data, never a program. TorchScript is a program: its
``forward`` can call ``torch.from_file(path, shared=True)`` and write or read any file the user
can (DESIGN.md §9), and pickle runs arbitrary Python on load. So persona_gym runs policies only
as **ONNX graphs** executed by onnxruntime, and only after :func:`check_onnx` has read the file
as plain protobuf and refused anything that could reach outside the graph:

- a file larger than :data:`MAX_ARTIFACT_BYTES`, or one that is TorchScript / pickle / a zip
  (refused with the way to convert, :data:`CONVERT_HINT`);
- an operator outside :data:`ALLOWED_OPS` (standard-domain tensor arithmetic only: no
  control flow, no string, random, file or custom operators), an operator set other than the
  standard one (custom domains), local functions, sparse or external-data tensors (an external
  tensor names a file that onnxruntime would open);
- a signature other than one float32 input ``[batch, obs_dim]`` and one output: integer
  ``[batch]`` (a candidate index, Discrete variants) or float ``[batch, action_dim]`` (Box).

The checked model is handed to onnxruntime as bytes, never as a path, so there is no folder to
resolve external files against. What the check cannot bound is how long or how much memory a
legal graph takes (a chain of large MatMuls is legal): the leaderboard therefore runs a
stranger's artifact only in a child process with time and memory limits
(:mod:`persona_gym.leaderboard.sandbox`). ``persona-gym evaluate --policy X.onnx`` runs the
checked graph in-process: it cannot touch files, but its run time is the user's to judge.

Exporting: :func:`export_onnx` turns a *trusted* torch module (your own, or d3rlpy's policy) into
a checked artifact with ``torch.onnx.export(..., dynamo=False)``; the exported graph matches torch
within float rounding, not bit for bit (an argmax tie can flip).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from persona_gym.output import file_written_atomically

POLICY_FILE = "policy.onnx"
"""A policy artifact's name in a baseline run folder and in a submission's folder."""
SELECTED_POLICY_FILE = "policy_selected.onnx"
"""A run's checkpoint selected on valid personas, exported (``--select-episodes``)."""

MAX_ARTIFACT_BYTES = 50_000_000
"""Largest accepted policy artifact (bytes, 50 MB; the baselines' MLPs are about 2 MB)."""

ALLOWED_OPS = frozenset({
    # linear algebra and elementwise arithmetic
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Exp", "Log", "Sqrt", "Pow",
    "Max", "Min", "Clip",
    # activations and normalisation
    "Relu", "LeakyRelu", "Elu", "Selu", "Tanh", "Sigmoid", "Softplus", "Erf", "Softmax",
    "LogSoftmax", "LayerNormalization", "BatchNormalization",
    # reductions, comparisons and selection (BCQ masks actions by a threshold)
    "ArgMax", "ArgMin", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
    "ReduceLogSumExp", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal", "Not",
    "And", "Or", "Where", "Sign", "Floor", "Ceil", "Reciprocal",
    # shapes (what the exporter emits around the above)
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Gather", "Slice", "Transpose",
    "Shape", "Constant", "Identity", "Cast",
})
"""Operators an artifact may use: standard-domain (``ai.onnx``) tensor arithmetic, enough for
MLPs and the d3rlpy baselines' exports. None reads or writes files, strings or the network; no
control flow (Loop, If, Scan), no random operators (results must be reproducible), no shape
amplifiers (Expand, Tile, ConstantOfShape, Range)."""

STANDARD_DOMAINS = ("", "ai.onnx")
OPSET_RANGE = (7, 23)
"""Standard operator-set versions accepted (both ends included)."""

PROGRAM_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".jit", ".bin", ".joblib")
CONVERT_HINT = (
    "persona_gym runs policies only as ONNX graphs (data that cannot touch files or the "
    "network); convert a torch module you trust with persona_gym.leaderboard.export_onnx(module, "
    "obs_dim, 'policy.onnx') or `persona-gym leaderboard convert YOUR.pt policy.onnx --env ENV "
    "--trusted` (converting loads, i.e. runs, the file: only do it for files you made)")


class ArtifactError(ValueError):
    """A policy artifact is refused; the message names the problem and the fix."""


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _torch_archive(path: Path) -> bool:
    """Whether a zip file is a torch archive (TorchScript or ``torch.save``), judged from its
    list of members alone (nothing is extracted or loaded)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()[:10_000]
    except (zipfile.BadZipFile, OSError, ValueError):
        return path.suffix in (".pt", ".pth", ".jit")
    return any(n.endswith(("/data.pkl", "/constants.pkl")) or "/code/" in n for n in names)


def _program_kind(path: Path, head: bytes) -> str | None:
    """``'TorchScript'`` / ``'pickle'`` / ``'a zip archive'`` when the file is one, else None."""
    if head.startswith(b"PK\x03\x04"):
        return "TorchScript" if _torch_archive(path) else "a zip archive"
    if head[:1] == b"\x80" and head[1:2] in bytes(range(2, 6)):
        return "pickle"
    if path.suffix.lower() in PROGRAM_SUFFIXES:
        return {".pkl": "pickle", ".pickle": "pickle", ".joblib": "pickle"}.get(
            path.suffix.lower(), "TorchScript")
    return None


def refuse_programs(path: str | Path) -> None:
    """Raise :class:`ArtifactError` when ``path`` is TorchScript or pickle (by name or bytes),
    before anything loads it."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""
    kind = _program_kind(p, head)
    if kind is not None:
        raise ArtifactError(f"{p.name} is {kind}, a program rather than data; {CONVERT_HINT}")


def _all_tensors(model: Any) -> list[Any]:
    """Every TensorProto of the graph: initializers and node attributes (recursively)."""
    from onnx import AttributeProto

    out = list(model.graph.initializer)
    stack = list(model.graph.node)
    while stack:
        node = stack.pop()
        for attr in node.attribute:
            if attr.type == AttributeProto.TENSOR:
                out.append(attr.t)
            out.extend(attr.tensors)
            for g in [*([attr.g] if attr.type == AttributeProto.GRAPH else []), *attr.graphs]:
                out.extend(g.initializer)
                stack.extend(g.node)
    return out


def _dims(value_info: Any) -> tuple[int, list[int | str]]:
    t = value_info.type.tensor_type
    dims: list[int | str] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                             for d in t.shape.dim]
    return t.elem_type, dims


def check_onnx(path: str | Path, max_bytes: int = MAX_ARTIFACT_BYTES) -> Any:
    """Read ``path`` as an ONNX model without running anything and return it
    (``onnx.ModelProto``) if it passes every check of the module docstring; otherwise raise
    :class:`ArtifactError` naming the first problem."""
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import TensorProto

    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"no policy file at {p}")
    size = p.stat().st_size
    if size > max_bytes:
        raise ArtifactError(f"{p.name} is {size} bytes; a policy artifact may be at most "
                            f"{max_bytes} bytes")
    refuse_programs(p)
    with open(p, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ArtifactError(f"{p.name} grew past {max_bytes} bytes while being read")
    try:
        model = onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{p.name} is not an ONNX model ({type(exc).__name__}); export "
                            f"one with persona_gym.leaderboard.export_onnx") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ArtifactError(f"{p.name} holds no ONNX graph; export one with "
                            "persona_gym.leaderboard.export_onnx")
    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS:
            raise ArtifactError(f"{p.name} imports the operator domain {opset.domain!r}; only "
                                "the standard ONNX domain is allowed (no custom operators)")
        if not OPSET_RANGE[0] <= opset.version <= OPSET_RANGE[1]:
            raise ArtifactError(f"{p.name} uses opset {opset.version}; export with an opset in "
                                f"{OPSET_RANGE[0]}..{OPSET_RANGE[1]} (export_onnx uses 17)")
    if len(model.functions):
        raise ArtifactError(f"{p.name} defines local functions; export a flat graph of "
                            "standard operators")
    if len(model.graph.sparse_initializer):
        raise ArtifactError(f"{p.name} has sparse initializers; export dense weights")
    for node in model.graph.node:
        if node.domain not in STANDARD_DOMAINS:
            raise ArtifactError(f"{p.name}: node {node.name or node.op_type!r} uses the custom "
                                f"operator {node.domain}:{node.op_type}; only standard ONNX "
                                "operators are allowed")
        if node.op_type not in ALLOWED_OPS:
            raise ArtifactError(f"{p.name}: operator {node.op_type} is not allowed in a policy "
                                f"artifact; allowed: {', '.join(sorted(ALLOWED_OPS))}")
    for tensor in _all_tensors(model):
        if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
            raise ArtifactError(f"{p.name}: tensor {tensor.name!r} keeps its data in an "
                                "external file; save the model as one file (export_onnx does)")
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise ArtifactError(f"{p.name} has {len(inputs)} input(s) and "
                            f"{len(model.graph.output)} output(s); a policy maps one "
                            "observation batch [batch, obs_dim] to one action batch")
    elem, dims = _dims(inputs[0])
    if elem != TensorProto.FLOAT or len(dims) != 2:
        raise ArtifactError(f"{p.name}: input {inputs[0].name!r} must be float32 "
                            f"[batch, obs_dim], got {TensorProto.DataType.Name(elem)} {dims}")
    return model


class OnnxPolicy:
    """A checked ONNX policy (:func:`check_onnx`) run by onnxruntime on the CPU with one
    thread: maps a batch of observations to a batch of actions (``act_batch``), or one
    observation to one action (``act``: an ``int`` for Discrete variants, a float32 vector
    for Box variants)."""

    def __init__(self, path: str | Path, max_bytes: int = MAX_ARTIFACT_BYTES) -> None:
        import onnxruntime as ort

        model = check_onnx(path, max_bytes)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(model.SerializeToString(), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own load errors (type or shape mismatches)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ArtifactError(f"{Path(path).name} does not load in onnxruntime: "
                                f"{first[:300]}") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        width = inp.shape[1] if len(inp.shape) == 2 else None
        self.obs_dim: int | None = width if isinstance(width, int) else None
        self.name = Path(path).name

    def check_spaces(self, observation_space: Any, action_space: Any) -> None:
        """Raise :class:`ArtifactError` unless the policy reads observations of
        ``observation_space`` and answers actions of ``action_space``: a probe batch of two
        zero observations must give an integer ``[2]`` (Discrete) or float ``[2, n]`` (Box)."""
        from gymnasium import spaces

        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise ArtifactError(f"{self.name} acts on flat vector observations; this env "
                                f"observes {observation_space}")
        width = int(observation_space.shape[0])
        if self.obs_dim is not None and self.obs_dim != width:
            raise ArtifactError(f"{self.name} reads observations of width {self.obs_dim}; this "
                                f"env's observations have width {width} (wrong env or version)")
        out = self.act_batch(np.zeros((2, width), dtype=np.float32))
        if isinstance(action_space, spaces.Discrete):
            if not np.issubdtype(out.dtype, np.integer) or out.shape != (2,):
                raise ArtifactError(f"{self.name} answers {out.dtype} {list(out.shape)} for a "
                                    f"batch of 2; a Discrete env needs integer [batch] "
                                    "candidate indices (argmax)")
        elif isinstance(action_space, spaces.Box):
            want = (2, *action_space.shape)
            if not np.issubdtype(out.dtype, np.floating) or out.shape != want:
                raise ArtifactError(f"{self.name} answers {out.dtype} {list(out.shape)} for a "
                                    f"batch of 2; this Box env needs float {list(want)}")
        else:
            raise ArtifactError(f"{self.name}: the action space {action_space} cannot be "
                                "driven by an ONNX policy")

    def reset(self, rng: np.random.Generator) -> None:  # stateless
        del rng

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a ``[batch, obs_dim]`` batch of observations."""
        x = np.asarray(obs, dtype=np.float32)
        if x.ndim != 2:
            raise ArtifactError(f"{self.name} reads a [batch, obs_dim] batch of flat vector "
                                f"observations; got shape {list(x.shape)}")
        if self.obs_dim is not None and x.shape[1] != self.obs_dim:
            raise ArtifactError(f"{self.name} reads observations of width {self.obs_dim}, but "
                                f"this env's have width {x.shape[1]}: a policy for another env "
                                "or env version?")
        try:
            outputs = self.session.run(None, {self.input_name: x})
        except Exception as exc:  # onnxruntime reports shape errors of a legal graph this way
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ArtifactError(f"{self.name} failed on a batch of shape {list(x.shape)}: "
                                f"{first[:300]}") from None
        out = np.asarray(outputs[0])
        if out.ndim == 0 or out.shape[0] != x.shape[0]:
            raise ArtifactError(f"{self.name} answered shape {list(out.shape)} for a batch of "
                                f"{x.shape[0]}; one action per observation is needed")
        return out

    def act(self, obs: np.ndarray) -> Any:
        out = self.act_batch(np.asarray(obs)[None])[0]
        return int(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float32)


def export_onnx(module: Any, obs_dim: int, path: str | Path, opset: int = 17) -> Path:
    """Export a *trusted* torch module (or traced function) mapping float32 ``[batch,
    obs_dim]`` to actions as a checked ONNX artifact at ``path`` (written atomically) and
    return the path. Uses the legacy exporter (``dynamo=False``: no onnxscript needed); the
    batch dimension stays dynamic. Raises :class:`ArtifactError` if the export would be refused
    by :func:`check_onnx` (e.g. an operator outside :data:`ALLOWED_OPS`)."""
    import warnings

    import torch

    out = Path(path)
    if out.suffix != ".onnx":
        raise ArtifactError(f"name the artifact *.onnx, not {out.name}")
    if int(obs_dim) < 1:
        raise ArtifactError(f"obs_dim must be a positive width, got {obs_dim}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with file_written_atomically(out, mode=0o644, suffix=".onnx") as tmp:
        if isinstance(module, torch.nn.Module):
            module.eval()
        dummy = torch.zeros(2, int(obs_dim), dtype=torch.float32)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter's notice
            warnings.filterwarnings("ignore", "no signature found", UserWarning)
            torch.onnx.export(module, (dummy,), str(tmp), dynamo=False, opset_version=opset,
                              input_names=["obs"], output_names=["action"],
                              dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}})
        try:
            check_onnx(tmp)
        except ArtifactError as exc:
            raise ArtifactError(str(exc).replace(tmp.name, out.name)) from None
    return out
