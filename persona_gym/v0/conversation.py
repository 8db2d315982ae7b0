"""One conversation under the frozen rules of task version 0 (the ``-v0`` ids): the same
interface as :class:`persona_gym.conversation.Conversation`, v0's partner, candidates, judge and
reward. Published v0 scores, datasets and leaderboard entries rest on these conversations; a
fingerprint test keeps them bit for bit."""

from __future__ import annotations

from typing import Any

from persona_gym.cards import TaskCard
from persona_gym.dialogue import Exchange, Line, Move
from persona_gym.rng import Stream
from persona_gym.v0.judge import LineScores, SymbolicJudge
from persona_gym.v0.partners import Partner
from persona_gym.v0.replies import ReplyGenerator, SpeakerState
from persona_gym.v0.rewards import episode_metrics, line_reward
from persona_gym.world import Ontology, sample_persona


class Conversation:
    """Persona, partner, candidates, judge and reward of one episode (task v0)."""

    version = 0
    left = False

    def __init__(self, card: TaskCard, ontology: Ontology, replies: Any, split: str,
                 horizon: int, rng: Stream) -> None:
        p = card.persona
        self.persona = sample_persona(ontology, rng, split, p.relations, p.required,
                                      p.min_facts, p.max_facts)
        self.style = rng.pick(card.partner.styles[split])
        self.partner = Partner(card.partner, ontology, self.style, self.persona, rng)
        self.judge = SymbolicJudge(ontology, self.persona)
        self.speaker = SpeakerState(ontology, self.persona)
        self.weights = card.rewards[self.version]
        self.horizon = horizon
        self.transcript: list[Exchange] = []
        self.turn = 0
        self._replies = ReplyGenerator(ontology, replies.k)
        self._rng = rng
        self._begin(self.partner.first_move())

    def _begin(self, move: Move) -> None:
        self.move = move
        self.candidates = self._replies.candidates(move, self.speaker, self.judge.said, self._rng)

    def say(self, line: Line) -> tuple[LineScores, float, bool, dict[str, Any]]:
        scores = self.judge.score(self.move, line)
        reward = line_reward(scores, self.weights)
        self.judge.commit(line)
        self.speaker.commit(line.facts)
        self.transcript.append(Exchange(self.move, line, scores, reward))
        self.turn += 1
        done = self.turn >= self.horizon
        if not done:
            self._begin(self.partner.next_move(line.facts))
        return scores, reward, done, {}

    def metrics(self) -> dict[str, float]:
        return episode_metrics([e.scores for e in self.transcript],
                               [e.reward for e in self.transcript])
