"""The persona-consistency dialogue environment (discrete variant)."""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from persona_gym.cards import TaskCard, load_card
from persona_gym.conversation import Conversation
from persona_gym.dialogue import ACTS, Exchange, Line, Move
from persona_gym.encoders import ENCODER_NAMES, FactCoder, make_encoder
from persona_gym.partners import MOVES
from persona_gym.replies import ReplyGenerator
from persona_gym.rng import Stream
from persona_gym.v0.conversation import Conversation as ConversationV0
from persona_gym.world import IDENTITY, SPLITS, Ontology, Persona, load_ontology

CONVERSATIONS: dict[int, type[Conversation] | type[ConversationV0]] = {
    0: ConversationV0, 1: Conversation}
"""The rules of each task version (the ``-vN`` of an id)."""
CURRENT_VERSION = max(CONVERSATIONS)


def _opposite_slots(ontology: Ontology) -> dict[str, str]:
    """Each relation with an opposite, mapped to the opposite it shares a fact slot with (the
    alphabetically first of the pair keeps the slot)."""
    return {r: rel.opposite for r, rel in ontology.relations.items()
            if rel.opposite and rel.opposite < r}


class TurnView(NamedTuple):
    """What a privileged (reference) policy may read at a turn: ground truth included.

    Learning agents see only the observation; reference policies and dataset loggers use this.
    """

    persona: Persona
    move: Move
    candidates: tuple[Line, ...]
    turn: int
    horizon: int
    version: int = CURRENT_VERSION
    """The task version (reference policies keep each version's published behaviour)."""


class PersonaDialogueEnv(gym.Env[np.ndarray, np.int64]):
    """A persona-conditioned conversation with a simulated partner, rewarding consistency.

    ## Description

    The agent plays a speaker with a persona of 4-8 facts ("I am a nurse.", "I have two kids.").
    A simulated partner (peer, teacher or counselor, by domain) asks about the agent's life,
    probes earlier answers, makes small talk, discloses emotions, challenges the agent ("are you
    an AI?"), makes claims about it that are true half the time ("you said you're a nurse,
    right?") and, after a slip, quotes it back. Each turn the agent picks one of ``K``
    candidate replies: one consistent in-character answer and distractors built from the same
    templates that contradict the persona or the agent's own earlier lines (in the main answer
    or in an aside), recite the persona, drift to an assistant voice, evade or chat emptily.
    Relations the persona leaves open may be improvised, but an improvised value is a
    commitment for the rest of the conversation. Slips cost the partner's trust; when it runs
    out, the partner leaves.

    ## Action Space

    ``Discrete(K)`` (``K = 8`` in the shipped cards): the index of the chosen candidate.

    ## Observation Space

    ``Box(-1, 1, (5 * 128 + K * 133 + 1 + (3 + K) * 140,), float32)`` (v1; 3245 entries for
    ``K = 8``) of hashed text features and fact codes (layout in ``persona_gym.encoders``):

    ============  ==============  ============================================================
    block         size            content
    ============  ==============  ============================================================
    context       5 x 128         persona, last 4 own lines, last 4 partner lines, partner line,
                                  memory (every own line of the episode)
    candidates    K x 128         each candidate reply, in action order
    similarities  K x 5           cosine of each candidate with each context block
    progress      1               turn / horizon
    facts         (3 + K) x 140   what the persona, the agent's own lines so far, the partner's
                                  line and each candidate state, coded per relation (35 x 4)
    ============  ==============  ============================================================

    It carries no label of which candidate is consistent; ``encoder.split(obs)`` cuts it into
    the shared context and one block per candidate. v0 ids have no memory block (4 context
    blocks, ``4 * 128 + K * 132 + 1`` entries).

    ## Rewards

    Per line (``persona_gym.rewards``, docs/metrics.md): 1 for a relevant, informative,
    consistent, fresh answer; ``-0.5`` for any contradiction of the persona or of the agent's
    commitments (an assistant voice included); ``0.05`` for a line that asserts nothing (a
    dodge); ``-0.25`` for one that ignores the move (a recitation); ``-0.5`` for a verbatim
    repeat and ``-1`` when the partner leaves after the line (weights from the task card). The
    expert's return equals the horizon.

    ## Episode End

    The episode terminates after ``horizon`` agent lines, or earlier when the partner's trust
    runs out and it ends the conversation (``info["partner_left"]``); there is no truncation.

    ## Information

    Every ``step`` returns ``info`` with ``turn`` (lines so far), ``move`` (the partner move just
    answered), ``kind`` (the chosen candidate's label, for analysis only), ``scores`` (a dict of
    ``p2l``, ``l2l``, ``qa``, ``relevance``, ``capability``, ``asserted``, ``repetition`` and
    ``contradiction``; ``None`` where undefined: consistency metrics on a line that asserts
    nothing, ``qa`` off question moves), ``trust`` (the partner's, in (-1, 1]) and
    ``partner_left``. The final step adds ``metrics``: the episode means of the scores (the
    consistency metrics over the lines where defined) plus ``return`` and ``length``. ``reset``
    returns ``turn`` = 0, ``style`` (the partner style) and ``persona`` (the persona sentences,
    also encoded in the observation). v0 ids report v0's scores (no ``capability``,
    ``asserted``, ``trust`` or ``partner_left``).

    ## Arguments

    * ``card``: shipped task card name (``"open_chat"``) or path to a ``.toml`` card.
    * ``horizon``: agent lines per episode (set by the registered id).
    * ``split``: persona and partner-style split, ``"train"`` (default), ``"valid"`` or
      ``"test"``. **Evaluation uses ``"test"``** (``gym.make(id, split="test")``): train
      personas are for learning.
    * ``encoder``: observation encoder: ``"hashed"`` (default, 128 dims per text) or
      ``"minilm"`` (all-MiniLM-L6-v2 sentence embeddings, 384 dims per text; needs
      ``persona-gym[minilm]``).
    * ``version``: task version (set by the registered id's ``-vN``; default the current one).
    * ``render_mode``: ``None`` or ``"ansi"`` (transcript with per-line scores).

    ## Examples

    >>> import gymnasium as gym, persona_gym
    >>> env = gym.make("persona_gym/OpenChat-v1", split="test")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (3245,)

    ## Version History

    * v1: hard candidates with balanced surface cues, true and false premises, partner trust
      with challenges and early endings, a memory block in the observation, consistency metrics
      over asserted lines plus ``capability`` and ``asserted``, a reward whose order holds on
      every move type.
    * v0: initial release (frozen).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    KWARGS: ClassVar[tuple[str, ...]] = ("card", "horizon", "split", "encoder", "version",
                                         "render_mode")

    def __init__(
        self,
        card: str = "open_chat",
        horizon: int | None = None,
        split: str = "train",
        encoder: str = "hashed",
        version: int = CURRENT_VERSION,
        render_mode: str | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise TypeError(
                f"unknown keyword argument(s) {sorted(unknown)} for {type(self).__name__}; "
                f"accepted: {', '.join(self.KWARGS)}"
            )
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is not a split; use one of {SPLITS}")
        if encoder not in ENCODER_NAMES:
            raise ValueError(f"encoder={encoder!r} is unknown; use one of {ENCODER_NAMES}")
        if version not in CONVERSATIONS or isinstance(version, bool):
            raise ValueError(f"version={version!r} is not a task version; use one of "
                             f"{sorted(CONVERSATIONS)}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use None or 'ansi'"
            )
        self.card: TaskCard = load_card(card)
        if version not in self.card.rewards:
            raise ValueError(f"task card {self.card.name!r} declares no v{version} id "
                             f"([reward.v{version}] is missing)")
        if horizon is None:
            horizon = self.card.envs[0].horizon
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be a positive int, got {horizon!r}")
        self.horizon = horizon
        self.split = split
        self.version = version
        self.render_mode = render_mode
        self.ontology = load_ontology()
        self.k = self.card.num_candidates
        self.replies = ReplyGenerator(self.ontology, self.k)
        self.facts = (FactCoder((IDENTITY, *sorted(self.ontology.relations)),
                                opposites=_opposite_slots(self.ontology), acts=ACTS,
                                moves=(*MOVES, "end")) if version >= 1 else None)
        self.encoder = make_encoder(encoder, self.k, memory=version >= 1, facts=self.facts)
        self._no_facts = None if self.facts is None else np.zeros(self.facts.size, np.float32)
        self.action_space = spaces.Discrete(self.k)
        self.observation_space = spaces.Box(-1.0, 1.0, (self.encoder.size,), np.float32)
        self._done: bool | None = None

    # -- the conversation in progress ----------------------------------------------------------

    @property
    def persona(self) -> Persona:
        return self.conversation.persona

    @property
    def style(self) -> str:
        return self.conversation.style

    @property
    def move(self) -> Move:
        return self.conversation.move

    @property
    def candidates(self) -> tuple[Line, ...]:
        if self._done:
            return tuple(Line("") for _ in range(self.k))
        return self.conversation.candidates

    @property
    def transcript(self) -> list[Exchange]:
        return self.conversation.transcript

    @property
    def turn(self) -> int:
        return self.conversation.turn

    @property
    def judge(self) -> Any:
        """The episode's judge (privileged: reference policies and analysis only)."""
        return self.conversation.judge

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"reset() takes no options, got {sorted(options)}; pass options=None")
        self.conversation = CONVERSATIONS[self.version](
            self.card, self.ontology, self.replies, self.split, self.horizon,
            Stream(self.np_random))
        self._persona_vec = self.encoder.sum_vector(self.persona.sentences)
        self._memory = np.zeros(self.encoder.dim, dtype=np.float32)
        if self.facts is not None:
            self._persona_facts = self.facts.vector(self.persona.facts)
            self._memory_facts = np.zeros(self.facts.size, dtype=np.float32)
        self._partner_lines: list[str] = []
        self._own_lines: list[str] = []
        self._done = False
        info = {"turn": 0, "style": self.style, "persona": list(self.persona.sentences)}
        return self._observe(), info

    def step(
        self, action: Any
    ) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._done is None:
            raise ResetNeeded("call env.reset() before env.step()")
        if self._done:
            raise ResetNeeded(
                "the conversation has ended (step returned terminated=True); "
                "call env.reset() to start a new one"
            )
        line = self._line_for(action)
        move = self.move
        scores, reward, terminated, extra = self.conversation.say(line)
        self._own_lines.append(line.text)
        self._partner_lines.append(move.text)
        if self.facts is not None:
            self._memory += self.encoder.text_vector(line.text)
            self.facts.add(self._memory_facts, line.facts)
        info: dict[str, Any] = {
            "turn": self.turn,
            "move": move.kind,
            "kind": line.kind,
            "scores": scores.info(),
            **extra,
        }
        if terminated:
            self._done = True
            info["metrics"] = self.conversation.metrics()
        return self._observe(), reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self._done is None:
            return "(call reset() first)\n"
        out = [f"Persona ({self.split}, partner style: {self.style}):"]
        out += [f"  - {s}" for s in self.persona.sentences]
        for i, e in enumerate(self.transcript, 1):
            s = e.scores

            def fmt(x: float, digits: int = 0) -> str:
                return "-" if math.isnan(x) else f"{x:.{digits}f}"
            out.append(f"[{i:2d}] Partner ({e.move.kind}): {e.move.text}")
            out.append(
                f"     Agent: {e.line.text}\n"
                f"            p2l={fmt(s.p2l)} l2l={fmt(s.l2l, 2)} qa={fmt(s.qa)} "
                f"rel={s.relevance:.0f} rep={s.repetition:.0f} reward={e.reward:+.2f}"
            )
        if not self._done:
            out.append(f"[{self.turn + 1:2d}] Partner ({self.move.kind}): {self.move.text}")
            out += [f"     ({i}) {c.text}" for i, c in enumerate(self.candidates)]
        else:
            if self.conversation.left:
                out.append(f"     Partner: {self.move.text}  (trust ran out; it left)")
            ret = sum(e.reward for e in self.transcript)
            out.append(f"End of conversation: return {ret:+.2f} over {self.turn} lines.")
        return "\n".join(out) + "\n"

    # -- for reference policies and tools ------------------------------------------------------

    def turn_view(self) -> TurnView:
        """Ground truth of the current turn, for reference policies and dataset logging."""
        if self._done is not False:
            raise ResetNeeded("no turn in progress; call env.reset()")
        return TurnView(self.persona, self.move, self.candidates, self.turn, self.horizon,
                        self.version)

    def action_for(self, index: int) -> Any:
        """This variant's action that picks candidate ``index`` (reference policies use it)."""
        return index

    # -- internals -----------------------------------------------------------------------------

    def _line_for(self, action: Any) -> Line:
        """The agent line an action stands for (validating the action)."""
        return self.candidates[self._decode(action)]

    def _decode(self, action: Any) -> int:
        if isinstance(action, np.generic) or (
            isinstance(action, np.ndarray) and action.shape == ()
        ):
            action = action.item()
        if isinstance(action, bool) or not isinstance(action, int):
            raise TypeError(
                f"action must be an int index into the {self.k} candidates, got "
                f"{type(action).__name__} {action!r}; use env.action_space.sample() or an int"
            )
        if not 0 <= action < self.k:
            raise ValueError(
                f"action {action} is out of range for Discrete({self.k}); "
                f"pass an int in [0, {self.k - 1}]"
            )
        return action

    def _observe(self, out: np.ndarray | None = None) -> np.ndarray:
        """The observation (into ``out`` if given); in an ``encoder.deferred()`` block it is
        filled when the block ends."""
        memory = rows = None
        if self.facts is not None:
            norm = math.sqrt(float(self._memory @ self._memory))
            memory = self._memory / norm if norm > 0 else self._memory.copy()
            facts = self.facts
            move = self.move
            asked = () if move.relation is None else ((move.relation, move.value or "?", False),)
            rows = np.concatenate([
                self._persona_facts,
                facts.normalize(self._memory_facts),
                self._no_facts if self._done else facts.vector(asked, move=move.kind),
                *[facts.vector(c.facts, act=c.act) for c in self.candidates],
            ]).reshape(3 + self.k, facts.size)
        return self.encoder.encode(
            self._persona_vec,
            self._own_lines,
            self._partner_lines,
            self.move.text if not self._done else "",
            [c.text for c in self.candidates],
            self.turn / self.horizon,
            out,
            memory,
            rows,
        )
