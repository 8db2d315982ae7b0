"""One conversation under the rules of task version 1: who says what, how it is judged and
priced, and when it ends. The environment (``persona_gym.envs.core``) wraps it in the Gymnasium
API; task v0's frozen rules are :mod:`persona_gym.v0.conversation`.
"""

from __future__ import annotations

from typing import Any

from persona_gym.cards import TaskCard
from persona_gym.dialogue import Exchange, Line, LineScores, Move
from persona_gym.judges.symbolic import SymbolicJudge
from persona_gym.partners import Partner
from persona_gym.replies import ReplyGenerator
from persona_gym.rewards import episode_metrics, line_reward
from persona_gym.rng import Stream
from persona_gym.world import Ontology, sample_persona


class Conversation:
    """Persona, partner, candidates, judge and reward of one episode (task v1).

    The episode ends after ``horizon`` agent lines, or earlier when the partner's trust runs out
    (:mod:`persona_gym.partners`): then ``left`` is True and ``move`` is its farewell.
    """

    version = 1

    def __init__(self, card: TaskCard, ontology: Ontology, replies: ReplyGenerator, split: str,
                 horizon: int, rng: Stream) -> None:
        p = card.persona
        self.persona = sample_persona(ontology, rng, split, p.relations, p.required,
                                      p.min_facts, p.max_facts)
        self.style = rng.pick(card.partner.styles[split])
        self.judge = SymbolicJudge(ontology, self.persona)
        self.speaker = self.judge.speaker
        self.partner = Partner(card.partner, ontology, self.style, self.speaker, rng)
        self.weights = card.rewards[self.version]
        self.horizon = horizon
        self.transcript: list[Exchange] = []
        self.turn = 0
        self.left = False
        self._replies, self._rng = replies, rng
        self._begin(self.partner.first_move())

    def _begin(self, move: Move) -> None:
        self.move = move
        self.candidates = self._replies.candidates(move, self.speaker, self._rng)

    def say(self, line: Line) -> tuple[LineScores, float, bool, dict[str, Any]]:
        """The agent says ``line``: its scores, reward, whether the episode ended, and the
        version's extra ``info`` entries."""
        scores = self.judge.score(self.move, line)
        stays = self.partner.hear(line.facts, scores)
        reward = line_reward(scores, self.weights, left=not stays)
        self.judge.commit(line, scores)
        self.transcript.append(Exchange(self.move, line, scores, reward))
        self.turn += 1
        done = not stays or self.turn >= self.horizon
        if not stays:
            self.left = True
            self.move = self.partner.farewell()
        elif not done:
            self._begin(self.partner.next_move(line.facts, scores))
        return scores, reward, done, {"trust": self.partner.trust, "partner_left": self.left}

    def metrics(self) -> dict[str, float]:
        """Episode means of every metric plus ``return`` and ``length``."""
        return episode_metrics([e.scores for e in self.transcript],
                               [e.reward for e in self.transcript])
