"""The persona-consistency dialogue environment (discrete variant)."""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded

from persona_gym.cards import TaskCard, load_card
from persona_gym.encoders import ENCODER_NAMES, make_encoder
from persona_gym.judges.symbolic import LineScores, SymbolicJudge
from persona_gym.partners import Move, Partner
from persona_gym.replies import Line, ReplyGenerator, SpeakerState
from persona_gym.rewards import episode_metrics, line_reward
from persona_gym.rng import Stream
from persona_gym.world import SPLITS, Persona, load_ontology, sample_persona


class TurnView(NamedTuple):
    """What a privileged (reference) policy may read at a turn: ground truth included.

    Learning agents see only the observation; reference policies and dataset loggers use this.
    """

    persona: Persona
    move: Move
    candidates: tuple[Line, ...]
    turn: int
    horizon: int


class Exchange(NamedTuple):
    """One finished turn of the transcript."""

    move: Move
    line: Line
    scores: LineScores
    reward: float


class PersonaDialogueEnv(gym.Env[np.ndarray, np.int64]):
    """A persona-conditioned conversation with a simulated partner, rewarding consistency.

    ## Description

    The agent plays a speaker with a persona of 4-8 facts ("I am a nurse.", "I have two kids.").
    A simulated partner (peer, teacher or counselor, by domain) asks about the agent's life,
    probes earlier answers, makes small talk, discloses emotions, challenges the agent ("are you
    an AI?") and plants false premises. Each turn the agent picks one of ``K`` candidate replies:
    one consistent in-character answer and distractors that contradict the persona or the
    agent's own earlier lines, recite the persona (parrot), drift to an assistant voice, evade or
    change the subject. Relations the persona leaves open may be improvised, but an improvised
    value is a commitment for the rest of the conversation.

    ## Action Space

    ``Discrete(K)`` (``K = 8`` in the shipped cards): the index of the chosen candidate.

    ## Observation Space

    ``Box(-1, 1, (4 * 128 + K * 132 + 1,), float32)`` of hashed text features of the persona,
    recent history, the partner's line and each candidate (layout in
    ``persona_gym.encoders``). It carries no label of which candidate is consistent.

    ## Rewards

    Per line, ``relevance * (w_p2l p2l + w_l2l l2l + w_qa qa) - w_c contradiction -
    w_r repetition`` with the card's weights (``persona_gym.rewards``, docs/metrics.md). A
    relevant, consistent, fresh line earns 1, so the expert's return equals the horizon.

    ## Episode End

    The episode terminates after ``horizon`` agent lines (the partner ends the conversation);
    there is no truncation.

    ## Information

    Every ``step`` returns ``info`` with ``turn`` (lines so far), ``move`` (the partner move just
    answered), ``kind`` (the chosen candidate's label, for analysis only) and ``scores``: a dict
    of ``p2l``, ``l2l``, ``qa`` (``None`` when the move was not a question), ``relevance``,
    ``repetition`` and ``contradiction``. The final step adds ``metrics``: the episode means of
    those plus ``return`` and ``length``. ``reset`` returns ``turn`` = 0, ``style`` (the partner
    style) and ``persona`` (the persona sentences, also encoded in the observation).

    ## Arguments

    * ``card``: shipped task card name (``"open_chat"``) or path to a ``.toml`` card.
    * ``horizon``: agent lines per episode (set by the registered id).
    * ``split``: persona and partner-style split, ``"train"`` (default), ``"valid"`` or
      ``"test"``. Evaluation uses ``"test"``.
    * ``encoder``: observation encoder: ``"hashed"`` (default, 128 dims per text) or
      ``"minilm"`` (all-MiniLM-L6-v2 sentence embeddings, 384 dims per text, so the
      observation has ``4 * 384 + K * 388 + 1`` entries; needs ``persona-gym[minilm]``).
    * ``render_mode``: ``None`` or ``"ansi"`` (transcript with per-line scores).

    ## Version History

    * v0: initial release.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    KWARGS: ClassVar[tuple[str, ...]] = ("card", "horizon", "split", "encoder", "render_mode")

    def __init__(
        self,
        card: str = "open_chat",
        horizon: int | None = None,
        split: str = "train",
        encoder: str = "hashed",
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
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use None or 'ansi'"
            )
        self.card: TaskCard = load_card(card)
        if horizon is None:
            horizon = self.card.envs[0].horizon
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be a positive int, got {horizon!r}")
        self.horizon = horizon
        self.split = split
        self.render_mode = render_mode
        self.ontology = load_ontology()
        self.k = self.card.num_candidates
        self.replies = ReplyGenerator(self.ontology, self.k)
        self.encoder = make_encoder(encoder, self.k)
        self.action_space = spaces.Discrete(self.k)
        self.observation_space = spaces.Box(-1.0, 1.0, (self.encoder.size,), np.float32)
        self._done: bool | None = None

    # -- gymnasium API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"reset() takes no options, got {sorted(options)}; pass options=None")
        self._rs = rng = Stream(self.np_random)
        card = self.card
        self.persona = sample_persona(
            self.ontology, rng, self.split, card.persona_relations, card.persona_required,
            card.min_facts, card.max_facts,
        )
        styles = card.styles[self.split]
        self.style = rng.pick(styles)
        self.partner = Partner(card, self.ontology, self.style, self.persona, rng)
        self.judge = SymbolicJudge(self.ontology, self.persona)
        self.speaker = SpeakerState(self.ontology, self.persona)
        self.transcript: list[Exchange] = []
        self._persona_vec = self.encoder.sum_vector(self.persona.sentences)
        self._partner_lines: list[str] = []
        self._own_lines: list[str] = []
        self.turn = 0
        self._done = False
        self._next_turn(self.partner.first_move())
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
        scores = self.judge.score(self.move, line)
        reward = line_reward(scores, self.card.reward)
        self.judge.commit(line)
        self.speaker.commit(line.facts)
        self.transcript.append(Exchange(self.move, line, scores, reward))
        self._own_lines.append(line.text)
        self._partner_lines.append(self.move.text)
        self.turn += 1
        info: dict[str, Any] = {
            "turn": self.turn,
            "move": self.move.kind,
            "kind": line.kind,
            "scores": scores.info(),
        }
        terminated = self.turn >= self.horizon
        if terminated:
            self._done = True
            info["metrics"] = episode_metrics(
                [e.scores for e in self.transcript], [e.reward for e in self.transcript]
            )
            self.move, self.candidates = Move("end", ""), tuple(Line("") for _ in range(self.k))
        else:
            self._next_turn(self.partner.next_move(line.facts))
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
            qa = "-" if math.isnan(s.qa) else f"{s.qa:.0f}"
            out.append(f"[{i:2d}] Partner ({e.move.kind}): {e.move.text}")
            out.append(
                f"     Agent: {e.line.text}\n"
                f"            p2l={s.p2l:.0f} l2l={s.l2l:.2f} qa={qa} rel={s.relevance:.0f} "
                f"rep={s.repetition:.0f} reward={e.reward:+.2f}"
            )
        if not self._done:
            out.append(f"[{self.turn + 1:2d}] Partner ({self.move.kind}): {self.move.text}")
            out += [f"     ({i}) {c.text}" for i, c in enumerate(self.candidates)]
        else:
            ret = sum(e.reward for e in self.transcript)
            out.append(f"End of conversation: return {ret:+.2f} over {self.turn} lines.")
        return "\n".join(out) + "\n"

    # -- for reference policies and tools ------------------------------------------------------

    def turn_view(self) -> TurnView:
        """Ground truth of the current turn, for reference policies and dataset logging."""
        if self._done is not False:
            raise ResetNeeded("no turn in progress; call env.reset()")
        return TurnView(self.persona, self.move, self.candidates, self.turn, self.horizon)

    def action_for(self, index: int) -> Any:
        """This variant's action that picks candidate ``index`` (reference policies use it)."""
        return index

    # -- internals -----------------------------------------------------------------------------

    def _line_for(self, action: Any) -> Line:
        """The agent line an action stands for (validating the action)."""
        return self.candidates[self._decode(action)]

    def _next_turn(self, move: Move) -> None:
        self.move = move
        self.candidates = self.replies.candidates(
            move, self.speaker, self.judge.said, self._rs
        )

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
        return self.encoder.encode(
            self._persona_vec,
            self._own_lines,
            self._partner_lines,
            self.move.text,
            [c.text for c in self.candidates],
            self.turn / self.horizon,
            out,
        )
