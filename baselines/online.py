"""Online RL: Stable-Baselines3 PPO or DQN with the candidate-wise scorer (``pip install
"persona-gym[sb3]"``), the live-interaction arm beside the offline baselines.

    python baselines/online.py --algo ppo --env persona_gym/OpenChat-v1 --steps 12000

Same run folder, export and evaluation protocol as the offline scripts; pass ``--steps`` equal
to an offline dataset's transitions for a matched budget. Details: persona_gym/online.py.
"""

from __future__ import annotations

from persona_gym.online import main

if __name__ == "__main__":
    main()
